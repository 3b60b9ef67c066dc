package ui

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
)

// chromiumPath finds Debian's chromium; .ci/run installs it. The browser
// tests fail without it (set SLUICE_TEST_SKIP_BROWSER=1 to skip them
// outside CI).
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("SLUICE_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("SLUICE_TEST_SKIP_BROWSER") == "1" {
		t.Skip("no chromium and SLUICE_TEST_SKIP_BROWSER=1")
	}
	t.Fatal("no chromium: apt-get install -y chromium (or SLUICE_TEST_SKIP_BROWSER=1 to skip the browser tests)")
	return ""
}

// newChrome starts a headless chromium with a fresh profile and returns a
// tab's context.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser without a timeout
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs steps with a generous deadline.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	defer func() { t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond)) }()
	if err := chromedp.Do(c, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, html)
	}
}

func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		v, err := chromedp.Run(c, a)
		// A node found in the document that a navigation (a form's POST,
		// then its page) replaced a moment later: look it up again in the
		// new one. Any other error, or the deadline, fails.
		if err != nil && c.Err() == nil && (strings.Contains(err.Error(), "No node with given id found") ||
			strings.Contains(err.Error(), "Cannot find context with specified id")) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// waitFor evaluates cond until it is true, across navigations.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %s is still not true", what, cond)
}

// shot saves a screenshot of the page when SLUICE_UI_SCREENSHOTS names a
// directory (to look at the pages; they are not committed).
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("SLUICE_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	b := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100) /* 100: PNG */)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signInSteps(base, email, pw string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/workflows"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), pw),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
	)
}

func signOut(t *testing.T, ctx context.Context) {
	run(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`.who button`)), chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)))
}

// pageHTML returns the whole document's HTML, attributes and scripts'
// text included.
func pageHTML(t *testing.T, ctx context.Context) string {
	return get(t, ctx, "page HTML", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
}

// TestBrowser drives a real headless chromium through the UI: sign-in,
// what a Member may see, a run started from the form (a validation error
// first) and watched to its end without a reload, a masked output, a
// cancel, and secrets created and replaced without their value ever
// coming back.
func TestBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := newChrome(t)
	base := e.hs.URL
	private := e.startAs(e.admin, "private", nil)
	e.waitRun(private)

	// A wrong password: the form again, with a generic error.
	run(t, ctx, "wrong password", signInSteps(base, "ann@example.com", "not the password"), chromedp.WaitVisible(chromedp.ID("login-error")))
	if msg := get(t, ctx, "error text", chromedp.Text(chromedp.ID("login-error"))); msg != errSignIn {
		t.Errorf("sign-in error = %q", msg)
	}
	shot(t, ctx, "login-error")

	// A Member signs in and sees the workflows they may run, only.
	run(t, ctx, "member sign-in", signInSteps(base, "ann@example.com", password), chromedp.WaitVisible(chromedp.CSS(`.who`)))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/workflows") {
		t.Fatalf("after sign-in at %s, want /workflows", loc)
	}
	list := get(t, ctx, "workflow list", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(list, "Deploy a service") || !strings.Contains(list, "Wait for a callback") || strings.Contains(list, "Private job") {
		t.Errorf("a Member's /workflows:\n%s", list)
	}
	if strings.Contains(pageHTML(t, ctx), `href="/secrets"`) {
		t.Error("a Member is offered the secrets page")
	}
	shot(t, ctx, "workflows")

	// Not an Admin's private run: neither in /runs nor by URL.
	run(t, ctx, "runs", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	if strings.Contains(pageHTML(t, ctx), private) {
		t.Error("/runs shows a Member an Admin's private run")
	}
	run(t, ctx, "private run by URL", chromedp.Navigate(base+"/runs/"+private), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := get(t, ctx, "h1", chromedp.Text(chromedp.CSS("h1"))); h != "Not found" {
		t.Errorf("a Member opening an Admin's private run sees %q, want Not found", h)
	}

	// The run form: the API's validation error beside its field first.
	run(t, ctx, "workflow page", chromedp.Navigate(base+"/workflows/deploy"), chromedp.WaitVisible(chromedp.ID("run-submit")))
	if n := get(t, ctx, "graph boxes", chromedp.Evaluate[int](`document.querySelectorAll(".graph g.node").length`)); n != 5 {
		t.Errorf("the graph has %d nodes, want 5", n)
	}
	if lbl := get(t, ctx, "outlet label", chromedp.TextContent(chromedp.CSS(".graph .edge-label"))); lbl != "Production" {
		t.Errorf("the first outlet label = %q, want Production", lbl)
	}
	shot(t, ctx, "workflow")
	run(t, ctx, "submit with a bad ticket",
		chromedp.SendKeys(chromedp.ID("in-ticket"), "not a ticket"),
		chromedp.Click(chromedp.ID("run-submit")),
		chromedp.WaitVisible(chromedp.ID("err-ticket")))
	if msg := get(t, ctx, "field error", chromedp.Text(chromedp.ID("err-ticket"))); !strings.Contains(msg, "pattern") && !strings.Contains(msg, "match") {
		t.Errorf("the ticket's error = %q, want the API's pattern error", msg)
	}
	shot(t, ctx, "workflow-invalid")
	if v := get(t, ctx, "value kept", chromedp.Value(chromedp.ID("in-ticket"))); v != "not a ticket" {
		t.Errorf("the form lost the value typed: %q", v)
	}

	// A valid run: the page shows it in progress, then finished, without a
	// reload (a marker set on the window survives).
	run(t, ctx, "submit a valid form",
		chromedp.SetValue(chromedp.ID("in-ticket"), "OPS-12"),
		chromedp.Click(chromedp.ID("run-submit")),
		chromedp.WaitVisible(chromedp.ID("run-status")))
	if s := get(t, ctx, "status", chromedp.Text(chromedp.ID("run-status"))); s != "IN PROGRESS" {
		t.Fatalf("a new run's status = %q", s)
	}
	get(t, ctx, "marker", chromedp.Evaluate[bool](`window.__sluiceNoReload = true`))
	shot(t, ctx, "run-in-progress")
	close(e.release) // the gate's webhook answers now
	run(t, ctx, "the run finishes", chromedp.WaitVisible(chromedp.CSS(`#live[data-live-done] #run-status .st-success`)))
	if !get(t, ctx, "marker kept", chromedp.Evaluate[bool](`window.__sluiceNoReload === true`)) {
		t.Error("the page reloaded to show the run finish")
	}
	html := pageHTML(t, ctx)
	if strings.Contains(html, secretValue) {
		t.Fatal("the run page holds the secret value")
	}
	out := get(t, ctx, "staging output", chromedp.Evaluate[string](`document.querySelector('.noderun[data-node="staging"] .output').textContent`))
	if !strings.Contains(out, `"echo": "***"`) {
		t.Errorf("the echoed token is not shown masked:\n%s", out)
	}
	if n := get(t, ctx, "path taken", chromedp.Evaluate[int](`document.querySelectorAll(".graph path.edge.taken").length`)); n != 3 {
		t.Errorf("%d connections drawn as taken, want 3 (trigger→gate→route→staging)", n)
	}
	if c := get(t, ctx, "prod not run", chromedp.Evaluate[string](`document.querySelector('.graph g[data-node="prod"]').getAttribute("class")`)); c != "node st-none" {
		t.Errorf("the branch not taken is drawn as %q", c)
	}
	shot(t, ctx, "run-done")

	// Cancel a run that waits for a callback.
	run(t, ctx, "waiter", chromedp.Navigate(base+"/workflows/waiter"), chromedp.Click(chromedp.ID("run-submit")), chromedp.WaitVisible(chromedp.ID("cancel")))
	waiting := get(t, ctx, "waiting hint", chromedp.Text(chromedp.CSS(".noderun .hint")))
	if !strings.Contains(waiting, "PATCH /v1/workflows/nodes/runs/") {
		t.Errorf("no completion hint for the waiting node: %q", waiting)
	}
	// A node run that has reported no output shows no Output section (not "null").
	if n := get(t, ctx, "waiting node's output", chromedp.Evaluate[int](`Array.from(document.querySelectorAll(".noderun")).filter(a => a.querySelector(".hint") && a.querySelector(".output")).length`)); n != 0 {
		t.Errorf("the waiting node without output shows an Output section")
	}
	shot(t, ctx, "run-waiting")
	run(t, ctx, "cancel", chromedp.Click(chromedp.ID("cancel")), chromedp.WaitVisible(chromedp.CSS(`#run-status .st-cancelled`)))
	loc := get(t, ctx, "location", chromedp.Location())
	r, err := e.st.GetRun(t.Context(), loc[strings.LastIndex(loc, "/")+1:])
	if err != nil || r.Result != store.ResultCancelled {
		t.Errorf("the cancelled run in the store: %+v, %v", r, err)
	}
	signOut(t, ctx)

	// An Admin creates and replaces a secret; its value never comes back.
	const v1, v2 = "first-value-8c1d2e", "second-value-4b7a90"
	run(t, ctx, "admin sign-in", signInSteps(base, "root@example.com", password), chromedp.WaitVisible(chromedp.CSS(`a[href="/secrets"]`)))
	run(t, ctx, "create a secret", chromedp.Navigate(base+"/secrets"), chromedp.WaitVisible(chromedp.ID("new-secret")),
		chromedp.SendKeys(chromedp.ID("s-name"), "UI_SECRET"),
		chromedp.SendKeys(chromedp.ID("s-value"), v1),
		chromedp.SendKeys(chromedp.ID("s-desc"), "made in the browser"),
		chromedp.Submit(chromedp.ID("s-name")),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitVisible(chromedp.ID("secret-UI_SECRET")))
	if h := pageHTML(t, ctx); strings.Contains(h, v1) || strings.Contains(h, secretValue) {
		t.Error("the secrets page holds a secret value")
	}
	shot(t, ctx, "secrets")
	run(t, ctx, "replace the value",
		chromedp.Click(chromedp.CSS(`#secret-UI_SECRET details summary`)),
		chromedp.SendKeys(chromedp.ID("v-UI_SECRET"), v2),
		chromedp.Submit(chromedp.ID("v-UI_SECRET")))
	waitFor(t, ctx, "the updated notice", `document.querySelector(".notice")?.textContent === "Secret updated."`)
	if h := pageHTML(t, ctx); strings.Contains(h, v1) || strings.Contains(h, v2) {
		t.Error("the secrets page holds a secret value after replacing it")
	}
	got, err := e.svc.Resolve(t.Context(), secret.ResolveRef{RunID: "test"}, []string{"UI_SECRET"})
	if err != nil || got["UI_SECRET"] != v2 {
		t.Errorf("the stored value after replacing is not the new one (err %v)", err)
	}
	// A narrow screen, for the record.
	run(t, ctx, "narrow", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, "runs-390")
}
