package engine

import (
	"encoding/json"
	"fmt"

	"github.com/sluice-run/sluice/internal/redact"
)

// maskConservatively returns c with every text it carries masked whole: each
// log message, tag value (each tag of a list) and tag key of MinLen bytes
// or more, each link, and every string of the output (and every number of
// MinLen digits or more, which could be a digits secret).
// The output's object keys, the status and the result are kept (variables
// and conditions read the output by its keys); the run's redactor still
// masks the keys like any text, against the values it knows.
//
// It is applied to completions of a run whose redactor was rebuilt after a
// restart without every value the waiting node derived from secrets
// (Engine.rederive failed): masking against fewer values than the node used
// could let a derived value through, so nothing the remote system wrote is
// kept as text. The run goes on (variables and CONDITION nodes see the mask),
// and the logs say why.
func maskConservatively(c Completion) Completion {
	out := c
	out.Logs = make([]LogLine, len(c.Logs))
	for i, l := range c.Logs {
		m := LogLine{Level: l.Level}
		if l.Message != "" {
			m.Message = redact.Mask
		}
		if len(l.Tags) > 0 {
			// A tag's key is the remote system's text as much as its
			// value, and no variable or condition reads it: masked too
			// when it could hold a value (redact.MinLen bytes or more;
			// keys masked alike become one).
			m.Tags = make(map[string]string, len(l.Tags))
			for k := range l.Tags {
				if len(k) >= redact.MinLen {
					k = redact.Mask
				}
				m.Tags[k] = redact.Mask
			}
		}
		if l.TagList != nil {
			m.TagList = make([]string, len(l.TagList))
			for j := range l.TagList {
				m.TagList[j] = redact.Mask
			}
		}
		out.Logs[i] = m
	}
	out.Links = nil
	if c.Links != nil {
		out.Links = make([]string, 0, len(c.Links)) // [] (none) stays none, not absent
	}
	for range c.Links {
		out.Links = append(out.Links, redact.Mask)
	}
	out.Output = maskLeaves(c.Output)
	return out
}

// maskLeaves returns v with every string, and every number whose text is at
// least redact.MinLen bytes, replaced by the mask.
func maskLeaves(v any) any {
	switch x := v.(type) {
	case string:
		return redact.Mask
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = maskLeaves(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = maskLeaves(e)
		}
		return a
	case json.Number:
		if len(x) >= redact.MinLen {
			return redact.Mask
		}
		return x
	case float64, float32, int, int64, int32, uint64, uint32:
		if len(fmt.Sprint(x)) >= redact.MinLen {
			return redact.Mask
		}
		return x
	}
	return v
}
