package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/traceparent"
	"github.com/sluice-run/sluice/internal/view"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Run list paging.
const (
	defaultRunLimit = 100
	maxRunLimit     = 1000
)

type startBody struct {
	Inputs map[string]any `json:"inputs"`
	// Trigger names the trigger node; empty picks the only self-serve one.
	Trigger string `json:"trigger"`
}

// startRun creates a run and drives it in the background: 201 with the run
// as created (IN_PROGRESS). A workflow the caller may not execute is a 404.
func (s *Server) startRun(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	id := r.PathValue("identifier")
	wf, version, err := s.latestWorkflow(r.Context(), id)
	if err != nil {
		return err
	}
	if !authz.CanSeeWorkflow(a, wf) {
		return notFound("workflow %s not found", id)
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body startBody
	if len(data) > 0 {
		if err := decodeBody(data, &body); err != nil {
			return runBodyHint(err)
		}
	}
	// A trigger that is not there is the caller's mistake (400), whoever
	// they are; only a real trigger's permissions can forbid (403).
	if err := engine.CheckTrigger(wf, body.Trigger); err != nil {
		return invalidField("trigger", "%s", strings.TrimPrefix(err.Error(), engine.ErrNotTrigger.Error()+": "))
	}
	allowed := authz.CanExecute(a, wf)
	if body.Trigger != "" {
		allowed = authz.CanExecuteTrigger(a, wf.Node(body.Trigger))
	}
	// A trigger's permission policy may allow one more caller; it reads
	// the form, so it is decided when the run is created (policy.go).
	var authorize func(context.Context, map[string]any) error
	if t := policyTrigger(wf, body.Trigger); !allowed && authz.HasPolicy(a, t) {
		allowed, authorize = true, s.policyCheck(a, wf, version, t)
	}
	switch {
	case !allowed && body.Trigger != "":
		return forbidden("you may not start workflow %s through trigger %s", id, body.Trigger)
	case !allowed:
		return forbidden("you may not start workflow %s", id)
	}
	// The run's slot in the pool is taken before the run is created: when
	// the server drives as many runs as it may, nothing is created.
	if !s.trySlot() {
		return s.busy()
	}
	slotted := false
	defer func() {
		if !slotted {
			s.releaseSlot()
		}
	}()
	// A W3C traceparent joins the run to the caller's trace; a malformed
	// one is ignored, as W3C says (decision 029).
	parent, _ := traceparent.FromRequest(r)
	run, err := s.eng.Start(r.Context(), engine.StartRequest{
		Workflow: wf, Version: version, Trigger: body.Trigger, Inputs: body.Inputs,
		Actor:       engine.Actor{ID: a.ID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName},
		Authorize:   authorize,
		TraceParent: parent,
	})
	var ie *engine.InputError
	switch {
	case errors.As(err, &ie):
		e := &Error{Status: http.StatusBadRequest, Code: codeInvalidInputs, Message: ie.Error()}
		for _, p := range ie.Problems {
			e.Details = append(e.Details, Detail{Path: p.Path, Message: p.Message})
		}
		return e
	case errors.Is(err, engine.ErrNotTrigger):
		return invalidField("trigger", "%s", strings.TrimPrefix(err.Error(), engine.ErrNotTrigger.Error()+": "))
	case errors.Is(err, authz.ErrPolicyDenied):
		return forbidden("%s", err.Error())
	case err != nil:
		return fmt.Errorf("start a run of %s: %w", id, err)
	}
	s.metrics.runsStarted.Inc()
	// The run as created, with Port's nodeRuns (the trigger's) and
	// variables, shaped from what Start stored before it is driven on, not
	// read back (two SELECTs less per run). A run is created without logs.
	opts := view.LoadOptions{Definition: s.eng.Definition}
	var created view.Run
	if nrs, ok := s.eng.CreatedNodeRuns(run.Identifier); ok {
		created, err = view.Build(r.Context(), s.st, run, nrs, opts)
	} else {
		created, err = view.LoadWith(r.Context(), s.st, run.Identifier, opts)
	}
	if err != nil {
		created = view.Summary(run)
	}
	slotted = true
	s.drive(run.Identifier, false)
	writeJSON(w, http.StatusCreated, ok("workflowRun", created))
	return nil
}

// latestWorkflow returns the newest version of a workflow that is not
// deleted, compiled, and its number; a 404 when there is none. A store that
// tells the number alone (store.LatestVersionReader) spares reading the
// definition, which the engine caches by version.
func (s *Server) latestWorkflow(ctx context.Context, id string) (*workflow.Workflow, int, error) {
	if lv, ok := s.st.(store.LatestVersionReader); ok {
		version, err := lv.LatestWorkflowVersion(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, 0, notFound("workflow %s not found", id)
		case err != nil:
			return nil, 0, fmt.Errorf("get workflow %s: %w", id, err)
		}
		wf, err := s.eng.Definition(ctx, id, version)
		if err != nil {
			return nil, 0, fmt.Errorf("get workflow %s version %d: %w", id, version, err)
		}
		return wf, version, nil
	}
	rec, err := s.st.GetWorkflow(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, 0, notFound("workflow %s not found", id)
	case err != nil:
		return nil, 0, fmt.Errorf("get workflow %s: %w", id, err)
	}
	wf, err := s.definition(rec)
	if err != nil {
		return nil, 0, err
	}
	return wf, rec.Version, nil
}

// queryList reads a list parameter given comma-separated, repeated, or both.
func queryList(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// queryInt reads a non-negative integer parameter.
func queryInt(q url.Values, key string, def, max int) (int, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalidField(key, "must be a non-negative integer")
	}
	if max > 0 && n > max {
		return 0, invalidField(key, "must be at most %d", max)
	}
	return n, nil
}

// oneOf checks every value of a list parameter against the allowed ones.
func oneOf(key string, vals []string, allowed ...string) error {
	for _, v := range vals {
		ok := false
		for _, a := range allowed {
			ok = ok || v == a
		}
		if !ok {
			return invalidField(key, "must be among %s", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// runListParams are the query parameters GET /v1/workflows/runs takes:
// Port's, plus limit and offset, and sluice's cursor.
var runListParams = []string{"limit", "offset", "cursor", "workflowIdentifiers", "workflowRunIdentifiers", "workflowVersions", "statuses", "results", "createdBy"}

// onlyParams refuses a query parameter that is not allowed, naming it: a
// misspelt filter must not silently list every run.
func onlyParams(q url.Values, allowed ...string) error {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			return invalidField(k, "unknown query parameter; this endpoint takes %s", strings.Join(allowed, ", "))
		}
	}
	return nil
}

// runFilter reads the run list's query parameters.
func runFilter(q url.Values) (store.RunFilter, error) {
	if err := onlyParams(q, runListParams...); err != nil {
		return store.RunFilter{}, err
	}
	f := store.RunFilter{
		WorkflowIDs: queryList(q, "workflowIdentifiers"),
		RunIDs:      queryList(q, "workflowRunIdentifiers"),
		Statuses:    queryList(q, "statuses"),
		Results:     queryList(q, "results"),
		CreatedBy:   queryList(q, "createdBy"),
	}
	for _, v := range queryList(q, "workflowVersions") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, invalidField("workflowVersions", "must list positive integers")
		}
		f.WorkflowVersions = append(f.WorkflowVersions, n)
	}
	var err error
	if f.Limit, err = queryInt(q, "limit", defaultRunLimit, maxRunLimit); err != nil {
		return f, err
	}
	if f.Offset, err = queryInt(q, "offset", 0, 0); err != nil {
		return f, err
	}
	if f.Limit == 0 {
		f.Limit = defaultRunLimit
	}
	if err := oneOf("statuses", f.Statuses, store.StatusInProgress, store.StatusCompleted); err != nil {
		return f, err
	}
	if err := oneOf("results", f.Results, store.ResultSuccess, store.ResultFailed, store.ResultCancelled); err != nil {
		return f, err
	}
	// The cursor is read last: its filter digest is checked against the
	// filters read above. offset then counts from the cursor.
	if _, given := q["cursor"]; given {
		c, err := decodeRunCursor(q.Get("cursor"), f)
		if err != nil {
			return f, err
		}
		if c.Newer {
			f.After = &c.RunCursor
		} else {
			f.Before = &c.RunCursor
		}
	}
	return f, nil
}

// listRuns lists runs newest first with the total that match, and the
// cursor of the next page (next) when a run follows. Callers who may view
// every run get the store's page; for others the store keeps only the runs
// they may view, so that the page and the total count only those (offset
// counts visible runs too).
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	f, err := runFilter(r.URL.Query())
	if err != nil {
		return err
	}
	// One query: the store keeps the runs the caller may view (CanViewRun's
	// rule as a filter: their own runs, and those of versions that let
	// anyone view their runs), counts them, and pages them, all in one read.
	if !authz.CanViewAllRuns(a) {
		f.Viewer = &store.RunViewer{ActorID: a.ID}
	}
	runs, total, next, prev, err := s.runPage(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]view.Run, 0, len(runs))
	for _, run := range runs {
		out = append(out, view.Summary(run))
	}
	answer := ok("workflowRuns", out)
	answer["total"] = total
	if next != "" {
		answer["next"] = next
	}
	if prev != "" {
		answer["prev"] = prev
	}
	writeJSON(w, http.StatusOK, answer)
	return nil
}

// runPage reads one page of the run list and the cursors of the pages
// beside it: next, of the runs older than the page's last run, and prev, of
// those newer than its first, each "" when no such run is known to exist.
//
// In the page's own direction (older for a first page or a next cursor,
// newer for a prev cursor) the store is asked for one run more than the
// page, which tells whether one lies beyond it in the same read; at the
// largest limit, which the store caps, a second read of one run past the
// page tells it. In the other direction no read is spent: runs lie there
// when the page was reached by a cursor or an offset, since the cursor's
// run (or the runs skipped) came before it. Only if that run has been
// deleted since can the cursor lead to an empty page. A first page (no
// cursor, no offset) has no prev.
func (s *Server) runPage(ctx context.Context, f store.RunFilter) (runs []store.Run, total int, next, prev string, err error) {
	limit := f.Limit
	newer := f.After != nil
	probe := f
	probe.Limit = limit + 1
	runs, total, err = s.st.ListRuns(ctx, probe)
	if err != nil {
		return nil, 0, "", "", fmt.Errorf("list runs: %w", err)
	}
	beyond := len(runs) > limit
	switch {
	case beyond && newer:
		runs = runs[1:] // read nearest the cursor first: the extra run is the newest
	case beyond:
		runs = runs[:limit]
	case len(runs) == limit && limit == maxRunLimit:
		past := f
		past.Offset, past.Limit = 0, 1
		if newer {
			c := store.RunCursorOf(runs[0])
			past.After = &c
		} else {
			c := store.RunCursorOf(runs[len(runs)-1])
			past.Before = &c
		}
		rest, _, err := s.st.ListRuns(ctx, past)
		if err != nil {
			return nil, 0, "", "", fmt.Errorf("list runs: whether a run lies past the page: %w", err)
		}
		beyond = len(rest) > 0
	}
	if len(runs) == 0 {
		return runs, total, "", "", nil
	}
	behind := f.Before != nil || f.After != nil || f.Offset > 0
	older, newerRuns := beyond, behind
	if newer {
		older, newerRuns = behind, beyond
	}
	if older {
		next = encodeRunCursor(store.RunCursorOf(runs[len(runs)-1]), false, f)
	}
	if newerRuns {
		prev = encodeRunCursor(store.RunCursorOf(runs[0]), true, f)
	}
	return runs, total, next, prev, nil
}

// viewableRun returns a run the actor may view; a 404 for one that is
// missing or hidden from them.
func (s *Server) viewableRun(ctx context.Context, a authz.Actor, runID string) (store.Run, error) {
	run, err := s.st.GetRun(ctx, runID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Run{}, notFound("workflow run %s not found", runID)
	case err != nil:
		return store.Run{}, fmt.Errorf("get run %s: %w", runID, err)
	}
	wf, err := s.version(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return store.Run{}, err
	}
	if !authz.CanViewRun(a, run, wf) {
		return store.Run{}, notFound("workflow run %s not found", runID)
	}
	return run, nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	runID := r.PathValue("wfr")
	run, err := s.st.GetRun(r.Context(), runID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("workflow run %s not found", runID)
	case err != nil:
		return fmt.Errorf("get run %s: %w", runID, err)
	}
	// Those who may cancel act whatever the run's visibility (a machine
	// with update:runs need not read runs); the answer is the run's
	// summary, which says nothing of its outputs.
	if !authz.CanCancelRun(a, run) {
		wf, err := s.version(r.Context(), run.WorkflowID, run.WorkflowVersion)
		if err != nil {
			return err
		}
		if !authz.CanViewRun(a, run, wf) {
			return notFound("workflow run %s not found", runID)
		}
		return forbidden("cancelling run %s takes its creator, an Admin or the %s scope", runID, authz.ScopeUpdateRuns)
	}
	run, err = s.eng.Cancel(r.Context(), runID)
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict("workflow run %s is already %s", runID, run.Status)
	case errors.Is(err, store.ErrNotFound):
		return notFound("workflow run %s not found", runID)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, ok("workflowRun", view.Summary(run)))
	return nil
}

// logLine is a log line sent with a completion: Port's {logLevel, log,
// tags}, or sluice's {level, message} (kept as an alias). Tags are an
// object or a list of strings, read by parseLogTags.
type logLine struct {
	LogLevel string          `json:"logLevel"`
	Log      string          `json:"log"`
	Tags     json.RawMessage `json:"tags"`
	Level    string          `json:"level"`
	Message  string          `json:"message"`
}

// completionBody is PATCH /v1/workflows/nodes/runs/{wfnr}. Links sent here
// are added after the links the node's definition renders over the output.
type completionBody struct {
	Status string    `json:"status"`
	Result string    `json:"result"`
	Output any       `json:"output"`
	Logs   []logLine `json:"logs"`
	Links  []string  `json:"links"`
	// ExternalRunID is Port's externalRunId: recorded on the node run
	// (externalruns.go), alone or with the rest of the update.
	ExternalRunID *string `json:"externalRunId"`
}

func checkLogs(ls []logLine) ([]engine.LogLine, error) {
	out := make([]engine.LogLine, 0, len(ls))
	for i, l := range ls {
		path := fmt.Sprintf("logs[%d]", i)
		level, levelField := l.Level, "level"
		switch {
		case l.LogLevel != "" && l.Level != "":
			return nil, invalidField(path+".level", "give logLevel or its alias level, not both")
		case l.LogLevel != "":
			level, levelField = l.LogLevel, "logLevel"
		}
		msg := l.Message
		switch {
		case l.Log != "" && l.Message != "":
			return nil, invalidField(path+".message", "give log or its alias message, not both")
		case l.Log != "":
			msg = l.Log
		}
		switch level {
		case "":
			level = node.LevelInfo
		case node.LevelDebug, node.LevelInfo, node.LevelWarn, node.LevelError:
		default:
			return nil, invalidField(path+"."+levelField, "must be DEBUG, INFO, WARN or ERROR")
		}
		tags, tagList, err := parseLogTags(path+".tags", l.Tags)
		if err != nil {
			return nil, err
		}
		out = append(out, engine.LogLine{Level: level, Message: msg, Tags: tags, TagList: tagList})
	}
	return out, nil
}

// nodeRunFor returns a node run that the actor may complete or add logs to,
// and whether they may also view its run. The completion/log right is asked
// first: those who have it (Admins, update:runs) act whatever the run's
// visibility, so an async receiver need not read runs. Others get a 403 when
// they may view the run and a 404 when they may not.
func (s *Server) nodeRunFor(ctx context.Context, a authz.Actor, nodeRunID string, complete bool) (store.NodeRun, bool, error) {
	nr, err := s.st.GetNodeRun(ctx, nodeRunID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.NodeRun{}, false, notFound("workflow node run %s not found", nodeRunID)
	case err != nil:
		return store.NodeRun{}, false, fmt.Errorf("get node run %s: %w", nodeRunID, err)
	}
	run, err := s.st.GetRun(ctx, nr.RunID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.NodeRun{}, false, notFound("workflow node run %s not found", nodeRunID)
	case err != nil:
		return store.NodeRun{}, false, fmt.Errorf("get run %s of node run %s: %w", nr.RunID, nodeRunID, err)
	}
	wf, err := s.version(ctx, run.WorkflowID, run.WorkflowVersion)
	if err != nil {
		return store.NodeRun{}, false, err
	}
	switch authz.DecideNodeRunUpdate(a, run, wf) {
	case authz.Allowed:
		return nr, authz.CanViewRun(a, run, wf), nil
	case authz.Forbidden:
		if complete {
			return store.NodeRun{}, false, forbidden("completing node run %s takes an Admin or the %s scope", nodeRunID, authz.ScopeUpdateRuns)
		}
		return store.NodeRun{}, false, forbidden("adding logs to node run %s takes an Admin or the %s scope", nodeRunID, authz.ScopeUpdateRuns)
	default:
		return store.NodeRun{}, false, notFound("workflow node run %s not found", nodeRunID)
	}
}

// complete passes a completion to the engine and maps its errors.
func (s *Server) complete(ctx context.Context, nodeRunID string, c engine.Completion) error {
	_, err := s.eng.CompleteNodeRun(ctx, nodeRunID, c)
	switch {
	case errors.Is(err, store.ErrConflict):
		return conflict("workflow node run %s, or its run, is no longer IN_PROGRESS", nodeRunID)
	case errors.Is(err, store.ErrNotFound):
		return notFound("workflow node run %s not found", nodeRunID)
	case errors.Is(err, engine.ErrNoProgressStore):
		return apiErr(http.StatusNotImplemented, codeUnavailable, "this server's store keeps no output or links of a node run in progress")
	case err != nil:
		return fmt.Errorf("complete node run %s: %w", nodeRunID, err)
	}
	return nil
}

// completeNodeRun completes a node run that waits for an outside system
// (an async webhook, a Kafka consumer), or, when status is IN_PROGRESS or
// omitted, reports its progress: logs, and the output and links so far,
// which the node run shows until it completes and a completion without its
// own ends with (as Port does). A second completion is a 409.
func (s *Server) completeNodeRun(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	nodeRunID := r.PathValue("wfnr")
	nr, canView, err := s.nodeRunFor(r.Context(), a, nodeRunID, true)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body completionBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	switch body.Status {
	case "", store.StatusInProgress:
		if body.Result != "" {
			return invalidField("result", "is only given with status COMPLETED")
		}
	case store.StatusCompleted:
		if body.Result != store.ResultSuccess && body.Result != store.ResultFailed && body.Result != store.ResultCancelled {
			return invalidField("result", "must be SUCCESS, FAILED or CANCELLED with status COMPLETED")
		}
	default:
		return invalidField("status", "must be IN_PROGRESS or COMPLETED")
	}
	if len(body.Links) > 3 {
		return invalidField("links", "must hold at most 3 URLs")
	}
	logs, err := checkLogs(body.Logs)
	if err != nil {
		return err
	}
	if body.ExternalRunID != nil {
		if err := checkExternalRunID("externalRunId", *body.ExternalRunID); err != nil {
			return schemaMismatch(invalidField("externalRunId", "%s", strings.TrimPrefix(err.Error(), "externalRunId: ")))
		}
		if err := s.setExternalRunID(r.Context(), nr, *body.ExternalRunID); err != nil {
			return err
		}
	}
	if err := s.complete(r.Context(), nodeRunID, engine.Completion{Status: body.Status, Result: body.Result, Output: body.Output, Logs: logs, Links: body.Links}); err != nil {
		return err
	}
	if body.Status == store.StatusCompleted {
		s.execute(nr.RunID)
	}
	return s.answerNodeRun(w, r.Context(), nr, canView)
}

// answerNodeRun answers with a node run as it is stored now. A caller who
// may not view the run (a machine client with update:runs but not
// read:runs) gets its state only (identifier, node, status, result, times):
// its output, links and logs are left out (null, []), since the node's
// variables and links render over other nodes' outputs and the run's
// inputs, and its logs hold what the node's executor wrote.
func (s *Server) answerNodeRun(w http.ResponseWriter, ctx context.Context, nr store.NodeRun, canView bool) error {
	v, err := s.loadRun(ctx, nr.RunID, true)
	if err != nil {
		return err
	}
	for _, n := range v.NodeRuns {
		if n.Identifier == nr.Identifier {
			if !canView {
				n = stateOnly(n)
			}
			e, err := s.withExternalRunID(ctx, n)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, ok("workflowNodeRun", e))
			return nil
		}
	}
	return fmt.Errorf("node run %s is missing from run %s", nr.Identifier, nr.RunID)
}

// stateOnly keeps a node run's identity and state, and drops what it holds
// from the run (output, links, logs).
func stateOnly(n view.NodeRun) view.NodeRun {
	n.Output = json.RawMessage("null")
	n.Links = []string{}
	n.NodeRunLogs = []view.Log{}
	return n
}

type logsBody struct {
	Logs []logLine `json:"logs"`
}

// addLogs appends logs to a node run that is IN_PROGRESS.
func (s *Server) addLogs(w http.ResponseWriter, r *http.Request, a authz.Actor) error {
	nodeRunID := r.PathValue("wfnr")
	nr, canView, err := s.nodeRunFor(r.Context(), a, nodeRunID, false)
	if err != nil {
		return err
	}
	data, err := readBody(w, r, s.maxBody)
	if err != nil {
		return err
	}
	var body logsBody
	if err := decodeBody(data, &body); err != nil {
		return err
	}
	if len(body.Logs) == 0 {
		return invalidField("logs", "must hold at least one line")
	}
	logs, err := checkLogs(body.Logs)
	if err != nil {
		return err
	}
	if err := s.complete(r.Context(), nodeRunID, engine.Completion{Status: store.StatusInProgress, Logs: logs}); err != nil {
		return err
	}
	return s.answerNodeRun(w, r.Context(), nr, canView)
}
