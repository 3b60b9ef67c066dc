package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/sluice-run/sluice/internal/jsonpath"
	"github.com/sluice-run/sluice/internal/jsontext"
)

// Error codes of the error envelope.
const (
	codeNotFound          = "not_found"
	codeInvalidRequest    = "invalid_request"
	codeInvalidDefinition = "invalid_definition"
	codeInvalidInputs     = "invalid_inputs"
	codeInvalidSecret     = "invalid_secret"
	codeConflict          = "conflict"
	codeUnauthorized      = "unauthorized"
	codeForbidden         = "forbidden"
	codePayloadTooLarge   = "payload_too_large"
	codeMethodNotAllowed  = "method_not_allowed"
	codeUnavailable       = "unavailable"
	codeInternal          = "internal_error"
)

// Detail is one item of an error's details: where (a JSON path into the
// request body, an input name, a query parameter) and what.
type Detail struct {
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// Error is an API error: the status and the envelope
// {"ok": false, "error": code, "message": ..., "details": [...]}.
// Messages and details never quote secret values.
type Error struct {
	Status  int      `json:"-"`
	Code    string   `json:"error"`
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) *Error {
	return apiErr(http.StatusNotFound, codeNotFound, format, a...)
}

func badRequest(format string, a ...any) *Error {
	return apiErr(http.StatusBadRequest, codeInvalidRequest, format, a...)
}

func forbidden(format string, a ...any) *Error {
	return apiErr(http.StatusForbidden, codeForbidden, format, a...)
}

func conflict(format string, a ...any) *Error {
	return apiErr(http.StatusConflict, codeConflict, format, a...)
}

// invalidField is a 400 naming one field of the body.
func invalidField(path, format string, a ...any) *Error {
	msg := fmt.Sprintf(format, a...)
	return &Error{Status: http.StatusBadRequest, Code: codeInvalidRequest, Message: path + ": " + msg, Details: []Detail{{Path: path, Message: msg}}}
}

// writeJSON writes v as the answer, without HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"ok":false,"error":"internal_error","message":"the answer could not be encoded"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// retryAfterSeconds is the Retry-After of a 503: a store that is briefly
// locked or full is usually back within seconds, and the engine retries its
// own steps meanwhile.
const retryAfterSeconds = "2"

// unavailable is the 503 of a request the store refused as transiently
// unavailable (store.ErrUnavailable): nothing was applied.
func unavailable() *Error {
	return apiErr(http.StatusServiceUnavailable, codeUnavailable,
		"the store is briefly unavailable (locked by another process, or out of disk space); nothing was changed: retry in %s seconds", retryAfterSeconds)
}

// writeError writes the error envelope, with WWW-Authenticate on a 401 and
// Retry-After on a 503.
func writeError(w http.ResponseWriter, e *Error) {
	switch e.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, e.Status, struct {
		OK bool `json:"ok"`
		*Error
	}{false, e})
}

// ok builds a success envelope: {"ok": true, key: value}.
func ok(key string, value any) map[string]any {
	return map[string]any{"ok": true, key: value}
}

// readBody reads the request body up to limit bytes; a larger one is a 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, apiErr(http.StatusRequestEntityTooLarge, codePayloadTooLarge, "the request body exceeds %d bytes", mbe.Limit)
	case err != nil:
		return nil, badRequest("the request body could not be read")
	}
	return b, nil
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// syntaxError reports malformed JSON with its position: the JSON path of
// the value being read there (logs[1].level, "(body)" for the top level)
// and the line, column and byte. It never repeats the decoder's message,
// which may quote a character of the body (and a body may carry a secret
// value).
func syntaxError(data []byte, off int64) *Error {
	line, col := lineCol(data, off)
	return invalidField(bodyPath(jsonpath.ReadingAt(data, off).String()), "malformed JSON at line %d, column %d (byte %d)", line, col, off)
}

// bodyPath names the top level of a body, whose JSON path is empty.
func bodyPath(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// typeErrorPath names the value a type error is about with its array
// indices and map keys (logs[1].logLevel), where encoding/json names only
// the struct fields on the way (logs.logLevel). Should the value found at
// the error's offset not lie on those fields (were encoding/json to place
// its offsets elsewhere one day), encoding/json's own name is kept.
func typeErrorPath(data []byte, te *json.UnmarshalTypeError) string {
	p, exact := jsonpath.ValueAt(data, te.Offset)
	if exact && onFields(p.Keys(), te.Field) {
		return bodyPath(p.String())
	}
	return bodyPath(te.Field)
}

// onFields reports whether keys go through every struct field of field
// (a.b.c, as encoding/json names them), in order; the keys in between are
// map keys. Names are compared as encoding/json matches them, in any case.
func onFields(keys []string, field string) bool {
	if field == "" {
		return true
	}
	fs := strings.Split(field, ".")
	for _, k := range keys {
		if len(fs) > 0 && strings.EqualFold(k, fs[0]) {
			fs = fs[1:]
		}
	}
	return len(fs) == 0
}

// checkSyntax reports malformed JSON in data, with its position, and what
// encoding/json would let through silently (see checkText). Definitions
// use it too; their duplicate keys are left to the definition parser,
// which lists every problem.
func checkSyntax(data []byte) error {
	return checkText(data, jsontext.Options{AllowDuplicates: true})
}

// checkText rejects a body that is empty, malformed, or holds invalid UTF-8
// or a \u escape of a lone surrogate (encoding/json would change them into
// U+FFFD), a duplicate key (the last one would win) or, given opts.Into, a
// key that names a field in another case (a duplicate in disguise). A 400
// names the JSON path and never quotes the bytes: a body may carry a secret.
func checkText(data []byte, opts jsontext.Options) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("the request body is empty; a JSON object is expected")
	}
	err := jsontext.Check(data, opts)
	var e *jsontext.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e):
		return fmt.Errorf("check the request body: %w", err)
	case e.Kind == jsontext.Syntax:
		return syntaxError(data, e.Offset)
	case e.Kind == jsontext.TooDeep:
		return badRequest("the request body is %s", e.Message())
	}
	path := e.Path
	if path == "" {
		path = "(body)"
	}
	if e.Kind == jsontext.UnknownField && e.Hint == "" {
		// A key in another case (Hint set) stays a 400: a duplicate in disguise.
		return schemaMismatch(invalidField(path, "%s", e.Message()))
	}
	return invalidField(path, "%s", e.Message())
}

// decodeBody decodes a JSON object body into v strictly: malformed JSON,
// invalid UTF-8, duplicate keys, unknown fields (names are case-sensitive),
// wrong types and trailing data are 400s naming the field or the position.
func decodeBody(data []byte, v any) error {
	if err := checkText(data, jsontext.Options{Into: reflect.TypeOf(v)}); err != nil {
		return err
	}
	if b := bytes.TrimSpace(data); b[0] != '{' {
		return badRequest("the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		if dec.More() {
			return syntaxError(data, dec.InputOffset())
		}
		return nil
	case errors.As(err, &te):
		return schemaMismatch(invalidField(typeErrorPath(data, te), "must be %s, got %s", jsonKind(te.Type.Kind().String()), te.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return schemaMismatch(invalidField(name, "unknown field"))
	default:
		return badRequest("the request body could not be decoded")
	}
}

// schemaMismatch makes e a 422: well-formed JSON that does not match the
// body's schema (an unknown field, a wrong type), as Port answers it.
// Malformed JSON, bad text and duplicate keys stay 400s.
func schemaMismatch(e *Error) *Error {
	e.Status = http.StatusUnprocessableEntity
	return e
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}
