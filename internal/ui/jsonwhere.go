package ui

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-run/sluice/internal/jsonpath"
)

// jsonWhere says where JSON typed into a form field stops being JSON:
// ": malformed at line 1, column 4, in [1]" (the value being read there),
// or "" when err is no syntax error. It never quotes the text: a field may
// hold a secret.
func jsonWhere(text []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return ""
	}
	off := min(max(se.Offset, 0), int64(len(text)))
	line, col := 1, 1
	for _, c := range text[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	where := fmt.Sprintf(": malformed at line %d, column %d", line, col)
	if p := jsonpath.ReadingAt(text, off).String(); p != "" {
		where += ", in " + p
	}
	return where
}
