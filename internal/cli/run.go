package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/kafka"
	"github.com/sluice-run/sluice/internal/node/upsert"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/view"
	"github.com/sluice-run/sluice/internal/workflow"
)

type runFlags struct {
	file       string
	inputs     []string
	inputsFile string
	secretFile string
	output     string
	kafka      kafkaFlags
}

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run -f FILE [--input KEY=VALUE]...",
		Short: "Run a workflow in-process and show each node as it runs",
		Long: `Run executes a workflow definition in this process, against the data dir's
store and secrets (plus a dotenv --secret-file), and shows each node as it
starts and ends. Exit status: 0 when the run ends SUCCESS, 1 when it ends
FAILED or CANCELLED, 2 when the workflow or the arguments are invalid, 3 when
the run waits on a node that is completed from outside (it stays stored).`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.kafkaFromEnv(c.Flags()); err != nil {
				return err
			}
			return a.run(c.Context(), f)
		},
	}
	f.kafka.add(c.Flags(), false, true)
	c.Flags().StringVarP(&f.file, "file", "f", "", "workflow definition (JSON); - for stdin")
	c.Flags().StringArrayVar(&f.inputs, "input", nil, "trigger input KEY=VALUE; VALUE is parsed as JSON when it parses, else taken as a string")
	c.Flags().StringVar(&f.inputsFile, "inputs-file", "", "JSON object of trigger inputs (--input wins over it)")
	c.Flags().StringVar(&f.secretFile, "secret-file", "", "dotenv file of secrets (NAME=value lines), used before the store's secrets")
	c.Flags().StringVarP(&f.output, "output", "o", "text", "text, or json (the final run object on stdout, nothing else there)")
	return c
}

// readDefinition reads -f, from stdin for "-".
func (a *app) readDefinition(path string) ([]byte, error) {
	if path == "" {
		return nil, invalid("-f/--file: a workflow definition file is required")
	}
	if path == "-" {
		return io.ReadAll(a.io.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, invalid("-f: %w", err)
	}
	return b, nil
}

// parseDefinition parses and validates, printing warnings; errors exit 2.
func (a *app) parseDefinition(path string, data []byte) (*workflow.Workflow, error) {
	wf, problems := workflow.Parse(data)
	for _, p := range problems.Warnings {
		fmt.Fprintf(a.io.Stderr, "%s: warning: %s\n", p.Path, p.Message)
	}
	if len(problems.Errors) > 0 {
		for _, p := range problems.Errors {
			fmt.Fprintln(a.io.Stderr, p.String())
		}
		return nil, &exitError{code: ExitInvalid, err: fmt.Errorf("%s: %d error(s)", path, len(problems.Errors))}
	}
	return wf, nil
}

// parseInputs merges --inputs-file and --input flags.
func parseInputs(inputsFile string, kvs []string) (map[string]any, error) {
	inputs := map[string]any{}
	if inputsFile != "" {
		b, err := os.ReadFile(inputsFile)
		if err != nil {
			return nil, invalid("--inputs-file: %w", err)
		}
		if p := workflow.CheckInputsText(b); p != nil {
			return nil, invalid("--inputs-file %s: %s: %s", inputsFile, p.Path, p.Message)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&inputs); err != nil {
			return nil, invalid("--inputs-file %s: must hold a JSON object: %w", inputsFile, err)
		}
	}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, invalid("--input %q: want KEY=VALUE", kv)
		}
		inputs[k] = parseInputValue(v)
	}
	return inputs, nil
}

// parseInputValue takes v as JSON when it is a JSON value, else as a string.
func parseInputValue(v string) any {
	if !utf8.ValidString(v) {
		// As typed: input validation names it. Decoded as JSON, the bytes
		// would become U+FFFD silently.
		return v
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil || dec.More() {
		return v
	}
	if _, err := dec.Token(); err != io.EOF {
		return v
	}
	return x
}

func (a *app) run(ctx context.Context, f runFlags) error {
	if f.output != "text" && f.output != "json" {
		return invalid("--output: must be text or json, got %q", f.output)
	}
	data, err := a.readDefinition(f.file)
	if err != nil {
		return err
	}
	wf, err := a.parseDefinition(f.file, data)
	if err != nil {
		return err
	}
	inputs, err := parseInputs(f.inputsFile, f.inputs)
	if err != nil {
		return err
	}
	var fileSecrets secret.MapSource
	if f.secretFile != "" {
		sf, err := os.Open(f.secretFile)
		if err != nil {
			return invalid("--secret-file: %w", err)
		}
		fileSecrets, err = secret.ParseDotEnv(sf)
		sf.Close()
		if err != nil {
			return invalid("--secret-file %s: %w", f.secretFile, err)
		}
	}

	// Bad inputs change nothing stored: check them before saving the
	// definition as a new version.
	if err := engine.ValidateInputs(wf, "", inputs); err != nil {
		return a.startError(err, jsonLookingInputs(f.inputs))
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// The store's secrets are read lazily, so a run that reads none never
	// generates a key; but a key at hand that is not the store's is
	// refused before anything is saved.
	var stored secret.Source = a.lazyService(ctx, st)
	if a.keyPresent() {
		if stored, err = a.service(ctx, st); err != nil {
			return err
		}
	}
	// Every secret the workflow reads must be defined before it runs, or
	// the run would fail at the first node that reads a missing one, after
	// the nodes before it had their effects, and name only that one.
	undefined, err := undefinedSecrets(ctx, st, wf, fileSecrets)
	if err != nil {
		return err
	}
	if len(undefined) > 0 {
		for _, p := range undefined {
			fmt.Fprintln(a.io.Stderr, p.String())
		}
		return &exitError{code: ExitInvalid, err: fmt.Errorf("%d undefined secret(s); the workflow was not run: define each with 'sluice secrets set NAME' (the value on stdin) or in --secret-file", len(undefined))}
	}
	version, err := saveDefinition(ctx, st, wf)
	if err != nil {
		return err
	}

	p := &progress{out: a.io.Stdout, quiet: f.output == "json", wf: wf, version: version}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{UserAgent: userAgent()})
	condition.Register(reg)
	kx, closeKafka, err := a.kafkaExecutor(&f.kafka, secret.Layered{fileSecrets, stored})
	if err != nil {
		return err
	}
	defer closeKafka()
	kafka.Register(reg, kx)
	cat := openCatalog(st)
	upsert.Register(reg, cat)
	registerIntegration(reg, st, 0)
	registerAI(reg, st, cat)
	eng := engine.New(engine.Options{
		Store:   st,
		Nodes:   reg,
		Secrets: secret.Layered{fileSecrets, stored},
		Logger:  a.logger,
		OnEvent: p.event,
		// Leased and renewed like a server's runs, so that a server
		// sharing the store does not take this run over while it runs.
		LeaseOwner: engine.NewLeaseOwner(),
	})
	beat, stopBeat := context.WithCancel(ctx)
	defer stopBeat()
	go eng.RunHeartbeat(beat)
	run, err := eng.Start(ctx, engine.StartRequest{
		Workflow: wf,
		Version:  version,
		Inputs:   inputs,
		Actor:    engine.Actor{ID: "cli"},
	})
	if err != nil {
		return a.startError(err, nil)
	}
	run, err = eng.Execute(ctx, run.Identifier)
	run, err = drivePolls(ctx, eng, run, err)
	if err != nil && run.Status != store.StatusInProgress {
		return err
	}
	v, verr := view.Load(context.WithoutCancel(ctx), st, run.Identifier)
	if verr != nil {
		return verr
	}
	if f.output == "json" {
		enc := json.NewEncoder(a.io.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		p.summary(v)
	}
	if err != nil { // interrupted: the run stays IN_PROGRESS and can resume
		return &exitError{code: ExitFailed, err: fmt.Errorf("interrupted; run %s stays IN_PROGRESS: %w", run.Identifier, err)}
	}
	switch {
	case run.Status == store.StatusInProgress:
		waiting := v.NodeRuns[len(v.NodeRuns)-1]
		return &exitError{code: ExitWaiting, err: fmt.Errorf("run %s waits on node %s (node run %s), which an outside system completes: serve this data dir (sluice serve --data-dir %s) and PATCH /v1/workflows/nodes/runs/%s",
			run.Identifier, waiting.Node.Identifier, waiting.Identifier, a.dataDir, waiting.Identifier)}
	case run.Result == store.ResultSuccess:
		return nil
	default:
		return &exitError{code: ExitFailed}
	}
}

// startError maps what Start (or ValidateInputs) refused to exit 2, printing
// every input problem. jsonLooking holds the --input values that were taken
// as JSON other than a string, by key: a "must be a string" problem about
// one of them says how to pass it as a string.
func (a *app) startError(err error, jsonLooking map[string]string) error {
	var ie *engine.InputError
	if errors.As(err, &ie) {
		for _, pr := range ie.Problems {
			fmt.Fprintln(a.io.Stderr, pr.String()+stringInputHint(pr, jsonLooking))
		}
		return &exitError{code: ExitInvalid, err: errors.New("invalid inputs; the workflow was not run")}
	}
	if errors.Is(err, engine.ErrNotTrigger) {
		return invalid("%w", err)
	}
	return err
}

// jsonLookingInputs returns the --input values that parse as JSON other than
// a string (1.10, true, null, {...}), by key; a later --input of a key wins.
func jsonLookingInputs(kvs []string) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if _, isString := parseInputValue(v).(string); isString {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// stringInputHint returns, for a "must be a string" problem about an input
// given as --input KEY=VALUE whose VALUE was taken as JSON, how to quote it.
func stringInputHint(p workflow.Problem, jsonLooking map[string]string) string {
	if !strings.Contains(p.Message, "must be a string") {
		return ""
	}
	for k, v := range jsonLooking {
		if p.Path != "inputs."+k && p.Path != fmt.Sprintf("inputs[%q]", k) {
			continue
		}
		quoted, err := json.Marshal(v)
		if err != nil || strings.Contains(k+string(quoted), "'") {
			return ""
		}
		looks := "JSON"
		if _, isNumber := parseInputValue(v).(json.Number); isNumber {
			looks = "a number"
		}
		return fmt.Sprintf("; to pass a string that looks like %s, quote it as JSON: --input '%s=%s'", looks, k, quoted)
	}
	return ""
}

// undefinedSecrets returns one problem per secret that wf reads and that is
// neither in fileSecrets nor stored, at the JSON path of the first field
// that reads it. Only names are listed: no key is needed.
func undefinedSecrets(ctx context.Context, st store.Store, wf *workflow.Workflow, fileSecrets secret.MapSource) ([]workflow.Problem, error) {
	stored, err := st.ListSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defined := map[string]bool{}
	for name := range fileSecrets {
		defined[name] = true
	}
	for _, s := range stored {
		defined[s.Name] = true
	}
	var out []workflow.Problem
	for _, n := range wf.Nodes {
		if n.ConfigTemplate == nil {
			continue
		}
		n.ConfigTemplate.Leaves(func(path string, reads tmpl.Reads) {
			for _, name := range reads.Secrets {
				if !defined[name] {
					defined[name] = true // one line per secret
					out = append(out, workflow.Problem{Path: path, Message: fmt.Sprintf("secret %s is not defined (neither stored nor in --secret-file)", name)})
				}
			}
		})
	}
	return out, nil
}

// saveDefinition stores the definition as a new version unless the newest
// stored version is the same, and returns the version to run.
func saveDefinition(ctx context.Context, st store.Store, wf *workflow.Workflow) (int, error) {
	cur, err := st.GetWorkflow(ctx, wf.Identifier)
	switch {
	case err == nil && bytes.Equal(cur.Definition, wf.Source):
		return cur.Version, nil
	case err == nil:
		saved, err := st.UpdateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, UpdatedBy: "cli"})
		if err != nil {
			return 0, fmt.Errorf("save workflow %s: %w", wf.Identifier, err)
		}
		return saved.Version, nil
	case errors.Is(err, store.ErrNotFound):
		saved, err := st.CreateWorkflow(ctx, store.Workflow{Identifier: wf.Identifier, Definition: wf.Source, CreatedBy: "cli", UpdatedBy: "cli"})
		if err != nil {
			return 0, fmt.Errorf("save workflow %s: %w", wf.Identifier, err)
		}
		return saved.Version, nil
	default:
		return 0, fmt.Errorf("load workflow %s: %w", wf.Identifier, err)
	}
}

// progress prints a run as it goes.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	quiet   bool
	wf      *workflow.Workflow
	version int
	started bool
}

func (p *progress) event(ev engine.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		p.started = true
		fmt.Fprintf(p.out, "run %s  workflow %s v%d\n", ev.RunID, p.wf.Identifier, p.version)
	}
	switch ev.Kind {
	case engine.NodeStarted:
		fmt.Fprintf(p.out, "  ▶ %-24s %s\n", ev.NodeID, ev.Type)
	case engine.NodeFinished:
		mark := "✓"
		if ev.Result != store.ResultSuccess {
			mark = "✗"
		}
		line := fmt.Sprintf("  %s %-24s %-8s %s", mark, ev.NodeID, ev.Result, formatDuration(ev.Duration))
		if ev.Error != "" {
			line += "  " + ev.Error
		}
		fmt.Fprintln(p.out, strings.TrimRight(line, " "))
	case engine.NodeWaiting:
		fmt.Fprintf(p.out, "  … %-24s IN_PROGRESS %s  waiting to be completed from outside\n", ev.NodeID, formatDuration(ev.Duration))
	}
}

func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return d.Round(time.Millisecond).String()
	}
}

// summary prints the outcome and every node's output.
func (p *progress) summary(v view.Run) {
	result := v.Status
	if v.Result != nil {
		result += " " + *v.Result
	}
	took := ""
	if v.CompletedAt != nil {
		took = " in " + formatDuration(v.CompletedAt.Sub(v.CreatedAt))
	}
	fmt.Fprintf(p.out, "run %s %s%s\n", v.Identifier, result, took)
	fmt.Fprintln(p.out, "outputs:")
	for _, nr := range v.NodeRuns {
		out := string(nr.Output)
		const max = 2000
		if len(out) > max {
			out = out[:max] + "…"
		}
		fmt.Fprintf(p.out, "  %s: %s\n", nr.Node.Identifier, out)
	}
}
