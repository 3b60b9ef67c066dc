package retention

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"30d", 30 * 24 * time.Hour, false},
		{" 7d ", 7 * 24 * time.Hour, false},
		{"0d", 0, false},
		{"720h", 720 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"1m", time.Minute, false},
		{"30s", 0, true}, // shorter than MinPeriod
		{"-1h", 0, true},
		{"-3d", 0, true},
		{"1.5d", 0, true},
		{"d", 0, true},
		{"30", 0, true},
		{"thirty days", 0, true},
		{"99999999999999d", 0, true},
	}
	for _, tt := range tests {
		got, err := ParsePeriod(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if back, err := ParsePeriod(FormatPeriod(got)); err != nil || back != got {
				t.Errorf("ParsePeriod(FormatPeriod(%v) = %q) = %v, %v", got, FormatPeriod(got), back, err)
			}
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"30d", "720h", "0", "", "-1d", "1h30m", "9223372036854775807d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if d < 0 || (d > 0 && d < MinPeriod) {
			t.Fatalf("ParsePeriod(%q) = %v, outside what it accepts", s, d)
		}
		if back, err := ParsePeriod(FormatPeriod(d)); err != nil || back != d {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, d, FormatPeriod(d), back, err)
		}
	})
}

// seed writes n runs completed at base+i minutes (created a second
// before), one run in progress since long before, and n audit events at
// base+i minutes, on a real SQLite store.
func seed(t *testing.T, s *sqlite.Store, base time.Time, n int) {
	t.Helper()
	ctx := t.Context()
	mk := func(id string, at time.Time, finish bool) {
		r := store.Run{Identifier: id, WorkflowID: "wf", WorkflowVersion: 1, Status: store.StatusInProgress,
			CreatedBy: "ann", TriggerNode: "trigger", CreatedAt: at.Add(-time.Second), UpdatedAt: at.Add(-time.Second)}
		nr := store.NodeRun{Identifier: id + "_0", RunID: id, NodeID: "trigger", Status: store.StatusInProgress, CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt}
		if err := s.CreateRun(ctx, r, nr, nil); err != nil {
			t.Fatal(err)
		}
		if finish {
			if err := s.Apply(ctx, store.Transition{RunID: id, Finish: &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("wfr_running", base.Add(-24*time.Hour), false)
	var evs []store.AuditEvent
	for i := range n {
		at := base.Add(time.Duration(i) * time.Minute)
		mk(fmt.Sprintf("wfr_%02d", i), at, true)
		evs = append(evs, store.AuditEvent{Action: "secret.resolve", Actor: "ann", Secret: "S", CreatedAt: at})
	}
	if err := s.AddAudit(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlitetest.Open(t.Context(), filepath.Join(t.TempDir(), "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSweep runs one sweep with small batches on a real store: it deletes
// the runs completed and the events written before the cutoffs, in
// batches, and keeps the rest and the run in progress.
func TestSweep(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		runs, audit      time.Duration
		wantRuns, wantEv int
	}{
		// now = base+20m: runs completed before base+10m are 10 (0..9).
		{"both", 10 * time.Minute, 15 * time.Minute, 10, 5},
		{"runs only", 10 * time.Minute, 0, 10, 0},
		{"audit only", 0, 5 * time.Minute, 0, 15},
		{"nothing old enough", 30 * time.Minute, 30 * time.Minute, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			seed(t, s, base, 20)
			var (
				mu      sync.Mutex
				batches = map[string][]int{}
			)
			o := Options{Runs: tt.runs, Audit: tt.audit, Batch: 3, Pause: -1,
				Now:       func() time.Time { return base.Add(20 * time.Minute) },
				OnDeleted: func(kind string, n int) { mu.Lock(); batches[kind] = append(batches[kind], n); mu.Unlock() }}
			runs, audit, err := Sweep(t.Context(), s, o)
			if err != nil {
				t.Fatal(err)
			}
			if runs != tt.wantRuns || audit != tt.wantEv {
				t.Errorf("Sweep deleted %d runs, %d audit events; want %d, %d", runs, audit, tt.wantRuns, tt.wantEv)
			}
			for kind, ns := range batches {
				for _, n := range ns {
					if n > 3 {
						t.Errorf("a batch of %s deleted %d, more than the batch size 3", kind, n)
					}
				}
			}
			if _, err := s.GetRun(t.Context(), "wfr_running"); err != nil {
				t.Errorf("the run in progress is gone: %v", err)
			}
			_, total, err := s.ListRuns(t.Context(), store.RunFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if want := 21 - tt.wantRuns; total != want {
				t.Errorf("%d runs left, want %d", total, want)
			}
			evs, err := s.ListAudit(t.Context(), 1000, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := 20 - tt.wantEv; len(evs) != want {
				t.Errorf("%d audit events left, want %d", len(evs), want)
			}
		})
	}
}

// TestRunStopsWithContext checks that Run sweeps at once and returns when
// its context ends.
func TestRunStopsWithContext(t *testing.T) {
	s := openStore(t)
	base := time.Now().Add(-time.Hour)
	seed(t, s, base, 5)
	ctx, cancel := context.WithCancel(t.Context())
	swept := make(chan struct{})
	var once sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, s, Options{Runs: time.Minute, Interval: time.Hour,
			OnDeleted: func(string, int) { once.Do(func() { close(swept) }) }})
	}()
	select {
	case <-swept:
	case <-time.After(30 * time.Second):
		t.Fatal("Run deleted nothing within 30s")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, total, _ := s.ListRuns(t.Context(), store.RunFilter{}); total != 1 {
		t.Errorf("%d runs left, want the one in progress", total)
	}
}
