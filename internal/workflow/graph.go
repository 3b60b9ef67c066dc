package workflow

import "strings"

// conn is a connection being checked, with where it sits in the definition.
type conn struct {
	Connection
	path       string
	outletPath string // path of the outlet member, which may be the deprecated alias
	ok         bool   // passes every rule; part of the graph
}

// connections checks each connection against the nodes and the rules of
// spec/workflows.md, and builds the graph of the valid ones into w.
func (p *parser) connections(w *Workflow, arr *jv) {
	type dupKey struct {
		exit
		target   string
		fallback bool
	}
	dups := map[dupKey]string{}
	exits := map[exit]string{} // way out → path of the connection using it
	var cs []*conn
	for i, v := range arr.vals {
		path := joinIndex("connections", i)
		if !object(p.r, path, v, connectionFields) {
			continue
		}
		c := &conn{path: path, ok: true, Connection: Connection{
			Source:      strOf(v.get("sourceIdentifier")),
			Target:      strOf(v.get("targetIdentifier")),
			Description: strOf(v.get("description")),
			Fallback:    boolOr(v.get("fallback"), false),
		}}
		for j, k := range v.keys {
			p.scanLiteral(joinKey(path, k), v.vals[j], whyDefinition)
		}
		out, opt := v.get("sourceOutletIdentifier"), v.get("sourceOptionIdentifier")
		switch {
		case out != nil && opt != nil:
			p.r.errorf(path+".sourceOptionIdentifier", "cannot be used together with sourceOutletIdentifier: sourceOptionIdentifier is its deprecated name")
			c.ok = false
		case opt != nil:
			p.r.warnf(path+".sourceOptionIdentifier", "deprecated: sourceOptionIdentifier is the former name of sourceOutletIdentifier; rename it")
			c.Outlet, c.outletPath = strOf(opt), path+".sourceOptionIdentifier"
		case out != nil:
			c.Outlet, c.outletPath = strOf(out), path+".sourceOutletIdentifier"
		}
		if c.Source == "" || c.Target == "" {
			continue // reported by the field checks
		}
		c.ok = p.checkConnection(w, c) && c.ok
		if !c.ok {
			continue
		}
		dk := dupKey{exit{c.Source, c.Outlet}, c.Target, c.Fallback}
		if prev, dup := dups[dk]; dup {
			p.r.errorf(path, "duplicate connection: same as %s", prev)
			continue
		}
		dups[dk] = path
		ex := exit{c.Source, c.Outlet}
		if c.Fallback {
			ex.outlet = "\x00fallback" // cannot collide: outlet identifiers have no NUL
		}
		if prev, taken := exits[ex]; taken {
			what := "node " + quote(c.Source)
			switch {
			case c.Fallback:
				what = "the fallback of " + what
			case c.Outlet != "":
				what = "outlet " + quote(c.Outlet) + " of " + what
			}
			p.r.errorf(path, "%s already leads elsewhere (%s): a run follows one path, so each node and each outlet has at most one outgoing connection", what, prev)
			continue
		}
		exits[ex] = path
		cs = append(cs, c)
	}

	w.next = map[exit]string{}
	w.fallback = map[string]string{}
	for _, c := range cs {
		w.Connections = append(w.Connections, c.Connection)
		if c.Fallback {
			w.fallback[c.Source] = c.Target
		} else {
			w.next[exit{c.Source, c.Outlet}] = c.Target
		}
	}
	p.cycles(w, cs)
}

// checkConnection applies the rules that involve the nodes a connection
// names. It reports whether c passes them.
func (p *parser) checkConnection(w *Workflow, c *conn) bool {
	ok := true
	src, tgt := w.byID[c.Source], w.byID[c.Target]
	if src == nil {
		p.r.errorf(c.path+".sourceIdentifier", "no node %q in this workflow", c.Source)
		ok = false
	}
	if tgt == nil {
		p.r.errorf(c.path+".targetIdentifier", "no node %q in this workflow", c.Target)
		ok = false
	}
	if c.Source == c.Target {
		p.r.errorf(c.path, "node %q cannot connect to itself", c.Source)
		return false
	}
	if tgt != nil && tgt.IsTrigger() {
		p.r.errorf(c.path+".targetIdentifier", "%q is a trigger, and a trigger cannot be the target of a connection", c.Target)
		ok = false
	}
	if src == nil {
		return false
	}
	branching := src.Type == TypeCondition || src.Type == TypeInput
	switch {
	case c.Fallback && src.Type != TypeCondition:
		p.r.errorf(c.path+".fallback", "only a connection leaving a CONDITION node can be a fallback; %q is %s", c.Source, src.Type)
		ok = false
	case c.Fallback && c.Outlet != "":
		p.r.errorf(c.outletPath, "a fallback connection cannot name an outlet: it is taken when no outlet matches")
		ok = false
	case c.Fallback:
	case !branching && c.Outlet != "":
		p.r.errorf(c.outletPath, "only connections leaving CONDITION and INPUT nodes name an outlet; %q is %s", c.Source, src.Type)
		ok = false
	case branching && c.Outlet == "":
		p.r.errorf(c.path+".sourceOutletIdentifier", "required on a connection leaving %s node %q: name the outlet it follows", src.Type, c.Source)
		ok = false
	case branching && !hasOutlet(src, c.Outlet):
		names := make([]string, len(src.Outlets))
		for i, o := range src.Outlets {
			names[i] = o.Identifier
		}
		p.r.errorf(c.outletPath, "node %q has no outlet %q (its outlets: %s)", c.Source, c.Outlet, strings.Join(names, ", "))
		ok = false
	}
	return ok
}

// hasOutlet reports whether n has an outlet named id.
func hasOutlet(n *Node, id string) bool {
	for _, o := range n.Outlets {
		if o.Identifier == id {
			return true
		}
	}
	return false
}

// cycles reports each cycle of the graph once, at the connection that closes
// it, naming its nodes.
func (p *parser) cycles(w *Workflow, cs []*conn) {
	out := map[string][]*conn{}
	for _, c := range cs {
		out[c.Source] = append(out[c.Source], c)
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, c := range out[id] {
			switch color[c.Target] {
			case white:
				visit(c.Target)
			case grey:
				start := len(stack) - 1
				for stack[start] != c.Target {
					start--
				}
				loop := append(append([]string(nil), stack[start:]...), c.Target)
				p.r.errorf(c.path, "closes a cycle: %s; a workflow cannot loop", strings.Join(loop, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, n := range w.Nodes {
		if color[n.Identifier] == white {
			visit(n.Identifier)
		}
	}
}

// graph computes the triggers and warns about nodes that no trigger reaches.
func (p *parser) graph(w *Workflow) {
	out := map[string][]string{}
	for _, c := range w.Connections {
		out[c.Source] = append(out[c.Source], c.Target)
	}
	seen := map[string]bool{}
	var queue []string
	for _, n := range w.Nodes {
		if n.IsTrigger() {
			w.triggers = append(w.triggers, n)
			seen[n.Identifier] = true
			queue = append(queue, n.Identifier)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, t := range out[id] {
			if !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, n := range w.Nodes {
		if !seen[n.Identifier] && len(w.triggers) > 0 {
			p.r.warnf(joinIndex("nodes", p.nodes[n.Identifier]), "node %q is not reachable from any trigger, so it never runs", n.Identifier)
		}
	}
}

// Next returns the target of the connection leaving source through outlet
// ("" for the plain connection of a node that has no outlets). ok is false
// when there is none: the branch ends.
func (w *Workflow) Next(source, outlet string) (target string, ok bool) {
	target, ok = w.next[exit{source, outlet}]
	return target, ok
}

// Fallback returns the target of a CONDITION node's fallback connection,
// taken when no outlet matches.
func (w *Workflow) Fallback(source string) (target string, ok bool) {
	target, ok = w.fallback[source]
	return target, ok
}

// Triggers returns the trigger nodes, in definition order. The caller must
// not modify the slice.
func (w *Workflow) Triggers() []*Node { return w.triggers }
