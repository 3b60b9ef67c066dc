package ui

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

var (
	newerRe  = regexp.MustCompile(`href="/runs(\?[^"]*)" rel="prev"`)
	newestRe = regexp.MustCompile(`href="/runs(\?[^"]*)" rel="first"`)
)

// runMaker inserts completed runs straight into the store, at chosen
// times, so that pages and ties across them are known in advance.
type runMaker struct {
	t    testing.TB
	st   store.Store
	base time.Time
	n    int
}

func newRunMaker(t testing.TB, st store.Store) *runMaker {
	return &runMaker{t: t, st: st, base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// insert stores a completed run of wf by by, created ms milliseconds after
// the base, and returns its identifier.
func (m *runMaker) insert(wf, by string, ms int) string {
	m.t.Helper()
	m.n++
	at := m.base.Add(time.Duration(ms) * time.Millisecond)
	id := fmt.Sprintf("wfr_n%015d", m.n)
	run := store.Run{Identifier: id, WorkflowID: wf, WorkflowVersion: 1, Status: store.StatusCompleted, Result: store.ResultSuccess,
		CreatedBy: by, TriggerNode: "trigger", CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
	first := store.NodeRun{Identifier: "wfnr_" + id[4:], RunID: id, NodeID: "trigger", Status: store.StatusCompleted, Result: store.ResultSuccess,
		Output: redact.Reload([]byte(`{}`)), CreatedAt: at, UpdatedAt: at, CompletedAt: &at}
	if err := m.st.CreateRun(context.Background(), run, first, nil); err != nil {
		m.t.Fatal(err)
	}
	return id
}

// runsPage is one /runs page as the HTTP tests read it.
type runsPageSeen struct {
	ids                 []string
	older, newer, first string // the links' query strings, "" when absent
	text                string
}

func getRunsPage(t *testing.T, b *browser, path string) runsPageSeen {
	t.Helper()
	res, page := b.do("GET", path, nil, nil)
	if res.StatusCode == http.StatusSeeOther {
		loc := res.Header.Get("Location")
		if strings.Contains(loc, "cursor=") {
			t.Fatalf("GET %s redirects to %s, a cursor's page", path, loc)
		}
		res, page = b.do("GET", loc, nil, nil)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, res.StatusCode, page)
	}
	p := runsPageSeen{ids: slices.Compact(runIDRe.FindAllString(page, -1)), text: page}
	for re, dst := range map[*regexp.Regexp]*string{olderRe: &p.older, newerRe: &p.newer, newestRe: &p.first} {
		if m := re.FindStringSubmatch(page); m != nil {
			*dst = html.UnescapeString(m[1])
		}
	}
	return p
}

// TestRunsPagerNewer walks /runs by Older to the last page and back by
// Newer, with a filter and with runs created meanwhile: every page back
// shows the rows it showed going forward, every link keeps the filter, the
// first page has neither Newer nor Newest, and Newer from the page that was
// first, once newer runs exist, leads to the first page itself.
func TestRunsPagerNewer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := newRunMaker(t, e.st)
	for i := range 45 {
		m.insert("deploy", e.admin.ID, i/2) // ties straddle the pages
		m.insert("waiter", e.admin.ID, i/2) // filtered out
	}
	b := newBrowser(t, e.hs.URL)
	if res, _ := b.signIn("root@example.com", password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	checkLinks := func(p runsPageSeen) {
		t.Helper()
		for _, q := range []string{p.older, p.newer, p.first} {
			if q != "" && !strings.Contains(q, "workflow=deploy") {
				t.Errorf("a pager link %q drops the filter", q)
			}
		}
	}
	p := getRunsPage(t, b, "/runs?workflow=deploy")
	if p.newer != "" || p.first != "" || p.older == "" {
		t.Fatalf("the first page's links: newer %q, newest %q, older %q", p.newer, p.first, p.older)
	}
	pages := []runsPageSeen{p}
	for p.older != "" {
		if len(pages) > 5 {
			t.Fatal("the Older links do not end")
		}
		p = getRunsPage(t, b, "/runs"+p.older)
		checkLinks(p)
		if p.newer == "" || p.first == "" {
			t.Fatalf("page %d has no Newer or no Newest link", len(pages)+1)
		}
		pages = append(pages, p)
	}
	if len(pages) != 3 || len(pages[2].ids) != 5 || !strings.Contains(pages[2].text, "Page 3 of 3") {
		t.Fatalf("%d pages, the last of %d runs; want 3, the last of 5 and numbered 3 of 3", len(pages), len(pages[len(pages)-1].ids))
	}
	for i := 1; i >= 0; i-- {
		m.insert("deploy", e.admin.ID, 10000+i) // newer runs, started while the list is read
		p = getRunsPage(t, b, "/runs"+p.newer)
		checkLinks(p)
		if !slices.Equal(p.ids, pages[i].ids) {
			t.Fatalf("Newer to page %d shows\n%v\nwant, as going Older,\n%v", i+1, p.ids, pages[i].ids)
		}
		if p.newer == "" {
			t.Fatalf("page %d back has no Newer link though newer runs exist", i+1)
		}
		if again := getRunsPage(t, b, "/runs"+p.older); !slices.Equal(again.ids, pages[i+1].ids) {
			t.Fatalf("Older from page %d back shows %v, want %v", i+1, again.ids, pages[i+1].ids)
		}
	}
	// Two newer runs exist now: Newer leads to the first page, full, with
	// them on top, at its own address.
	res, _ := b.do("GET", "/runs"+p.newer, nil, nil)
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/runs?workflow=deploy" {
		t.Fatalf("Newer to the top: %d to %q; want 303 to the first page", res.StatusCode, loc)
	}
	top := getRunsPage(t, b, "/runs?workflow=deploy")
	if len(top.ids) != 20 || !slices.Equal(top.ids[2:], pages[0].ids[:18]) || top.newer != "" || top.first != "" {
		t.Fatalf("the first page after the walk: %v (newer %q, newest %q); want the 2 new runs, then the first 18 as before, and no Newer", top.ids, top.newer, top.first)
	}
}

// TestRunsPagerMember walks a Member's /runs both ways: every page holds
// only runs the Member may view (their own, and those of workflows that let
// anyone view their runs), in the API's order, none twice, none missing.
func TestRunsPagerMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := newRunMaker(t, e.st)
	var visible []string
	for i := range 50 {
		visible = append(visible, m.insert("deploy", e.admin.ID, i))   // public
		visible = append(visible, m.insert("private", e.member.ID, i)) // the Member's own
		m.insert("private", e.admin.ID, i)                             // hidden from the Member
	}
	slices.Reverse(visible) // newest first; a tie goes to the larger identifier
	b := newBrowser(t, e.hs.URL)
	if res, _ := b.signIn("ann@example.com", password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	p := getRunsPage(t, b, "/runs")
	if !strings.Contains(p.text, "100 runs") {
		t.Errorf("the Member's count is not 100 runs")
	}
	pages := [][]string{p.ids}
	for p.older != "" {
		p = getRunsPage(t, b, "/runs"+p.older)
		pages = append(pages, p.ids)
	}
	if got := slices.Concat(pages...); !slices.Equal(got, visible) {
		t.Fatalf("going Older the Member saw\n%v\nwant the 100 runs they may view, newest first\n%v", got, visible)
	}
	for i := len(pages) - 2; i >= 0; i-- {
		p = getRunsPage(t, b, "/runs"+p.newer)
		if !slices.Equal(p.ids, pages[i]) {
			t.Fatalf("Newer to page %d: %v, want %v", i+1, p.ids, pages[i])
		}
	}
	if p.newer != "" {
		t.Fatalf("back on the first page, a Newer link: %q", p.newer)
	}
}

// TestRunsPagerBadCursor checks that a damaged cursor, or one of a list
// with other filters, is a 400 page that says so and leads back to the
// newest runs with the same filters, never a 500.
func TestRunsPagerBadCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := newRunMaker(t, e.st)
	for i := range 25 {
		m.insert("deploy", e.admin.ID, i)
	}
	b := newBrowser(t, e.hs.URL)
	if res, _ := b.signIn("root@example.com", password); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	older := getRunsPage(t, b, "/runs?workflow=deploy").older
	v, err := url.ParseQuery(strings.TrimPrefix(older, "?"))
	if err != nil {
		t.Fatal(err)
	}
	good := v.Get("cursor")
	for _, tc := range []struct {
		name, query, why, back string
	}{
		{"damaged", "cursor=damaged&page=2", "not a cursor", "/runs?"},
		{"altered", "workflow=deploy&cursor=" + good[:len(good)-2] + "AA&page=2", "altered", "/runs?workflow=deploy"},
		{"other filters", "workflow=deploy&status=IN_PROGRESS&cursor=" + good + "&page=2", "other filters", "/runs?status=IN_PROGRESS&amp;workflow=deploy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, page := b.do("GET", "/runs?"+tc.query, nil, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("GET /runs?%s: %d, want 400", tc.query, res.StatusCode)
			}
			for _, want := range []string{"Bad link", "The link to this page of runs is damaged", tc.why, `href="` + tc.back + `"`} {
				if !strings.Contains(page, want) {
					t.Errorf("the error page lacks %q:\n%s", want, page)
				}
			}
		})
	}
}

// TestBrowserRunsNewer drives chromium through /runs over three pages:
// Older twice and Newer twice by clicking the links, checking the rows of
// each page, that the first page offers neither Newer nor Newest, and that
// a damaged cursor in the address shows the error page.
func TestBrowserRunsNewer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := newRunMaker(t, e.st)
	var want []string
	for i := range 45 {
		want = append(want, m.insert("deploy", e.admin.ID, i/3)) // ties straddle the pages
	}
	slices.Reverse(want)
	pages := [][]string{want[:20], want[20:40], want[40:]}
	ctx := newChrome(t)
	base := e.hs.URL
	run(t, ctx, "admin sign-in", signInSteps(base, "root@example.com", password), chromedp.WaitVisible(chromedp.CSS(`.who`)))
	run(t, ctx, "runs", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.CSS(`nav.pager`)))

	const rows = `Array.from(document.querySelectorAll("main tbody td:first-child a")).map(a => a.textContent).join(",")`
	has := func(rel string) bool {
		return get(t, ctx, "a "+rel+" link", chromedp.Evaluate[bool](`document.querySelector('nav.pager a[rel="`+rel+`"]') !== null`))
	}
	check := func(step string, n int) {
		t.Helper()
		waitFor(t, ctx, step+": page "+fmt.Sprint(n+1)+"'s rows", rows+` === "`+strings.Join(pages[n], ",")+`"`)
		label := get(t, ctx, "pager text", chromedp.Text(chromedp.CSS(`nav.pager span`)))
		if wantLabel := fmt.Sprintf("Page %d of 3 · 45 runs", n+1); label != wantLabel {
			t.Errorf("%s: the pager says %q, want %q", step, label, wantLabel)
		}
		if has("prev") != (n > 0) || has("first") != (n > 0) || has("next") != (n < 2) {
			t.Errorf("%s: page %d links: Newer %v, Newest %v, Older %v", step, n+1, has("prev"), has("first"), has("next"))
		}
	}
	check("the first page", 0)
	run(t, ctx, "Older", chromedp.Click(chromedp.CSS(`nav.pager a[rel="next"]`)))
	check("Older once", 1)
	run(t, ctx, "Older", chromedp.Click(chromedp.CSS(`nav.pager a[rel="next"]`)))
	check("Older twice", 2)
	shot(t, ctx, "runs-pager")
	run(t, ctx, "Newer", chromedp.Click(chromedp.CSS(`nav.pager a[rel="prev"]`)))
	check("Newer once", 1)
	run(t, ctx, "Newer", chromedp.Click(chromedp.CSS(`nav.pager a[rel="prev"]`)))
	check("Newer twice", 0)
	if loc := get(t, ctx, "location", chromedp.Location()); loc != base+"/runs" && loc != base+"/runs?" {
		t.Errorf("back on the first page at %s, want /runs", loc)
	}

	run(t, ctx, "a damaged cursor", chromedp.Navigate(base+"/runs?cursor=damaged&page=2"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := get(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); h != "Bad link" {
		t.Errorf("a damaged cursor shows %q, want Bad link", h)
	}
	if msg := get(t, ctx, "message", chromedp.Text(chromedp.CSS(`main .error`))); !strings.Contains(msg, "damaged") {
		t.Errorf("a damaged cursor's message: %q", msg)
	}
	run(t, ctx, "start again", chromedp.Click(chromedp.CSS(`main p a`)))
	check("start again", 0)
}
