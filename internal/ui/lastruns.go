package ui

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/view"
)

// lastRuns returns the newest run the session's person may view of each
// workflow in wfs (the API's list, so only workflows they may see), keyed
// by workflow identifier.
//
// A store that reads them all at once (store.LatestRunsReader) answers in
// one read, with the run list's visibility rule: every run for those who
// may view every run (authz.CanViewAllRuns), otherwise their own and those
// of public versions (store.RunViewer), exactly as GET /v1/workflows/runs
// filters. Other stores get one run list per workflow through the API.
func (u *UI) lastRuns(r *http.Request, s *session, wfs []definition) (map[string]runSummary, error) {
	out := make(map[string]runSummary, len(wfs))
	if len(wfs) == 0 {
		return out, nil
	}
	if lr, ok := u.st.(store.LatestRunsReader); ok {
		ids := make([]string, 0, len(wfs))
		for _, d := range wfs {
			ids = append(ids, d.Identifier)
		}
		var viewer *store.RunViewer
		if !authz.CanViewAllRuns(s.actor) {
			viewer = &store.RunViewer{ActorID: s.actor.ID}
		}
		runs, err := lr.LatestRuns(r.Context(), ids, viewer)
		if err != nil {
			return nil, fmt.Errorf("the last run of each workflow: %w", err)
		}
		for id, run := range runs {
			out[id] = view.Summary(run)
		}
		return out, nil
	}
	for _, d := range wfs {
		runs, _, err := u.listRuns(r, s, url.Values{"workflowIdentifiers": {d.Identifier}, "limit": {"1"}})
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 {
			out[d.Identifier] = runs[0]
		}
	}
	return out, nil
}
