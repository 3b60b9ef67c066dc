package api

import (
	"errors"
	"net/http"
	"strings"
)

// runBodyHint adds to the 422 of an unknown top-level field of a run's body
// where the field belongs: a first try often sends the form's values at the
// top ({"who": "x"}) instead of under "inputs". Other errors are returned
// as they are.
func runBodyHint(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || len(e.Details) != 1 || e.Details[0].Message != "unknown field" || strings.ContainsAny(e.Details[0].Path, ".[") {
		return err
	}
	d := e.Details[0]
	msg := `unknown field: a run's body is {"inputs": {...}, "trigger": "..."}; the form's values go under "inputs", as {"inputs": {"` + d.Path + `": ...}}`
	out := *e
	out.Message = d.Path + ": " + msg
	out.Details = []Detail{{Path: d.Path, Message: msg}}
	return &out
}
