// Package traceparent parses the W3C Trace Context traceparent header
// (https://www.w3.org/TR/trace-context/, "traceparent Header"), strictly:
// a run-creation request that carries one joins the caller's trace
// (docs/decisions/029-joining-the-callers-trace.md). It does not depend on
// OpenTelemetry, so the engine and the store can hold a parent without it.
package traceparent

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
)

// Header is the header's name.
const Header = "traceparent"

// Parent is the caller's span context a traceparent names: the trace a run
// joins and the span its root span is a child of.
type Parent struct {
	TraceID [16]byte
	SpanID  [8]byte
	// Flags are the trace flags as received (bit 0: sampled).
	Flags byte
}

// IsZero reports whether p names nothing (no parent).
func (p Parent) IsZero() bool { return p == Parent{} }

// String is p as a version-00 traceparent: 55 bytes of lowercase hex and
// dashes, "" for the zero Parent.
func (p Parent) String() string {
	if p.IsZero() {
		return ""
	}
	return "00-" + hex.EncodeToString(p.TraceID[:]) + "-" + hex.EncodeToString(p.SpanID[:]) + "-" + hex.EncodeToString([]byte{p.Flags})
}

// versionLen is the length of a version-00 traceparent.
const versionLen = 55

// Parse parses a traceparent value as W3C Trace Context level 1 says a
// receiver must: two lowercase hex digits of version (not ff); for version
// 00 exactly 55 characters, for a later version at least 55 of which the
// first four fields are read, the rest starting with "-"; a trace id of 32
// and a parent id of 16 lowercase hex digits, neither all zeros; two hex
// digits of flags. The error says what is wrong; a caller that receives a
// malformed header ignores it (W3C: start a new trace), never refuses the
// request.
func Parse(s string) (Parent, error) {
	var p Parent
	if len(s) < versionLen {
		return p, fmt.Errorf("traceparent: %d characters, want %d", len(s), versionLen)
	}
	if !lowerHex(s[0:2]) {
		return p, errors.New("traceparent: the version is not two lowercase hex digits")
	}
	switch {
	case s[0:2] == "ff":
		return p, errors.New("traceparent: version ff is invalid")
	case s[0:2] == "00" && len(s) != versionLen:
		return p, fmt.Errorf("traceparent: version 00 has %d characters, want %d", len(s), versionLen)
	case len(s) > versionLen && s[versionLen] != '-':
		return p, errors.New("traceparent: a later version's extra fields must follow a dash")
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return p, errors.New("traceparent: fields must be separated by dashes at 2, 35 and 52")
	}
	tid, sid, flags := s[3:35], s[36:52], s[53:55]
	if !lowerHex(tid) || !lowerHex(sid) || !lowerHex(flags) {
		return p, errors.New("traceparent: trace id, parent id and flags must be lowercase hex")
	}
	_, _ = hex.Decode(p.TraceID[:], []byte(tid))
	_, _ = hex.Decode(p.SpanID[:], []byte(sid))
	var f [1]byte
	_, _ = hex.Decode(f[:], []byte(flags))
	p.Flags = f[0]
	if p.TraceID == [16]byte{} {
		return Parent{}, errors.New("traceparent: the trace id is all zeros")
	}
	if p.SpanID == [8]byte{} {
		return Parent{}, errors.New("traceparent: the parent id is all zeros")
	}
	return p, nil
}

// FromRequest returns the parent a request's traceparent header names, and
// false when it has none, a malformed one (ignored, as W3C says: the run
// starts a trace of its own) or several (ambiguous: ignored as well).
func FromRequest(r *http.Request) (Parent, bool) {
	vs := r.Header.Values(Header)
	if len(vs) != 1 {
		return Parent{}, false
	}
	p, err := Parse(vs[0])
	if err != nil {
		return Parent{}, false
	}
	return p, true
}

// lowerHex reports whether s is only 0-9 and a-f.
func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
