package cli

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRunsListPagesBothWays drives `runs list` against a real `sluice
// serve` (a child process): with --limit it says on stderr how to list the
// next and the previous page, and -o json carries the same cursors as
// "next" and "prev"; walking forward by next and back by prev shows the
// same pages, also after runs were started in between, which only add a
// page before the first one (decision 027).
func TestRunsListPagesBothWays(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	srv := startServer(t, "--data-dir", dataDir(t))
	id, secret := credentials(t, srv.banner)
	env := map[string]string{"SLUICE_SERVER": srv.url, "SLUICE_CLIENT_ID": id, "SLUICE_CLIENT_SECRET": secret}
	mustRun := func(args ...string) result {
		t.Helper()
		r := sluiceEnv(t, env, "", args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
		return r
	}
	def := writeFile(t, "paged.json", `{"identifier": "paged", "nodes": [
		{"identifier": "trigger", "config": {"type": "SELF_SERVE_TRIGGER"}},
		{"identifier": "hook", "config": {"type": "WEBHOOK", "url": "`+rcv.URL+`/ok"}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "hook"}]}`)
	mustRun("workflows", "apply", "-f", def)
	start := func(n int) {
		t.Helper()
		for range n {
			mustRun("runs", "start", "paged")
		}
	}
	start(5)

	type page struct {
		ids        []string
		next, prev string
	}
	list := func(cursor string) page {
		t.Helper()
		args := []string{"runs", "list", "--workflow", "paged", "--limit", "2", "-o", "json"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		v := runJSON(t, mustRun(args...))
		var p page
		for _, x := range v["workflowRuns"].([]any) {
			p.ids = append(p.ids, x.(map[string]any)["identifier"].(string))
		}
		p.next, _ = v["next"].(string)
		p.prev, _ = v["prev"].(string)
		return p
	}
	whole := list("")
	if whole.prev != "" {
		t.Errorf("the first page has a prev %q", whole.prev)
	}

	// Forward by next: 2, 2, 1 runs; every page but the first has a prev.
	var forward []page
	for p := whole; ; p = list(p.next) {
		forward = append(forward, p)
		if p.next == "" || len(forward) > 10 {
			break
		}
	}
	if len(forward) != 3 || len(forward[2].ids) != 1 {
		t.Fatalf("forward pages %v, want 2, 2 and 1 runs", forward)
	}
	for i, p := range forward[1:] {
		if p.prev == "" {
			t.Errorf("page %d (reached by next) has no prev", i+2)
		}
	}

	// The human output names both cursors, the ones -o json gives.
	r := mustRun("runs", "list", "--workflow", "paged", "--limit", "2", "--cursor", forward[0].next)
	want := fmt.Sprintf("2 of 5 runs shown (--limit); the next ones: --cursor %s; the previous ones: --cursor %s\n", forward[1].next, forward[1].prev)
	if r.stderr != want {
		t.Errorf("stderr of the middle page:\n%q\nwant\n%q", r.stderr, want)
	}
	for _, id := range forward[1].ids {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("the middle page's table lacks run %s:\n%s", id, r.stdout)
		}
	}
	last := mustRun("runs", "list", "--workflow", "paged", "--limit", "2", "--cursor", forward[1].next)
	if want := "1 of 5 runs shown (--limit); the previous ones: --cursor " + forward[2].prev + "\n"; last.stderr != want {
		t.Errorf("stderr of the last page: %q, want %q", last.stderr, want)
	}
	// A cursor copied from the human output lists the page it names.
	m := regexp.MustCompile(`the previous ones: --cursor (\S+)`).FindStringSubmatch(last.stderr)
	if m == nil || !slices.Equal(list(m[1]).ids, forward[1].ids) {
		t.Errorf("the printed prev cursor %v does not list the middle page again", m)
	}
	if r = mustRun("runs", "list", "--workflow", "paged"); r.stderr != "" {
		t.Errorf("a list of every run says %q on stderr, want nothing", r.stderr)
	}

	// Runs started meanwhile: back by prev shows the same pages, then one
	// more page before the first one, holding only the new runs.
	start(2)
	p := forward[2]
	for i := len(forward) - 2; i >= 0; i-- {
		p = list(p.prev)
		if !slices.Equal(p.ids, forward[i].ids) {
			t.Errorf("back to page %d: %v, want %v as going forward", i+1, p.ids, forward[i].ids)
		}
	}
	if p.prev == "" {
		t.Fatal("the first page, read by prev after 2 runs were started, has no prev")
	}
	top := list(p.prev)
	var seen []string
	for _, f := range forward {
		seen = append(seen, f.ids...)
	}
	if len(top.ids) != 2 || slices.ContainsFunc(top.ids, func(id string) bool { return slices.Contains(seen, id) }) {
		t.Errorf("the page before the first: %v, want the 2 runs started meanwhile", top.ids)
	}
	if top.prev != "" {
		t.Errorf("the newest page, read by prev, has a prev %q", top.prev)
	}
}
