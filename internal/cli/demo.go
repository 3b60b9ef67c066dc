package cli

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/condition"
	"github.com/sluice-run/sluice/internal/node/webhook"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/view"
)

//go:embed demo.json
var demoWorkflow []byte

// demoToken is the demo's secret. The receiver echoes it back on purpose, to
// show that it never reaches the stored run.
const demoToken = "demo-t0ken-4f1c9b7e2a"

func (a *app) demoCmd() *cobra.Command {
	var env string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run an example workflow against a local receiver, to see sluice work",
		Long: `Demo starts a small HTTP receiver on loopback, then runs an example
Port-format workflow against it on the embedded defaults (the SQLite store in
--data-dir): a CONDITION picks an endpoint, a WEBHOOK sends a bearer secret
that the receiver echoes back, and the stored run shows it masked.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return a.demo(c.Context(), env) },
	}
	c.Flags().StringVar(&env, "environment", "production", "the demo's input: production or staging")
	return c
}

func (a *app) demo(ctx context.Context, env string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo receiver: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(echo), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	wf, err := a.parseDefinition("demo.json", demoWorkflow)
	if err != nil {
		return err
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	version, err := saveDefinition(ctx, st, wf)
	if err != nil {
		return err
	}
	// The banner only once the setup worked: a failing demo says why and
	// nothing else.
	fmt.Fprintf(a.io.Stdout, "demo receiver listening on %s (it echoes what it gets, secrets included)\n\n", base)
	secrets := secret.MapSource{"DEMO_BASE_URL": base, "DEMO_TOKEN": demoToken}
	p := &progress{out: a.io.Stdout, wf: wf, version: version}
	reg := node.NewRegistry()
	webhook.Register(reg, webhook.Options{UserAgent: userAgent()})
	condition.Register(reg)
	eng := engine.New(engine.Options{Store: st, Nodes: reg, Secrets: secrets, Logger: a.logger, OnEvent: p.event})
	run, err := eng.Start(ctx, engine.StartRequest{Workflow: wf, Version: version, Inputs: map[string]any{"environment": env}, Actor: engine.Actor{ID: "demo"}})
	if err != nil {
		return invalid("%w", err)
	}
	if run, err = eng.Execute(ctx, run.Identifier); err != nil {
		return err
	}
	v, err := view.Load(ctx, st, run.Identifier)
	if err != nil {
		return err
	}
	p.summary(v)
	b, _ := json.Marshal(v)
	if bytes.Contains(b, []byte(demoToken)) {
		return fmt.Errorf("the stored run holds the demo secret: this is a bug, please report it")
	}
	fmt.Fprintf(a.io.Stdout, "\nThe receiver got the token and echoed it back; the stored run holds %q instead.\n", "***")
	fmt.Fprintf(a.io.Stdout, "Data: %s (run 'sluice demo --environment staging' for the other branch).\n", a.dataDir)
	if run.Result != "SUCCESS" {
		return &exitError{code: ExitFailed}
	}
	return nil
}

// echo answers every request with what it received, secrets included.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var parsed any
	if json.Unmarshal(body, &parsed) != nil {
		parsed = string(body)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"path":          r.URL.Path,
		"authorization": r.Header.Get("Authorization"),
		"nodeRun":       r.Header.Get("X-Sluice-Node-Run"),
		"received":      parsed,
		"deploymentId":  fmt.Sprintf("dep-%d", time.Now().UnixNano()%100000),
	})
}
