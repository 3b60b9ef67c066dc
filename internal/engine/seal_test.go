package engine_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
	"github.com/sluice-run/sluice/internal/view"
	"github.com/sluice-run/sluice/internal/workflow"
)

// sealed is a sluice process with sealing on: a SQLite file, a key file
// and the secret service over them, and an engine that takes its secrets
// (and its Sealer) from that service.
type sealed struct {
	t      *testing.T
	dbPath string
	keyDir string
	st     *sqlite.Store
	svc    *secret.Service
	eng    *engine.Engine
	extra  map[string]node.Executor
	now    func() time.Time
}

const (
	oldToken = "TOK-ABCDEF0123456789"
	newToken = "TOK-NEWNEWNEW0000000"
	derived  = "tok-abcdef0123456789" // {{ .secrets.TOKEN | ascii_downcase }} before the change
	oldOther = "other-0123456789"
)

func newSealed(t *testing.T, extra map[string]node.Executor) *sealed {
	t.Helper()
	dir := t.TempDir()
	p := &sealed{t: t, dbPath: filepath.Join(dir, "sluice.db"), keyDir: dir, extra: extra, now: time.Now}
	p.open()
	ctx := context.Background()
	for name, v := range map[string]string{"TOKEN": oldToken, "OTHER": oldOther} {
		if _, err := p.svc.Create(ctx, "admin", name, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// open starts the process: store, key ring, service, engine.
func (p *sealed) open() {
	t := p.t
	t.Helper()
	ctx := context.Background()
	st, err := sqlitetest.Open(ctx, p.dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secret.LoadKeyRing(secret.KeyOptions{DataDir: p.keyDir, Env: func(string) string { return "" }, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := secret.Open(ctx, st, ring)
	if err != nil {
		t.Fatal(err)
	}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	for typ, ex := range p.extra {
		reg.Register(typ, ex)
	}
	p.st, p.svc = st, svc
	p.eng = engine.New(engine.Options{Store: st, Nodes: reg, Secrets: svc, Now: func() time.Time { return p.now() }})
	t.Cleanup(func() { st.Close() })
}

// restart is a new process over the same store and key file.
func (p *sealed) restart() {
	p.t.Helper()
	if err := p.st.Close(); err != nil {
		p.t.Fatal(err)
	}
	p.open()
}

func (p *sealed) start(def string) string {
	p.t.Helper()
	ctx := context.Background()
	wf, problems := workflow.Parse([]byte(def))
	if err := problems.Err(); err != nil {
		p.t.Fatalf("parse: %v", err)
	}
	rec, err := p.st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "t"})
	if err != nil {
		p.t.Fatal(err)
	}
	run, err := p.eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: rec.Version, Actor: engine.Actor{ID: "user@example.com"}})
	if err != nil {
		p.t.Fatalf("start: %v", err)
	}
	if _, err := p.eng.Execute(ctx, run.Identifier); err != nil {
		p.t.Fatalf("execute: %v", err)
	}
	return run.Identifier
}

func (p *sealed) view(runID string) view.Run {
	p.t.Helper()
	v, err := view.Load(context.Background(), p.st, runID)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

func (p *sealed) seals(runID string) []store.SealedValues {
	p.t.Helper()
	rows, err := p.st.RunSeals(context.Background(), runID)
	if err != nil {
		p.t.Fatal(err)
	}
	return rows
}

// echoes are the old values in several forms, as a remote system might
// send them back.
func echoes() []string {
	return []string{oldToken, derived, oldOther,
		base64.StdEncoding.EncodeToString([]byte(oldOther)),
		base64.StdEncoding.EncodeToString([]byte(derived)),
		"Bearer " + derived + "!"}
}

// TestSealedRedactorAcrossChanges: a node waits on an async WEBHOOK whose
// headers use TOKEN (derived) and OTHER; TOKEN is changed and OTHER deleted
// during the wait, with or without a restart and a key rotation; the
// completion echoes the old values in several forms. Every one is masked,
// not conservatively: the completion's other fields stay readable.
func TestSealedRedactorAcrossChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		restart bool
		rotate  bool
	}{
		{name: "dropped at the wait"},
		{name: "restart", restart: true},
		{name: "rotation", rotate: true},
		{name: "rotation and restart", rotate: true, restart: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rcv := newReceiver(t)
			p := newSealed(t, nil)
			runID := p.start(`{"identifier": "sealed", "nodes": [` + trigger + `,
				{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
				  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}", "X-Other": "{{ .secrets.OTHER }}"}}}],
				"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
			if got := rcv.requests(); len(got) != 1 || got[0].Header.Get("X-Token") != derived {
				t.Fatalf("the webhook was not called with the derived token: %+v", got)
			}
			if s := p.eng.Stats(); s.Redactors != 0 || s.Started != 0 || s.Locks != 0 {
				t.Errorf("a waiting run keeps memory: %+v", s)
			}
			if rows := p.seals(runID); len(rows) == 0 || !rows[0].Origin {
				t.Fatalf("sealed rows = %+v, want an origin row", rows)
			}
			if _, err := p.svc.Update(ctx, "admin", "TOKEN", new(newToken), nil); err != nil {
				t.Fatal(err)
			}
			if err := p.svc.Delete(ctx, "admin", "OTHER"); err != nil {
				t.Fatal(err)
			}
			if tc.rotate {
				if _, err := p.svc.Rotate(ctx, "admin"); err != nil {
					t.Fatal(err)
				}
				primary := p.svc.Ring().PrimaryKeyID()
				for _, r := range p.seals(runID) {
					if r.KeyID != primary {
						t.Errorf("sealed row %d is under key %s after the rotation to %s", r.ID, r.KeyID, primary)
					}
				}
			}
			if tc.restart {
				p.restart()
			}
			wait := p.view(runID).NodeRuns[1].Identifier
			var logs []engine.LogLine
			out := map[string]any{"status": "deployed", "count": 12345678}
			for i, e := range echoes() {
				out["echo"+string(rune('a'+i))] = e
				logs = append(logs, engine.LogLine{Level: "INFO", Message: "deployed with " + e, Tags: map[string]string{"k": e}})
			}
			if _, err := p.eng.CompleteNodeRun(ctx, wait, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: out, Logs: logs}); err != nil {
				t.Fatal(err)
			}
			if _, err := p.eng.Execute(ctx, runID); err != nil {
				t.Fatal(err)
			}
			v := p.view(runID)
			b, _ := json.Marshal(v)
			for _, e := range append(echoes(), newToken) {
				if strings.Contains(string(b), e) {
					t.Errorf("stored and shown in clear: %q", e)
				}
			}
			got := output(t, v, "wait")
			if got["status"] != "deployed" || got["count"] != float64(12345678) {
				t.Errorf("output = %v: masked conservatively, want the other fields readable", got)
			}
			if got["echoa"] != "***" {
				t.Errorf("output echo = %v, want ***", got["echoa"])
			}
			if l := v.NodeRuns[1].NodeRunLogs; len(l) < 2 || l[1].Log != "deployed with ***" || l[1].Tags["k"] != "***" {
				t.Errorf("logs = %+v, want readable lines with the values masked", l)
			}
			if result(v) != "COMPLETED SUCCESS" {
				t.Errorf("run = %s", result(v))
			}
			if rows := p.seals(runID); len(rows) != 0 {
				t.Errorf("sealed rows of a finished run = %d, want none", len(rows))
			}
			if s := p.eng.Stats(); s.Redactors != 0 {
				t.Errorf("after the run ended the engine keeps %d redactors", s.Redactors)
			}
		})
	}
}

// resolveOnly hides the service's Sealer: an engine of before sealing.
type resolveOnly struct{ svc *secret.Service }

func (r resolveOnly) Resolve(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	return r.svc.Resolve(ctx, ref, names)
}

// TestUnsealedRunStaysConservative: a run started by an engine that did not
// seal (no origin row) is recognised after the upgrade, and its completion
// is masked whole when the waiting node cannot be re-derived.
func TestUnsealedRunStaysConservative(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rcv := newReceiver(t)
	p := newSealed(t, nil)
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{})
	old := p.eng
	p.eng = engine.New(engine.Options{Store: p.st, Nodes: reg, Secrets: resolveOnly{p.svc}})
	runID := p.start(`{"identifier": "legacy", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
	if rows := p.seals(runID); len(rows) != 0 {
		t.Fatalf("an engine without a sealer sealed %d rows", len(rows))
	}
	if err := p.svc.Delete(ctx, "admin", "TOKEN"); err != nil {
		t.Fatal(err)
	}
	p.eng = old // the upgraded process
	wait := p.view(runID).NodeRuns[1].Identifier
	if _, err := p.eng.CompleteNodeRun(ctx, wait, engine.Completion{Status: "COMPLETED", Result: "SUCCESS",
		Output: map[string]any{"echo": derived, "status": "deployed"},
		Links:  []string{"https://ci.example/" + derived},
		Logs: []engine.LogLine{
			{Level: "INFO", Message: "deployed with " + derived, Tags: map[string]string{"token": derived, "stage": "prod"}},
			{Level: "INFO", Message: "done", TagList: []string{derived, "workflow_completion"}},
		}}); err != nil {
		t.Fatal(err)
	}
	v := p.view(runID)
	got := output(t, v, "wait")
	if got["echo"] != "***" || got["status"] != "***" {
		t.Errorf("output = %v, want masked whole (the run has no origin row)", got)
	}
	// Every text the completion carries is masked whole, not only the
	// output: links, log lines, and log tags given as an object or a list.
	nr := v.NodeRuns[1]
	if len(nr.Links) != 1 || nr.Links[0] != "***" {
		t.Errorf("links = %q, want one link masked whole", nr.Links)
	}
	var logs []view.Log
	for _, l := range nr.NodeRunLogs {
		if l.Log == "***" {
			logs = append(logs, l)
		}
		if strings.Contains(l.Log, derived) {
			t.Errorf("a log line shows the derived value: %q", l.Log)
		}
	}
	if len(logs) != 2 {
		t.Fatalf("logs = %+v, want the completion's two lines masked whole", nr.NodeRunLogs)
	}
	// Keys of 4 bytes or more are masked too (a remote system may echo a
	// derived value as a key), so the two keys merge into one.
	if len(logs[0].Tags) != 1 || logs[0].Tags["***"] != "***" {
		t.Errorf("object tags = %v, want every key and value masked whole", logs[0].Tags)
	}
	if len(logs[1].TagList) != 2 || logs[1].TagList[0] != "***" || logs[1].TagList[1] != "***" {
		t.Errorf("list tags = %q, want each tag masked whole", logs[1].TagList)
	}
}

// TestSealedRowsGoneByEveryPath: a run's sealed rows are deleted when it
// finishes, whatever the path.
func TestSealedRowsGoneByEveryPath(t *testing.T) {
	t.Parallel()
	const def = `{"identifier": "paths", "nodes": [` + trigger + `,
		{"identifier": "publish", "config": {"type": "KAFKA", "payload": {"t": "{{ .secrets.TOKEN | ascii_downcase }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "publish"}]}`
	tests := []struct {
		name string
		end  func(t *testing.T, p *sealed, runID, wait string)
		want string
	}{
		{"completion", func(t *testing.T, p *sealed, _, wait string) {
			complete(t, p, wait, engine.Completion{Status: "COMPLETED", Result: "SUCCESS", Output: map[string]any{}})
		}, "COMPLETED SUCCESS"},
		{"failure", func(t *testing.T, p *sealed, _, wait string) {
			complete(t, p, wait, engine.Completion{Status: "COMPLETED", Result: "FAILED", Output: map[string]any{}})
		}, "COMPLETED FAILED"},
		{"cancelled completion", func(t *testing.T, p *sealed, _, wait string) {
			complete(t, p, wait, engine.Completion{Status: "COMPLETED", Result: "CANCELLED"})
		}, "COMPLETED CANCELLED"},
		{"cancel", func(t *testing.T, p *sealed, runID, _ string) {
			if _, err := p.eng.Cancel(context.Background(), runID); err != nil {
				t.Fatal(err)
			}
		}, "COMPLETED CANCELLED"},
		{"expiry", func(t *testing.T, p *sealed, runID, _ string) {
			p.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			runs, err := p.eng.ExpireDue(context.Background(), 0)
			if err != nil || len(runs) != 1 {
				t.Fatalf("ExpireDue = %v, %v; want the run", runs, err)
			}
			if _, err := p.eng.Execute(context.Background(), runID); err != nil {
				t.Fatal(err)
			}
		}, "COMPLETED FAILED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec := funcExec(func(ctx context.Context, req *node.Request) (node.Result, error) {
				return node.Result{Pending: true, WaitUntil: time.Now().Add(time.Hour)}, nil
			})
			p := newSealed(t, map[string]node.Executor{workflow.TypeKafka: exec})
			runID := p.start(def)
			if rows := p.seals(runID); len(rows) == 0 {
				t.Fatal("no sealed rows while the run waits")
			}
			tc.end(t, p, runID, p.view(runID).NodeRuns[1].Identifier)
			if got := result(p.view(runID)); got != tc.want {
				t.Errorf("run = %s, want %s", got, tc.want)
			}
			if rows := p.seals(runID); len(rows) != 0 {
				t.Errorf("sealed rows after %s = %d, want none", tc.name, len(rows))
			}
		})
	}
}

func complete(t *testing.T, p *sealed, wait string, c engine.Completion) {
	t.Helper()
	if _, err := p.eng.CompleteNodeRun(context.Background(), wait, c); err != nil {
		t.Fatal(err)
	}
}

// TestSealedValuesNeverInClear reads the SQLite file and its WAL while a run
// waits with sealed values: no value the run used is there in clear.
func TestSealedValuesNeverInClear(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	p := newSealed(t, nil)
	runID := p.start(`{"identifier": "leak", "nodes": [` + trigger + `,
		{"identifier": "wait", "config": {"type": "WEBHOOK", "url": "` + rcv.URL + `/accept", "synchronized": false,
		  "headers": {"X-Token": "{{ .secrets.TOKEN | ascii_downcase }}", "X-Other": "{{ .secrets.OTHER | @base64 }}"}}}],
		"connections": [{"sourceIdentifier": "trigger", "targetIdentifier": "wait"}]}`)
	if rows := p.seals(runID); len(rows) < 2 {
		t.Fatalf("sealed rows = %d, want the origin row and the node's", len(rows))
	}
	var raw []byte
	for _, f := range []string{p.dbPath, p.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if len(raw) == 0 {
		t.Fatal("read nothing of the database")
	}
	for _, v := range []string{oldToken, derived, oldOther, base64.StdEncoding.EncodeToString([]byte(oldOther))} {
		if bytes.Contains(raw, []byte(v)) {
			t.Errorf("the database holds %q in clear", v)
		}
	}
}
