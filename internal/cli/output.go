package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// output is the one formatter of the client commands: a readable table
// (or text) by default, the API's JSON with --output json.
type output struct {
	w      io.Writer
	format string // "text" or "json"
}

// newOutput checks the --output value: text (also "table") or json.
func newOutput(w io.Writer, format string) (*output, error) {
	switch format {
	case "", "text", "table":
		return &output{w: w, format: "text"}, nil
	case "json":
		return &output{w: w, format: "json"}, nil
	default:
		return nil, invalid("--output: must be text or json, got %q", format)
	}
}

// JSON reports whether JSON was asked for.
func (o *output) JSON() bool { return o.format == "json" }

// json prints v as indented JSON, without HTML escaping.
func (o *output) json(v any) error {
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table prints rows under header, in aligned columns. Cells have their
// control characters (a newline in a title, an escape sequence) replaced,
// so that a value cannot break the table or drive the terminal.
func (o *output) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(o.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = cleanCell(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cleanCell replaces control characters and tabs by spaces; an empty cell
// prints as "-".
func cleanCell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
