package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/store"
)

// runIDs returns the identifiers of runs, in order.
func runIDs(rs []store.Run) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.Identifier
	}
	return ids
}

// matches is the reference implementation of a RunFilter.
func matches(f store.RunFilter, r store.Run) bool {
	in := func(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }
	return in(f.WorkflowIDs, r.WorkflowID) && in(f.Statuses, r.Status) && in(f.Results, r.Result) && in(f.CreatedBy, r.CreatedBy) &&
		in(f.RunIDs, r.Identifier) && (len(f.WorkflowVersions) == 0 || slices.Contains(f.WorkflowVersions, r.WorkflowVersion))
}

func testListRuns(t *testing.T, open opener) {
	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		// Runs are created out of time order; the list is newest first by
		// CreatedAt.
		specs := []struct {
			id, wf, by, result string
			i                  int
		}{
			{"wfr_a", "deploy", "ann", "", 4},
			{"wfr_b", "deploy", "bob", store.ResultSuccess, 1},
			{"wfr_c", "build", "ann", store.ResultFailed, 6},
			{"wfr_d", "test", "cid", store.ResultCancelled, 2},
			{"wfr_e", "build", "bob", "", 9},
			{"wfr_f", "deploy", "ann", store.ResultSuccess, 7},
			{"wfr_g", "test", "bob", store.ResultSuccess, 3},
		}
		var all []store.Run
		for _, sp := range specs {
			r := newRun(sp.id, sp.wf, sp.by, sp.i)
			r.WorkflowVersion = 1 + sp.i%3 // versions 1..3, for WorkflowVersions
			createRun(t, s, r)
			if sp.result != "" {
				must(t, "Apply finish "+sp.id, s.Apply(ctx(t), store.Transition{RunID: sp.id, Finish: &store.RunCompletion{Result: sp.result, CompletedAt: at(sp.i + 100)}}))
				r.Status, r.Result, r.UpdatedAt, r.CompletedAt = store.StatusCompleted, sp.result, at(sp.i+100), ptr(at(sp.i+100))
			}
			all = append(all, r)
		}
		newest := slices.Clone(all)
		slices.SortFunc(newest, func(a, b store.Run) int { return b.CreatedAt.Compare(a.CreatedAt) })

		filters := []store.RunFilter{
			{},
			{WorkflowIDs: []string{"deploy"}},
			{WorkflowIDs: []string{"deploy", "test"}},
			{Statuses: []string{store.StatusInProgress}},
			{Statuses: []string{store.StatusCompleted}},
			{Results: []string{store.ResultSuccess}},
			{Results: []string{store.ResultFailed, store.ResultCancelled}},
			{CreatedBy: []string{"ann"}},
			{CreatedBy: []string{"bob", "cid"}},
			{WorkflowIDs: []string{"deploy", "build"}, CreatedBy: []string{"ann"}, Statuses: []string{store.StatusCompleted}},
			{WorkflowIDs: []string{"test"}, Results: []string{store.ResultSuccess}},
			{WorkflowIDs: []string{"nothing"}},
			{RunIDs: []string{"wfr_b", "wfr_e", "wfr_missing"}},
			{RunIDs: []string{"wfr_b", "wfr_e"}, Statuses: []string{store.StatusInProgress}},
			{WorkflowVersions: []int{1}},
			{WorkflowIDs: []string{"deploy"}, WorkflowVersions: []int{2, 3}},
		}
		for _, f := range filters {
			t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
				var want []store.Run
				for _, r := range newest {
					if matches(f, r) {
						want = append(want, r)
					}
				}
				got, total, err := s.ListRuns(ctx(t), f)
				must(t, "ListRuns", err)
				if total != len(want) {
					t.Errorf("ListRuns total = %d, want %d", total, len(want))
				}
				if !slices.Equal(runIDs(got), runIDs(want)) {
					t.Fatalf("ListRuns = %v, want %v", runIDs(got), runIDs(want))
				}
				for i := range want {
					checkRun(t, fmt.Sprintf("ListRuns[%d]", i), got[i], want[i])
				}
			})
		}

		t.Run("ListInProgressRuns", func(t *testing.T) {
			got, err := s.ListInProgressRuns(ctx(t))
			must(t, "ListInProgressRuns", err)
			checker{t, "ListInProgressRuns"}.eq("oldest first", runIDs(got), []string{"wfr_a", "wfr_e"})
			for i, r := range got {
				want := all[slices.IndexFunc(all, func(a store.Run) bool { return a.Identifier == r.Identifier })]
				checkRun(t, fmt.Sprintf("ListInProgressRuns[%d]", i), r, want)
			}
		})
	})

	t.Run("LimitOffset", func(t *testing.T) {
		s := open(t)
		var ids []string // newest first
		for i := range 7 {
			id := fmt.Sprintf("wfr_%d", i)
			createRun(t, s, newRun(id, "deploy", "ann", i))
			ids = append([]string{id}, ids...)
		}
		cases := []struct {
			limit, offset int
			want          []string
		}{
			{0, 0, ids},
			{3, 0, ids[0:3]},
			{3, 3, ids[3:6]},
			{3, 6, ids[6:7]},
			{3, 7, nil},
			{3, 100, nil},
			{1, 2, ids[2:3]},
		}
		for _, tc := range cases {
			got, total, err := s.ListRuns(ctx(t), store.RunFilter{WorkflowIDs: []string{"deploy"}, Limit: tc.limit, Offset: tc.offset})
			must(t, "ListRuns", err)
			if total != len(ids) {
				t.Errorf("ListRuns(limit %d, offset %d) total = %d, want %d", tc.limit, tc.offset, total, len(ids))
			}
			if !slices.Equal(runIDs(got), tc.want) {
				t.Errorf("ListRuns(limit %d, offset %d) = %v, want %v", tc.limit, tc.offset, runIDs(got), tc.want)
			}
		}
	})

	t.Run("DefaultAndMaximumLimit", func(t *testing.T) {
		s := open(t)
		const n = 1001
		for i := range n {
			id := fmt.Sprintf("wfr_%04d", i)
			r := newRun(id, "deploy", "ann", i)
			must(t, "CreateRun", s.CreateRun(ctx(t), r, newNodeRun(id+"_0", id, "trigger", 0, i), nil))
		}
		for _, tc := range []struct{ limit, want int }{{0, 100}, {1000, 1000}, {5000, 1000}} {
			got, total, err := s.ListRuns(ctx(t), store.RunFilter{Limit: tc.limit})
			must(t, "ListRuns", err)
			if len(got) != tc.want || total != n {
				t.Errorf("ListRuns(limit %d) = %d runs of %d, want %d of %d", tc.limit, len(got), total, tc.want, n)
			}
			if len(got) > 0 && got[0].Identifier != fmt.Sprintf("wfr_%04d", n-1) {
				t.Errorf("ListRuns(limit %d) starts with %s, want the newest", tc.limit, got[0].Identifier)
			}
		}
	})
}

// testConcurrency drives many runs from many goroutines at once, with
// readers alongside; run it with -race.
func testConcurrency(t *testing.T, open opener) {
	s := open(t)
	const (
		workers = 8
		steps   = 10
	)
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Go(func() {
			runID := fmt.Sprintf("wfr_%d", w)
			cur := runID + "_0"
			if err := s.CreateRun(ctx(t), newRun(runID, "deploy", "ann", w), newNodeRun(cur, runID, "trigger", 0, w), nil); err != nil {
				errs <- fmt.Errorf("CreateRun %s: %w", runID, err)
				return
			}
			for i := 1; i <= steps; i++ {
				next := newNodeRun(fmt.Sprintf("%s_%d", runID, i), runID, fmt.Sprintf("node%d", i), i, i)
				tr := store.Transition{
					RunID:    runID,
					Complete: &store.NodeRunCompletion{NodeRunID: cur, Result: store.ResultSuccess, Output: redact.Reload(fmt.Appendf(nil, `{"step":%d}`, i)), CompletedAt: at(i)},
					Logs:     []store.Log{logLine(cur, "done", i)},
					Start:    &next,
				}
				if i == steps {
					tr.Start = nil
					tr.Finish = &store.RunCompletion{Result: store.ResultSuccess, CompletedAt: at(i)}
				}
				if err := s.Apply(ctx(t), tr); err != nil {
					errs <- fmt.Errorf("step %d of %s: apply: %w", i, runID, err)
					return
				}
				cur = next.Identifier
			}
		})
		wg.Go(func() {
			for range steps {
				if _, _, err := s.ListRuns(ctx(t), store.RunFilter{}); err != nil {
					errs <- fmt.Errorf("ListRuns: %w", err)
					return
				}
				if _, err := s.NodeRuns(ctx(t), fmt.Sprintf("wfr_%d", w)); err != nil {
					errs <- fmt.Errorf("NodeRuns: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for w := range workers {
		runID := fmt.Sprintf("wfr_%d", w)
		r, err := s.GetRun(ctx(t), runID)
		must(t, "GetRun", err)
		if r.Status != store.StatusCompleted || r.Result != store.ResultSuccess {
			t.Errorf("%s: %s %s, want COMPLETED SUCCESS", runID, r.Status, r.Result)
		}
		nrs, err := s.NodeRuns(ctx(t), runID)
		must(t, "NodeRuns", err)
		if len(nrs) != steps {
			t.Fatalf("%s: %d node runs, want %d", runID, len(nrs), steps)
		}
		for i, nr := range nrs {
			if nr.Seq != i || nr.Status != store.StatusCompleted {
				t.Errorf("%s: node run %d is seq %d %s, want seq %d COMPLETED", runID, i, nr.Seq, nr.Status, i)
			}
			logs, err := s.Logs(ctx(t), nr.Identifier)
			must(t, "Logs", err)
			if len(logs) != 1 {
				t.Errorf("%s: %d logs, want 1", nr.Identifier, len(logs))
			}
		}
	}
}

// newestFirst returns rs in the order run lists give: newest first, ties in
// time broken by the greater identifier.
func newestFirst(rs []store.Run) []store.Run {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b store.Run) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Identifier, a.Identifier)
	})
	return out
}
