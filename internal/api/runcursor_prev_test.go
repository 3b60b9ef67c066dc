package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// pageBoth lists runs with query q as token and returns the identifiers and
// the answer's next and prev ("" when absent).
func (ce *cursorEnv) pageBoth(token string, q url.Values) (ids []string, next, prev string) {
	ce.t.Helper()
	r := ce.do("GET", "/v1/workflows/runs?"+q.Encode(), token, nil).expect(ce.t, http.StatusOK)
	for _, x := range r.body["workflowRuns"].([]any) {
		ids = append(ids, x.(map[string]any)["identifier"].(string))
	}
	for name, dst := range map[string]*string{"next": &next, "prev": &prev} {
		if v, ok := r.body[name]; ok {
			*dst = v.(string)
			if *dst == "" || strings.Trim(*dst, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				ce.t.Fatalf("%s %q is not an opaque base64url cursor", name, *dst)
			}
		}
	}
	return ids, next, prev
}

// TestRunListPrevUnderInserts walks a list forward by next and back by prev,
// for an Admin and for a Member, with newer runs the caller sees created
// before every page back: each page back is the page that was shown going
// forward (ties in createdAt straddle the pages), its next leads to the
// page after it again, the first page has no prev, and once back at the
// top, prev leads to the runs created during the walk, whose page has none.
func TestRunListPrevUnderInserts(t *testing.T) {
	t.Parallel()
	for _, who := range []string{"admin", "member"} {
		t.Run(who, func(t *testing.T) {
			ce := newCursorEnv(t)
			token := ce.admin
			if who == "member" {
				token = ce.member
			}
			for i := range 23 {
				ce.insert("public", "usr_other", i/3)
				ce.insert("private", ce.memberID, i/3)
				ce.insert("private", "usr_other", i/3) // hidden from the Member
			}
			q := func(kv ...string) url.Values {
				v := url.Values{"limit": {"5"}, "workflowIdentifiers": {"private", "public"}}
				for i := 0; i < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			var pages [][]string
			ids, next, prev := ce.pageBoth(token, q())
			if prev != "" {
				t.Fatalf("the first page carries prev %q", prev)
			}
			pages = append(pages, ids)
			for next != "" {
				if len(pages) > 30 {
					t.Fatal("the walk forward does not end")
				}
				ids, next, prev = ce.pageBoth(token, q("cursor", next))
				if prev == "" {
					t.Fatalf("page %d has no prev", len(pages)+1)
				}
				pages = append(pages, ids)
			}
			if len(pages) < 3 {
				t.Fatalf("only %d pages", len(pages))
			}
			var inserted []string
			for i := len(pages) - 2; i >= 0; i-- {
				inserted = append(inserted, ce.insert("public", "usr_other", 5000+len(inserted)))
				ids, next, prev = ce.pageBoth(token, q("cursor", prev))
				if !slices.Equal(ids, pages[i]) {
					t.Fatalf("back to page %d: %v, want %v as going forward", i+1, ids, pages[i])
				}
				if prev == "" {
					t.Fatalf("page %d back has no prev though newer runs exist", i+1)
				}
				again, _, _ := ce.pageBoth(token, q("cursor", next))
				if !slices.Equal(again, pages[i+1]) {
					t.Fatalf("next of page %d back: %v, want page %d %v", i+1, again, i+2, pages[i+1])
				}
			}
			ids, next, prev = ce.pageBoth(token, q("cursor", prev, "limit", "100"))
			slices.Reverse(inserted)
			if !slices.Equal(ids, inserted) || prev != "" || next == "" {
				t.Fatalf("before the first page: %v (prev %q, next %q); want the runs created during the walk %v, no prev, a next", ids, prev, next, inserted)
			}
		})
	}
}

// TestRunListPrevParameters checks prev beside offset and the largest limit,
// and that a prev cursor, like next, is refused with other filters.
func TestRunListPrevParameters(t *testing.T) {
	t.Parallel()
	ce := newCursorEnv(t)
	for i := range 1001 {
		ce.insert("public", "usr_other", i)
	}
	all, _, _ := ce.pageBoth(ce.admin, url.Values{"limit": {"1000"}})

	// An offset page has runs before it.
	ids, _, prev := ce.pageBoth(ce.admin, url.Values{"limit": {"3"}, "offset": {"4"}})
	if !slices.Equal(ids, all[4:7]) || prev == "" {
		t.Fatalf("offset 4: %v, prev %q; want %v and a prev", ids, prev, all[4:7])
	}
	back, _, _ := ce.pageBoth(ce.admin, url.Values{"limit": {"3"}, "cursor": {prev}})
	if !slices.Equal(back, all[1:4]) {
		t.Fatalf("prev of offset 4: %v, want %v", back, all[1:4])
	}
	// offset with prev skips the runs nearest the cursor.
	back, _, _ = ce.pageBoth(ce.admin, url.Values{"limit": {"2"}, "offset": {"1"}, "cursor": {prev}})
	if !slices.Equal(back, all[1:3]) {
		t.Fatalf("prev of offset 4, offset 1: %v, want %v", back, all[1:3])
	}

	// At the largest limit: back from the oldest run, 1000 runs, which are
	// the newest: no prev; back from the second oldest, one run lies past.
	last, _, prevLast := ce.pageBoth(ce.admin, url.Values{"limit": {"1"}, "offset": {"1000"}})
	if len(last) != 1 || prevLast == "" {
		t.Fatalf("the oldest run: %v, prev %q", last, prevLast)
	}
	ids, next, prev := ce.pageBoth(ce.admin, url.Values{"limit": {"1000"}, "cursor": {prevLast}})
	if !slices.Equal(ids, all) || prev != "" || next == "" {
		t.Fatalf("1000 back from the oldest: %d runs, prev %q, next %q; want the newest 1000, no prev, a next", len(ids), prev, next)
	}
	_, _, prev2 := ce.pageBoth(ce.admin, url.Values{"limit": {"1"}, "offset": {"999"}})
	ids, _, prev = ce.pageBoth(ce.admin, url.Values{"limit": {"1000"}, "cursor": {prev2}})
	if !slices.Equal(ids, all[:999]) || prev != "" {
		t.Fatalf("back from the 1000th: %d runs, prev %q; want 999 and no prev", len(ids), prev)
	}
	_, _, prev3 := ce.pageBoth(ce.admin, url.Values{"limit": {"1"}, "offset": {"1001"}})
	if prev3 != "" {
		t.Fatalf("an empty page past the end carries prev %q", prev3)
	}

	r := ce.do("GET", "/v1/workflows/runs?"+url.Values{"cursor": {prevLast}, "statuses": {"COMPLETED"}}.Encode(), ce.admin, nil).expect(t, http.StatusBadRequest)
	if d := r.body["details"].([]any)[0].(map[string]any); d["path"] != "cursor" || !strings.Contains(d["message"].(string), "other filters") {
		t.Fatalf("a prev cursor with other filters: %v", d)
	}
}
