package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// cursorEnv is a server whose store holds runs inserted directly, at chosen
// times, of a public and a private workflow, by a Member and by someone else.
type cursorEnv struct {
	*env
	member, memberID string
	base             time.Time
	n                int // runs inserted so far
}

func newCursorEnv(t *testing.T) *cursorEnv {
	t.Helper()
	e := newEnv(t)
	u, cred, err := auth.CreateUser(context.Background(), e.st, auth.UserSpec{Email: "member@example.com", Role: "Member"})
	if err != nil {
		t.Fatal(err)
	}
	e.createWorkflow(workflowDef("public", true, e.rcv.URL+"/sync", nil, nil))
	e.createWorkflow(workflowDef("private", false, e.rcv.URL+"/sync", nil, nil))
	return &cursorEnv{env: e, member: e.token(cred), memberID: u.ID, base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// insert stores a completed run of wf by by, created at the env's base plus
// ms milliseconds, and returns its identifier.
func (ce *cursorEnv) insert(wf, by string, ms int) string {
	ce.t.Helper()
	ce.n++
	at := ce.base.Add(time.Duration(ms) * time.Millisecond)
	id := fmt.Sprintf("wfr_c%015d", ce.n)
	run := store.Run{Identifier: id, WorkflowID: wf, WorkflowVersion: 1, Status: store.StatusCompleted, Result: store.ResultSuccess,
		CreatedBy: by, TriggerNode: "trigger", CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
	first := store.NodeRun{Identifier: "wfnr_" + id[4:], RunID: id, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess,
		Output: redact.Reload([]byte(`{}`)), CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
	if err := ce.st.CreateRun(context.Background(), run, first, nil); err != nil {
		ce.t.Fatal(err)
	}
	return id
}

// page lists runs with query q as token and returns the identifiers, the
// total and next ("" when absent).
func (ce *cursorEnv) page(token string, q url.Values) ([]string, int, string) {
	ce.t.Helper()
	r := ce.do("GET", "/v1/workflows/runs?"+q.Encode(), token, nil).expect(ce.t, http.StatusOK)
	var ids []string
	for _, x := range r.body["workflowRuns"].([]any) {
		ids = append(ids, x.(map[string]any)["identifier"].(string))
	}
	next := ""
	if v, ok := r.body["next"]; ok {
		next = v.(string)
		if next == "" || strings.Trim(next, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			ce.t.Fatalf("next %q is not an opaque base64url cursor", next)
		}
	}
	return ids, int(r.body["total"].(float64)), next
}

// TestRunListCursorUnderInserts is the reason for the cursor: runs created
// between two page requests shift offset pages (a run is repeated), while
// cursor pages go on exactly after the previous page's last run. A whole
// walk by cursor, with newer runs inserted before every page, lists each run
// that existed at the start exactly once, in order, for an Admin (every run)
// and for a Member (the store's visibility filter), with runs sharing a
// createdAt across page boundaries (the identifier breaks the tie).
func TestRunListCursorUnderInserts(t *testing.T) {
	t.Parallel()
	for _, who := range []string{"admin", "member"} {
		t.Run(who, func(t *testing.T) {
			ce := newCursorEnv(t)
			token := ce.admin
			if who == "member" {
				token = ce.member
			}
			// 23 visible runs, three at each millisecond, so that ties
			// straddle pages of 5; and 30 hidden runs of others.
			var want []string
			for i := range 23 {
				wf, by := "public", "usr_other"
				if i%2 == 0 {
					wf, by = "private", ce.memberID
				}
				want = append(want, ce.insert(wf, by, i/3))
				ce.insert("private", "usr_other", i/3)
				if i < 7 {
					ce.insert("private", "usr_other", 1000+i)
				}
			}
			if who == "admin" {
				want = want[:0]
				for i := ce.n; i >= 1; i-- {
					want = append(want, fmt.Sprintf("wfr_c%015d", i))
				}
			}
			// Newest first by (createdAt, identifier): sort what was
			// inserted the way the list orders it.
			byTime := map[string]int{}
			for _, id := range want {
				run, err := ce.st.GetRun(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				byTime[id] = int(run.CreatedAt.Sub(ce.base) / time.Millisecond)
			}
			slices.SortFunc(want, func(a, b string) int {
				if byTime[a] != byTime[b] {
					return byTime[b] - byTime[a]
				}
				return strings.Compare(b, a)
			})

			first, total, next := ce.page(token, url.Values{"limit": {"5"}})
			if total != len(want) || !slices.Equal(first, want[:5]) || next == "" {
				t.Fatalf("first page %v (total %d, next %q), want %v (total %d) and a next", first, total, next, want[:5], len(want))
			}
			// Two newer runs the caller sees arrive before page 2.
			ce.insert("public", "usr_other", 5000)
			ce.insert("private", ce.memberID, 5001)

			byOffset, _, _ := ce.page(token, url.Values{"limit": {"5"}, "offset": {"5"}})
			if !slices.Equal(byOffset[:2], want[3:5]) {
				t.Fatalf("offset page 2 after two inserts = %v; want it to start with page 1's last two runs %v (the shift the cursor avoids)", byOffset, want[3:5])
			}

			got := slices.Clone(first)
			for pages := 1; next != ""; pages++ {
				if pages > 20 {
					t.Fatal("the cursor walk does not end")
				}
				var ids []string
				ids, _, next = ce.page(token, url.Values{"limit": {"5"}, "cursor": {next}})
				got = append(got, ids...)
				ce.insert("public", "usr_other", 6000+pages)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("the cursor walk listed\n%v\nwant each run that existed at the start once, in order\n%v", got, want)
			}
		})
	}
}

// TestRunListCursorParameters checks how cursor combines with the other
// parameters: offset counts from the cursor, the filters may be given in
// another order or form, next is absent exactly when no run follows (also at
// the largest limit, where the store caps what one read returns), and a
// malformed, altered or foreign cursor is a 400 naming cursor.
func TestRunListCursorParameters(t *testing.T) {
	t.Parallel()
	ce := newCursorEnv(t)
	for i := range 1001 {
		ce.insert("public", "usr_other", i)
	}
	all, total, next := ce.page(ce.admin, url.Values{"limit": {"1000"}})
	if total != 1001 || len(all) != 1000 || next == "" {
		t.Fatalf("limit 1000 of 1001 runs: %d runs, total %d, next %q; want 1000, 1001 and a next", len(all), total, next)
	}
	last, _, after := ce.page(ce.admin, url.Values{"limit": {"1000"}, "cursor": {next}})
	if !slices.Equal(last, []string{"wfr_c000000000000001"}) || after != "" {
		t.Fatalf("after the first 1000: %v, next %q; want the oldest run and no next", last, after)
	}
	if _, _, n := ce.page(ce.admin, url.Values{"limit": {"1000"}, "offset": {"1"}}); n != "" {
		t.Fatalf("the last 1000 runs carry next %q; want none", n)
	}

	q := url.Values{"limit": {"3"}, "statuses": {"COMPLETED", "IN_PROGRESS"}, "workflowIdentifiers": {"public"}}
	p1, _, c := ce.page(ce.admin, q)
	withOffset, _, _ := ce.page(ce.admin, url.Values{"limit": {"2"}, "offset": {"1"}, "cursor": {c},
		"statuses": {"IN_PROGRESS", "COMPLETED"}, "workflowIdentifiers": {"public"}})
	if want := all[4:6]; !slices.Equal(withOffset, want) {
		t.Fatalf("offset 1 from the cursor after %v = %v, want %v", p1, withOffset, want)
	}

	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		t.Fatal(err)
	}
	altered := slices.Clone(raw)
	altered[len(altered)-cursorSum-1] ^= 1 // the identifier's last byte
	version := slices.Clone(raw)
	version[0] = 3
	for _, tc := range []struct {
		name, cursor string
		extra        url.Values
		why          string
	}{
		{"empty", "", nil, "too short"},
		{"not base64url", "not a cursor!", nil, "not base64url"},
		{"padded", c + "==", nil, "not base64url"},
		{"too short", base64.RawURLEncoding.EncodeToString(raw[:10]), nil, "too short"},
		{"too long", strings.Repeat("A", 1000), nil, "too long"},
		{"altered", base64.RawURLEncoding.EncodeToString(altered), nil, "altered"},
		{"other version", base64.RawURLEncoding.EncodeToString(version), nil, "version"},
		{"other filters", c, url.Values{"statuses": {"COMPLETED"}}, "other filters"},
		{"filters dropped", c, url.Values{}, "other filters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{"cursor": {tc.cursor}}
			if tc.extra == nil {
				v["statuses"], v["workflowIdentifiers"] = q["statuses"], q["workflowIdentifiers"]
			}
			for k, x := range tc.extra {
				v[k] = x
			}
			r := ce.do("GET", "/v1/workflows/runs?"+v.Encode(), ce.admin, nil).expect(t, http.StatusBadRequest)
			d := r.body["details"].([]any)[0].(map[string]any)
			if d["path"] != "cursor" || !strings.Contains(d["message"].(string), tc.why) {
				t.Fatalf("details %v; want path cursor and a message saying %q", d, tc.why)
			}
			if tc.cursor != "" && strings.Contains(r.raw, tc.cursor) {
				t.Fatalf("the answer quotes the cursor: %s", r.raw)
			}
		})
	}
}

// TestRunCursorRoundTrip checks the codec alone: every position comes back
// as encoded, ties included.
func TestRunCursorRoundTrip(t *testing.T) {
	t.Parallel()
	f := store.RunFilter{Statuses: []string{"COMPLETED"}, WorkflowVersions: []int{2, 1}}
	for _, c := range []store.RunCursor{
		{CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC), Identifier: "wfr_abc"},
		{CreatedAt: time.Unix(0, 0).UTC(), Identifier: "x"},
		{CreatedAt: time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC), Identifier: "wfr_ü"},
	} {
		for _, newer := range []bool{false, true} {
			got, err := decodeRunCursor(encodeRunCursor(c, newer, f), store.RunFilter{Statuses: []string{"COMPLETED"}, WorkflowVersions: []int{1, 2}})
			if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.Identifier != c.Identifier || got.Newer != newer {
				t.Errorf("round trip of %+v (newer %v) = %+v, %v", c, newer, got, err)
			}
		}
	}
}

// FuzzRunCursor checks that decoding any text either fails with a 400
// naming cursor or yields a position that encodes and decodes to itself.
func FuzzRunCursor(f *testing.F) {
	f.Add(encodeRunCursor(store.RunCursor{CreatedAt: time.Unix(1, 2), Identifier: "wfr_1"}, false, store.RunFilter{}))
	f.Add(encodeRunCursor(store.RunCursor{CreatedAt: time.Unix(1, 2), Identifier: "wfr_1"}, true, store.RunFilter{}))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeRunCursor(s, store.RunFilter{})
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Status != http.StatusBadRequest || len(e.Details) != 1 || e.Details[0].Path != "cursor" {
				t.Fatalf("decode %q: %v; want a 400 naming cursor", s, err)
			}
			return
		}
		again, err := decodeRunCursor(encodeRunCursor(c.RunCursor, c.Newer, store.RunFilter{}), store.RunFilter{})
		if err != nil || !again.CreatedAt.Equal(c.CreatedAt) || again.Identifier != c.Identifier || again.Newer != c.Newer {
			t.Fatalf("re-encoding %+v gave %+v, %v", c, again, err)
		}
	})
}
