package ui

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var (
	runIDRe = regexp.MustCompile(`wfr_[A-Za-z0-9]{16}`)
	olderRe = regexp.MustCompile(`href="/runs(\?[^"]*)" rel="next"`)
)

// TestRunsPagerFollowsTheCursor walks /runs by its Older links while runs
// are created between the pages: each page goes on right after the previous
// one (the API's cursor), so no run is shown twice or skipped, the last page
// has no Older link, and a damaged cursor in the URL is the API's 400.
func TestRunsPagerFollowsTheCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	insert := func(ms int) string {
		n++
		at := base.Add(time.Duration(ms) * time.Millisecond)
		id := fmt.Sprintf("wfr_p%015d", n)
		run := store.Run{Identifier: id, WorkflowID: "deploy", WorkflowVersion: 1, Status: store.StatusCompleted, Result: store.ResultSuccess,
			CreatedBy: e.admin.ID, TriggerNode: "trigger", CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
		first := store.NodeRun{Identifier: "wfnr_" + id[4:], RunID: id, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess,
			Output: redact.Reload([]byte(`{}`)), CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
		if err := e.st.CreateRun(ctx, run, first, nil); err != nil {
			t.Fatal(err)
		}
		return id
	}
	var want []string
	for i := range 45 {
		want = append(want, insert(i/2)) // two runs per millisecond: ties across pages
	}
	slices.Reverse(want) // newest first; a tie goes to the larger identifier

	b := newBrowser(t, e.hs.URL)
	if res, _ := b.signIn("root@example.com", password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	var seen []string
	path := "/runs"
	for pages := 1; ; pages++ {
		res, page := b.do("GET", path, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		ids := slices.Compact(runIDRe.FindAllString(page, -1))
		seen = append(seen, ids...)
		if pages > 1 && !regexp.MustCompile(`rel="first"`).MatchString(page) {
			t.Errorf("page %d has no link back to the newest runs", pages)
		}
		m := olderRe.FindStringSubmatch(page)
		if m == nil {
			break
		}
		if pages > 5 {
			t.Fatal("the Older links do not end")
		}
		path = "/runs" + html.UnescapeString(m[1])
		insert(10000 + pages) // a newer run, started while the list is read
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("the pages showed\n%v\nwant each of the 45 runs once, newest first\n%v", seen, want)
	}
	if res, _ := b.do("GET", "/runs?cursor=damaged&page=2", nil, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("/runs with a damaged cursor: %d, want 400", res.StatusCode)
	}
}
