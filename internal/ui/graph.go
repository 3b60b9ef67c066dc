package ui

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// definition is the part of a workflow definition the UI draws and builds
// forms from, read loosely from the API's JSON (the API validated it).
type definition struct {
	Identifier  string    `json:"identifier"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Version     int       `json:"version"`
	Nodes       []defNode `json:"nodes"`
	Connections []defConn `json:"connections"`
}

type defNode struct {
	Identifier string `json:"identifier"`
	Title      string `json:"title"`
	Config     struct {
		Type       string          `json:"type"`
		Outlets    []defOutlet     `json:"outlets"`
		UserInputs json.RawMessage `json:"userInputs"`
		Published  *bool           `json:"published"`
	} `json:"config"`
}

type defOutlet struct {
	Identifier string `json:"identifier"`
	Title      string `json:"title"`
}

type defConn struct {
	Source   string `json:"sourceIdentifier"`
	Target   string `json:"targetIdentifier"`
	Outlet   string `json:"sourceOutletIdentifier"`
	Fallback bool   `json:"fallback"`
}

func (n defNode) isTrigger() bool { return strings.HasSuffix(n.Config.Type, "_TRIGGER") }

// triggerTypes lists the distinct trigger types of d.
func (d definition) triggerTypes() []string {
	var out []string
	for _, n := range d.Nodes {
		if n.isTrigger() && !contains(out, n.Config.Type) {
			out = append(out, n.Config.Type)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Graph geometry, in SVG user units.
const (
	boxW   = 180
	boxH   = 58
	colGap = 90
	rowGap = 34
	margin = 16
)

// graph is a laid-out workflow for the SVG template.
type graph struct {
	Width, Height int
	Boxes         []box
	Edges         []edge
}

type box struct {
	ID, Title, Type string
	X, Y            int
	// Class is the status class: "" (not run), running, success, failed,
	// cancelled.
	Class string
	// Anchor is the fragment the box links to ("" for none).
	Anchor string
}

type edge struct {
	Path   string // the SVG path data
	Label  string
	LX, LY int
	Taken  bool
}

// layout places the nodes in columns by their longest distance from a
// node without incoming connections (a trigger), in definition order
// within a column, and routes each connection as a curve from the right
// side of its source to the left side of its target.
func layout(d definition, status map[string]string, anchors map[string]string) graph {
	idx := map[string]int{}
	for i, n := range d.Nodes {
		idx[n.Identifier] = i
	}
	incoming := map[string]int{}
	out := map[string][]string{}
	for _, c := range d.Connections {
		if _, ok := idx[c.Source]; !ok {
			continue
		}
		if _, ok := idx[c.Target]; !ok {
			continue
		}
		incoming[c.Target]++
		out[c.Source] = append(out[c.Source], c.Target)
	}
	// Longest-path layering over the DAG (validated definitions have no
	// cycles; the bound stops a bad one from looping).
	layer := map[string]int{}
	queue := []string{}
	for _, n := range d.Nodes {
		if incoming[n.Identifier] == 0 {
			queue = append(queue, n.Identifier)
		}
	}
	for steps := 0; len(queue) > 0 && steps < len(d.Nodes)*len(d.Nodes)+1; steps++ {
		id := queue[0]
		queue = queue[1:]
		for _, t := range out[id] {
			if layer[id]+1 > layer[t] {
				layer[t] = layer[id] + 1
				queue = append(queue, t)
			}
		}
	}
	cols := map[int][]string{}
	maxCol := 0
	for _, n := range d.Nodes {
		l := layer[n.Identifier]
		cols[l] = append(cols[l], n.Identifier)
		if l > maxCol {
			maxCol = l
		}
	}
	maxRows := 0
	for _, c := range cols {
		if len(c) > maxRows {
			maxRows = len(c)
		}
	}
	g := graph{Width: 2*margin + (maxCol+1)*boxW + maxCol*colGap, Height: 2*margin + maxRows*boxH + (maxRows-1)*rowGap}
	pos := map[string][2]int{}
	for col := 0; col <= maxCol; col++ {
		ids := cols[col]
		// Centre a shorter column vertically.
		offset := (maxRows - len(ids)) * (boxH + rowGap) / 2
		for row, id := range ids {
			x := margin + col*(boxW+colGap)
			y := margin + offset + row*(boxH+rowGap)
			pos[id] = [2]int{x, y}
			n := d.Nodes[idx[id]]
			title := n.Title
			if title == "" {
				title = n.Identifier
			}
			g.Boxes = append(g.Boxes, box{ID: id, Title: clip(title, 24), Type: n.Config.Type, X: x, Y: y, Class: status[id], Anchor: anchors[id]})
		}
	}
	sort.SliceStable(g.Boxes, func(i, j int) bool { return idx[g.Boxes[i].ID] < idx[g.Boxes[j].ID] })
	for _, c := range d.Connections {
		s, ok1 := pos[c.Source]
		t, ok2 := pos[c.Target]
		if !ok1 || !ok2 {
			continue
		}
		x1, y1 := s[0]+boxW, s[1]+boxH/2
		x2, y2 := t[0], t[1]+boxH/2
		if t[0] <= s[0] { // a connection backwards or within a column
			x2 = t[0] + boxW/2
			y2 = t[1]
		}
		mid := (x1 + x2) / 2
		e := edge{Path: fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, mid, y1, mid, y2, x2, y2), LX: mid, LY: (y1+y2)/2 - 6}
		switch {
		case c.Outlet != "":
			e.Label = outletTitle(d.Nodes[idx[c.Source]], c.Outlet)
		case c.Fallback:
			e.Label = "fallback"
		}
		e.Label = clip(e.Label, 18)
		_, srcRan := status[c.Source]
		_, dstRan := status[c.Target]
		e.Taken = srcRan && dstRan
		g.Edges = append(g.Edges, e)
	}
	return g
}

func outletTitle(n defNode, id string) string {
	for _, o := range n.Config.Outlets {
		if o.Identifier == id && o.Title != "" {
			return o.Title
		}
	}
	return id
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
