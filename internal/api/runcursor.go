package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/store"
)

// The run list's cursor (GET /v1/workflows/runs?cursor=, a sluice addition
// to Port's limit and offset) is a position in the list's order, newest
// first by (createdAt, identifier), and a direction: the runs older than the
// position (an answer's next, store.RunFilter.Before) or newer than it (an
// answer's prev, store.RunFilter.After). It is opaque to clients: base64url
// (no padding) of
//
//	kind (1 byte) | createdAt in Unix nanoseconds (8) | filter digest (8) | identifier | checksum (8)
//
// The kind is the format and the direction: 1, the first format, the only
// one before prev existed, is older than the position, so every next ever
// issued keeps its meaning; 2 is newer than it.
//
// The filter digest ties the cursor to the filters of the list that issued
// it, so that a cursor sent with other filters is refused rather than
// starting a page at a position of another list. The checksum, the first
// bytes of SHA-256 over the rest, catches a cursor damaged or edited by
// hand. It is not a signature: a client that recomputes it can start a page
// anywhere, which shows nothing more than the same list with offset, since
// the store applies the caller's visibility whatever the cursor says.
const (
	cursorOlder    = 1 // the runs older than the position: next
	cursorNewer    = 2 // the runs newer than the position: prev
	cursorDigest   = 8
	cursorSum      = 8
	cursorFixed    = 1 + 8 + cursorDigest + cursorSum
	maxCursorIDLen = 256
)

// runCursor is a decoded cursor: a position, and whether the page it asks
// for is of the runs newer than the position (prev) rather than older
// (next).
type runCursor struct {
	store.RunCursor
	Newer bool
}

// encodeRunCursor returns the cursor of position c in the list selected by
// f, for the runs older than c (next), or newer when newer is set (prev).
func encodeRunCursor(c store.RunCursor, newer bool, f store.RunFilter) string {
	b := make([]byte, 0, cursorFixed+len(c.Identifier))
	kind := byte(cursorOlder)
	if newer {
		kind = cursorNewer
	}
	b = append(b, kind)
	b = binary.BigEndian.AppendUint64(b, uint64(c.CreatedAt.UnixNano()))
	d := filterDigest(f)
	b = append(b, d[:]...)
	b = append(b, c.Identifier...)
	sum := cursorChecksum(b)
	b = append(b, sum[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeRunCursor reads a cursor for the list selected by f. Every error is
// a 400 naming the cursor parameter; the message never quotes the cursor.
func decodeRunCursor(s string, f store.RunFilter) (runCursor, error) {
	bad := func(why string) (runCursor, error) {
		return runCursor{}, invalidField("cursor", "%s; use the next or prev value of a run list answer, or leave cursor out to start from the newest run", why)
	}
	if len(s) > base64.RawURLEncoding.EncodedLen(cursorFixed+maxCursorIDLen) {
		return bad("too long to be a cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not a cursor (not base64url)")
	}
	if len(b) < cursorFixed+1 {
		return bad("not a cursor (too short)")
	}
	if b[0] != cursorOlder && b[0] != cursorNewer {
		return bad("not a cursor this server issues (unknown version)")
	}
	body, sum := b[:len(b)-cursorSum], b[len(b)-cursorSum:]
	want := cursorChecksum(body)
	if !bytes.Equal(sum, want[:]) {
		return bad("damaged or altered (checksum mismatch)")
	}
	d := filterDigest(f)
	if !bytes.Equal(body[9:9+cursorDigest], d[:]) {
		return bad("issued for a list with other filters (workflowIdentifiers, workflowRunIdentifiers, workflowVersions, statuses, results, createdBy)")
	}
	id := body[9+cursorDigest:]
	if !utf8.Valid(id) {
		return bad("damaged (identifier is not UTF-8)")
	}
	nanos := int64(binary.BigEndian.Uint64(body[1:9]))
	return runCursor{RunCursor: store.RunCursor{CreatedAt: time.Unix(0, nanos).UTC(), Identifier: string(id)}, Newer: b[0] == cursorNewer}, nil
}

// cursorChecksum is the first cursorSum bytes of SHA-256 over b, after a
// label that keeps it from matching any other use of SHA-256.
func cursorChecksum(b []byte) [cursorSum]byte {
	h := sha256.New()
	h.Write([]byte("sluice run cursor\x00"))
	h.Write(b)
	var out [cursorSum]byte
	copy(out[:], h.Sum(nil))
	return out
}

// filterDigest digests the filters of a run list (not its limit, offset or
// viewer), each list sorted, so that the same filters given in any order or
// form (comma-separated or repeated) have the same digest.
func filterDigest(f store.RunFilter) [cursorDigest]byte {
	h := sha256.New()
	part := func(name string, vals []string) {
		vals = slices.Clone(vals)
		slices.Sort(vals)
		h.Write([]byte(name))
		for _, v := range vals {
			h.Write([]byte{0})
			h.Write([]byte(v))
		}
		h.Write([]byte{1})
	}
	versions := make([]string, 0, len(f.WorkflowVersions))
	for _, v := range f.WorkflowVersions {
		versions = append(versions, strconv.Itoa(v))
	}
	part("workflowIdentifiers", f.WorkflowIDs)
	part("workflowRunIdentifiers", f.RunIDs)
	part("workflowVersions", versions)
	part("statuses", f.Statuses)
	part("results", f.Results)
	part("createdBy", f.CreatedBy)
	var out [cursorDigest]byte
	copy(out[:], h.Sum(nil))
	return out
}
