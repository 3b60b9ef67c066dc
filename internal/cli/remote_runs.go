package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/client"
	"github.com/sluice-run/sluice/internal/view"
)

// addRunClientCmds adds the client subcommands of `sluice runs`.
func (a *app) addRunClientCmds(c *cobra.Command) {
	c.AddCommand(a.runsStartCmd(), a.runsListCmd(), a.runsGetCmd(), a.runsWatchCmd(), a.runsCancelCmd())
}

// getRun fetches one run, with its node runs' logs when logs is set
// (?include=logs). wait, when positive, asks the server to hold the answer
// until the run changes or wait elapses (?wait=, a long poll); a server
// without it answers at once, which the follower handles too.
func getRun(ctx context.Context, cl *client.Client, id string, wait time.Duration, logs bool) (view.Run, error) {
	q := url.Values{}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	if logs {
		q.Set("include", "logs")
	}
	path := "/v1/workflows/runs/" + url.PathEscape(id)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var ans struct {
		Run view.Run `json:"workflowRun"`
	}
	err := cl.Do(ctx, http.MethodGet, path, nil, &ans)
	return ans.Run, err
}

// runExit maps a finished run to the exit codes of sluice run.
func runExit(v view.Run) error {
	if v.Status != "COMPLETED" {
		return nil
	}
	if v.Result != nil && *v.Result == "SUCCESS" {
		return nil
	}
	result := ""
	if v.Result != nil {
		result = *v.Result
	}
	return &exitError{code: ExitFailed, err: fmt.Errorf("run %s ended %s", v.Identifier, result)}
}

// follower prints a run node by node as it goes, as sluice run does
// locally, by polling the server.
type follower struct {
	a     *app
	cl    *client.Client
	out   *output
	types map[string]string // node identifier → type, when known
	seen  map[string]string // node run identifier → status printed
}

// longPoll is what a follower asks the server to wait per request (?wait=).
const longPoll = 20 * time.Second

// follow prints the run's node runs until it completes or timeout (0: no
// limit) elapses. It returns the last state and ExitWaiting (3) when the
// run is still IN_PROGRESS at the timeout.
func (f *follower) follow(ctx context.Context, id string, timeout time.Duration) (view.Run, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	backoff := 100 * time.Millisecond
	header := false
	var last view.Run
	for {
		began := time.Now()
		// The server holds a long poll until its wait ends: ask for a wait
		// that ends a second before the timeout, so that the answer comes
		// back in time.
		wait := longPoll
		if dl, ok := ctx.Deadline(); ok && time.Until(dl)-time.Second < wait {
			wait = max(time.Until(dl)-time.Second, 0).Truncate(time.Second)
		}
		v, err := getRun(ctx, f.cl, id, wait, false)
		if err != nil && ctx.Err() != nil && last.Identifier == "" {
			// The timeout came before any answer: report the run as it
			// stands, with a short request of its own.
			short, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			v, err = getRun(short, f.cl, id, 0, false)
			cancel()
			if err == nil {
				f.print(v)
				return v, f.stillRunning(v, timeout)
			}
		}
		if err != nil {
			if ctx.Err() != nil && last.Identifier != "" {
				return last, f.stillRunning(last, timeout)
			}
			return last, f.a.apiError("run "+id, err)
		}
		if !header && !f.out.JSON() {
			header = true
			fmt.Fprintf(f.a.io.Stdout, "run %s  workflow %s v%d\n", v.Identifier, v.Workflow.Identifier, v.Workflow.Version)
		}
		changed := f.print(v)
		last = v
		if v.Status == "COMPLETED" {
			return v, nil
		}
		if changed {
			backoff = 100 * time.Millisecond
		}
		// A server that held the request (long poll) has waited already;
		// one that answered at once is polled with a growing backoff.
		if changed || time.Since(began) >= time.Second {
			continue
		}
		select {
		case <-ctx.Done():
			return last, f.stillRunning(last, timeout)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// stillRunning is the error of a follow that stopped before the run ended.
func (f *follower) stillRunning(v view.Run, timeout time.Duration) error {
	where := ""
	for _, nr := range v.NodeRuns {
		if nr.Status == "IN_PROGRESS" {
			where = inProgressNote(nr)
		}
	}
	if timeout > 0 {
		return &exitError{code: ExitWaiting, err: fmt.Errorf("run %s is still IN_PROGRESS after %s%s; it goes on on the server: sluice runs watch %s", v.Identifier, timeout, where, v.Identifier)}
	}
	return &exitError{code: ExitFailed, err: fmt.Errorf("interrupted; run %s goes on on the server%s: sluice runs watch %s", v.Identifier, where, v.Identifier)}
}

// print prints what changed in the node runs; it reports whether anything did.
func (f *follower) print(v view.Run) bool {
	changed := false
	for _, nr := range v.NodeRuns {
		if f.seen[nr.Identifier] == nr.Status {
			continue
		}
		changed = true
		prev := f.seen[nr.Identifier]
		f.seen[nr.Identifier] = nr.Status
		if f.out.JSON() {
			continue
		}
		id := nr.Node.Identifier
		if prev == "" && (nr.Status == "IN_PROGRESS" || f.types[id] != "") {
			fmt.Fprintf(f.a.io.Stdout, "  ▶ %-24s %s\n", id, f.types[id])
		}
		if nr.Status != "COMPLETED" {
			continue
		}
		mark, result := "✗", ""
		if nr.Result != nil {
			result = *nr.Result
			if result == "SUCCESS" {
				mark = "✓"
			}
		}
		took := ""
		if nr.CompletedAt != nil {
			took = formatDuration(nr.CompletedAt.Sub(nr.CreatedAt))
		}
		line := fmt.Sprintf("  %s %-24s %-8s %s", mark, id, result, took)
		for _, l := range nr.NodeRunLogs {
			if l.LogLevel == "ERROR" {
				line += "  " + l.Log
				break
			}
		}
		fmt.Fprintln(f.a.io.Stdout, strings.TrimRight(cleanCell(line), " "))
	}
	return changed
}

// newFollower returns a follower of runs of workflow wf, knowing its node
// types when the server shows the workflow.
func (a *app) newFollower(ctx context.Context, cl *client.Client, out *output, wf string) *follower {
	f := &follower{a: a, cl: cl, out: out, types: map[string]string{}, seen: map[string]string{}}
	if wf != "" {
		var ans struct {
			Workflow workflowAnswer `json:"workflow"`
		}
		if cl.Do(ctx, http.MethodGet, "/v1/workflows/"+url.PathEscape(wf), nil, &ans) == nil {
			for _, n := range ans.Workflow.Nodes {
				f.types[n.Identifier] = n.Config.Type
			}
		}
	}
	return f
}

// summary prints the outcome of a followed run, or the run as JSON.
func (f *follower) summary(v view.Run) error {
	if f.out.JSON() {
		return f.out.json(v)
	}
	(&progress{out: f.a.io.Stdout}).summary(v)
	return nil
}

func (a *app) runsStartCmd() *cobra.Command {
	var (
		f                   connFlags
		kvs                 []string
		inputsFile, trigger string
		wait                bool
		timeout             time.Duration
		traceParent         string
	)
	c := &cobra.Command{
		Use:     "start WORKFLOW [--input KEY=VALUE]... [--wait]",
		GroupID: groupClient,
		Short:   "Start a run of a workflow on a running server, and follow it with --wait",
		Long: `Start runs a workflow of the server (POST /v1/workflows/WORKFLOW/runs) with
the inputs of --input KEY=VALUE (VALUE taken as JSON when it parses, as
sluice run does) and --inputs-file, and prints the run's identifier.

With --wait it follows the run node by node until it completes and exits
as sluice run does: 0 SUCCESS, 1 FAILED or CANCELLED, 3 when it is still in
progress after --timeout (a node waiting to be completed from outside, say;
the run goes on on the server). Inputs the server refuses are printed as
<path>: <message>, exit 2.

The run joins the caller's trace when the TRACEPARENT environment variable
(as CI systems and OpenTelemetry set it) or --traceparent, which overrides
it, holds a W3C traceparent: it is sent as the traceparent header of the
run's creation. A malformed one is refused (exit 2) before anything is sent;
--traceparent= sends none.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			out, err := newOutput(a.io.Stdout, f.output)
			if err != nil {
				return err
			}
			if timeout < 0 {
				return invalid("--timeout: must not be negative, got %s", timeout)
			}
			inputs, err := parseInputs(inputsFile, kvs)
			if err != nil {
				return err
			}
			trace, err := callerTrace(c.Flags().Changed("traceparent"), traceParent, a.io.Getenv)
			if err != nil {
				return err
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			body := map[string]any{"inputs": inputs}
			if trigger != "" {
				body["trigger"] = trigger
			}
			var ans struct {
				Run view.Run `json:"workflowRun"`
			}
			if err := cl.DoHeader(c.Context(), http.MethodPost, "/v1/workflows/"+url.PathEscape(argv[0])+"/runs", trace, body, &ans); err != nil {
				return a.apiError("start "+argv[0], err)
			}
			if !wait {
				if out.JSON() {
					return out.json(ans.Run)
				}
				fmt.Fprintf(a.io.Stdout, "started run %s of %s v%d\n", ans.Run.Identifier, ans.Run.Workflow.Identifier, ans.Run.Workflow.Version)
				return nil
			}
			fw := a.newFollower(c.Context(), cl, out, argv[0])
			v, err := fw.follow(c.Context(), ans.Run.Identifier, timeout)
			if err != nil {
				var ee *exitError
				if errors.As(err, &ee) && ee.code == ExitWaiting && out.JSON() {
					_ = out.json(v)
				}
				return err
			}
			if err := fw.summary(v); err != nil {
				return err
			}
			return runExit(v)
		},
	}
	f.add(c.Flags(), true)
	fl := c.Flags()
	fl.StringArrayVar(&kvs, "input", nil, "a trigger input, KEY=VALUE (repeatable)")
	fl.StringVar(&inputsFile, "inputs-file", "", "a JSON file holding the trigger inputs")
	fl.StringVar(&trigger, "trigger", "", "the trigger node to start from (default: the workflow's only self-serve trigger)")
	fl.BoolVar(&wait, "wait", false, "follow the run until it completes; exit 0 SUCCESS, 1 FAILED/CANCELLED, 3 still running at --timeout")
	fl.DurationVar(&timeout, "timeout", 0, "with --wait, stop following after this long (exit 3); 0 follows until the run completes")
	fl.StringVar(&traceParent, "traceparent", "", "a W3C traceparent the run joins (default: $TRACEPARENT; empty: none)")
	return c
}

func (a *app) runsWatchCmd() *cobra.Command {
	var (
		f       connFlags
		timeout time.Duration
	)
	c := &cobra.Command{
		Use:     "watch WFR",
		GroupID: groupClient,
		Short:   "Follow a run of a running server node by node until it completes",
		Long: `Watch follows a run as runs start --wait does, and exits the same way: 0
SUCCESS, 1 FAILED or CANCELLED, 3 still in progress after --timeout.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			out, err := newOutput(a.io.Stdout, f.output)
			if err != nil {
				return err
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			v, err := getRun(c.Context(), cl, argv[0], 0, false)
			if err != nil {
				return a.apiError("run "+argv[0], err)
			}
			fw := a.newFollower(c.Context(), cl, out, v.Workflow.Identifier)
			v, err = fw.follow(c.Context(), argv[0], timeout)
			if err != nil {
				return err
			}
			if err := fw.summary(v); err != nil {
				return err
			}
			return runExit(v)
		},
	}
	f.add(c.Flags(), true)
	c.Flags().DurationVar(&timeout, "timeout", 0, "stop following after this long (exit 3); 0 follows until the run completes")
	return c
}

func (a *app) runsListCmd() *cobra.Command {
	var (
		f                        connFlags
		workflow, status, cursor string
		limit                    int
	)
	c := &cobra.Command{
		Use:     "list [--workflow W] [--status S] [--limit N] [--cursor C]",
		GroupID: groupClient,
		Short:   "List the runs of a running server, newest first",
		Long: `List lists the runs of a server, newest first, --limit at a time. When
more runs lie beyond the page it says on stderr how to list them: the next
(older) ones with --cursor NEXT, the previous (newer) ones with --cursor
PREV; with -o json the cursors are "next" and "prev". Going by next and
back by prev shows the same pages, whatever runs are started meanwhile.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			out, err := newOutput(a.io.Stdout, f.output)
			if err != nil {
				return err
			}
			if limit < 1 || limit > 1000 {
				return invalid("--limit: must be between 1 and 1000, got %d", limit)
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if workflow != "" {
				q.Set("workflowIdentifiers", workflow)
			}
			if status != "" {
				q.Set("statuses", strings.ToUpper(status))
			}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var ans struct {
				Runs  []view.Run `json:"workflowRuns"`
				Total int        `json:"total"`
				Next  string     `json:"next"`
				Prev  string     `json:"prev"`
			}
			if err := cl.Do(c.Context(), http.MethodGet, "/v1/workflows/runs?"+q.Encode(), nil, &ans); err != nil {
				return a.apiError("list runs", err)
			}
			if out.JSON() {
				v := map[string]any{"workflowRuns": ans.Runs, "total": ans.Total}
				if ans.Next != "" {
					v["next"] = ans.Next
				}
				if ans.Prev != "" {
					v["prev"] = ans.Prev
				}
				return out.json(v)
			}
			rows := make([][]string, 0, len(ans.Runs))
			for _, r := range ans.Runs {
				rows = append(rows, []string{r.Identifier, r.Workflow.Identifier, strconv.Itoa(r.Workflow.Version), r.Status, deref(r.Result), r.CreatedBy, r.CreatedAt.Format(time.RFC3339)})
			}
			if err := out.table([]string{"RUN", "WORKFLOW", "VERSION", "STATUS", "RESULT", "CREATED BY", "CREATED"}, rows); err != nil {
				return err
			}
			if hint := pageHint(len(ans.Runs), ans.Total, ans.Next, ans.Prev); hint != "" {
				fmt.Fprintln(a.io.Stderr, hint)
			}
			return nil
		},
	}
	f.add(c.Flags(), true)
	fl := c.Flags()
	fl.StringVar(&workflow, "workflow", "", "only the runs of these workflows (comma-separated)")
	fl.StringVar(&status, "status", "", "only the runs with these statuses: IN_PROGRESS, COMPLETED (comma-separated)")
	fl.IntVar(&limit, "limit", 20, "most runs listed (1-1000)")
	fl.StringVar(&cursor, "cursor", "", "list the page after (older) or before (newer) a previous list's: a cursor it printed (\"next\" or \"prev\" with -o json), with the same --workflow and --status")
	return c
}

// pageHint is what runs list says on stderr of the runs beyond the page it
// printed: the cursors of the next (older) and previous (newer) pages, ""
// when it printed every run.
func pageHint(shown, total int, next, prev string) string {
	var parts []string
	if next != "" {
		parts = append(parts, "the next ones: --cursor "+next)
	}
	if prev != "" {
		parts = append(parts, "the previous ones: --cursor "+prev)
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d runs shown (--limit); %s", shown, total, strings.Join(parts, "; "))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (a *app) runsGetCmd() *cobra.Command {
	var (
		f    connFlags
		logs bool
	)
	c := &cobra.Command{
		Use:     "get WFR [--logs]",
		GroupID: groupClient,
		Short:   "Show a run of a running server: its status and node runs (--logs: their logs)",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			out, err := newOutput(a.io.Stdout, f.output)
			if err != nil {
				return err
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			v, err := getRun(c.Context(), cl, argv[0], 0, logs)
			if err != nil {
				return a.apiError("run "+argv[0], err)
			}
			if out.JSON() {
				return out.json(v)
			}
			result := v.Status
			if v.Result != nil {
				result += " " + *v.Result
			}
			fmt.Fprintf(a.io.Stdout, "run %s  workflow %s v%d  %s  created %s by %s\n", v.Identifier, v.Workflow.Identifier, v.Workflow.Version, result, v.CreatedAt.Format(time.RFC3339), v.CreatedBy)
			rows := make([][]string, 0, len(v.NodeRuns))
			for _, nr := range v.NodeRuns {
				took := ""
				if nr.CompletedAt != nil {
					took = formatDuration(nr.CompletedAt.Sub(nr.CreatedAt))
				}
				output := string(nr.Output)
				if len(output) > 80 {
					output = output[:80] + "…"
				}
				rows = append(rows, []string{nr.Node.Identifier, nr.Identifier, nr.Status, deref(nr.Result), took, output})
			}
			if err := out.table([]string{"NODE", "NODE RUN", "STATUS", "RESULT", "TOOK", "OUTPUT"}, rows); err != nil {
				return err
			}
			if logs {
				for _, nr := range v.NodeRuns {
					for _, l := range nr.NodeRunLogs {
						fmt.Fprintf(a.io.Stdout, "%s %-24s %-5s %s\n", l.CreatedAt.Format(time.RFC3339Nano), nr.Node.Identifier, l.LogLevel, cleanCell(l.Log))
					}
				}
			}
			return nil
		},
	}
	f.add(c.Flags(), true)
	c.Flags().BoolVar(&logs, "logs", false, "print the node runs' logs too")
	return c
}

func (a *app) runsCancelCmd() *cobra.Command {
	var f connFlags
	c := &cobra.Command{
		Use:     "cancel WFR",
		GroupID: groupClient,
		Short:   "Cancel a run of a running server",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			var ans struct {
				Run view.Run `json:"workflowRun"`
			}
			if err := cl.Do(c.Context(), http.MethodPost, "/v1/workflows/runs/"+url.PathEscape(argv[0])+"/cancel", struct{}{}, &ans); err != nil {
				return a.apiError("cancel run "+argv[0], err)
			}
			fmt.Fprintf(a.io.Stdout, "run %s %s %s\n", ans.Run.Identifier, ans.Run.Status, deref(ans.Run.Result))
			return nil
		},
	}
	f.add(c.Flags(), false)
	return c
}

// nodesCmd groups the client commands on node runs.
func (a *app) nodesCmd() *cobra.Command {
	c := &cobra.Command{Use: "nodes", GroupID: groupClient, Short: "Work on the node runs of a running server (a client)"}
	c.AddCommand(a.nodesCompleteCmd())
	return c
}

func (a *app) nodesCompleteCmd() *cobra.Command {
	var (
		f              connFlags
		result, output string
	)
	c := &cobra.Command{
		Use:   "complete WFNR --result SUCCESS|FAILED [--output-json JSON]",
		Short: "Complete a node run that waits for an outside system (PATCH /v1/workflows/nodes/runs/WFNR)",
		Long: `Complete does by hand what an async receiver does: it marks a node run
COMPLETED with --result and, optionally, --output-json as the node's output.
It exits 1 when the node run is no longer in progress (409).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			result = strings.ToUpper(result)
			if result != "SUCCESS" && result != "FAILED" {
				return invalid("--result: must be SUCCESS or FAILED, got %q", result)
			}
			body := map[string]any{"status": "COMPLETED", "result": result}
			if c.Flags().Changed("output-json") {
				var v any
				dec := json.NewDecoder(strings.NewReader(output))
				dec.UseNumber()
				if err := dec.Decode(&v); err != nil || dec.More() {
					return invalid("--output-json: must be one JSON value")
				}
				body["output"] = v
			}
			cl, err := a.connect(f)
			if err != nil {
				return err
			}
			var ans struct {
				NodeRun view.NodeRun `json:"workflowNodeRun"`
			}
			if err := cl.Do(c.Context(), http.MethodPatch, "/v1/workflows/nodes/runs/"+url.PathEscape(argv[0]), body, &ans); err != nil {
				return a.apiError("complete node run "+argv[0], err)
			}
			fmt.Fprintf(a.io.Stdout, "node run %s %s %s\n", argv[0], ans.NodeRun.Status, deref(ans.NodeRun.Result))
			return nil
		},
	}
	f.add(c.Flags(), false)
	fl := c.Flags()
	fl.StringVar(&result, "result", "", "SUCCESS or FAILED")
	fl.StringVar(&output, "output-json", "", "the node's output (a JSON value)")
	return c
}
