package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/credscan"
	"github.com/sluice-run/sluice/internal/store"
)

// storeMatcher opens the secrets service over st and returns the index of
// the org secrets' fingerprints (fingerprinting, once, the secrets stored
// before fingerprints existed). A store with no secret needs no key.
func (a *app) storeMatcher(ctx context.Context, st store.Store) (credscan.SecretMatcher, error) {
	secs, err := st.ListSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	if len(secs) == 0 {
		return nil, nil
	}
	svc, err := a.service(ctx, st)
	if err != nil {
		return nil, err
	}
	x, err := svc.Matcher(ctx)
	if err != nil {
		return nil, err
	}
	return x, nil
}

// checkCredentials prints the literal credentials of a definition, one per
// line, and returns an exit-2 error when there is any. With the data dir
// or a database URL given explicitly, org secrets' values are checked too.
func (a *app) checkCredentials(c *cobra.Command, file string, data []byte) error {
	var m credscan.SecretMatcher
	if c.Flags().Changed("data-dir") || a.storeURL() != "" {
		err := a.withStore(c.Context(), func(st store.Store) error {
			var err error
			m, err = a.storeMatcher(c.Context(), st)
			return err
		})
		if err != nil {
			return err
		}
	}
	findings, err := credscan.ScanDefinition(data, m)
	if err != nil {
		return invalid("%s: %w", file, err)
	}
	for _, f := range findings {
		fmt.Fprintf(a.io.Stderr, "%s: %s\n", f.Path, f.Message(false))
	}
	if len(findings) > 0 {
		return &exitError{code: ExitInvalid, err: fmt.Errorf("%s: %d literal credential(s)", file, len(findings))}
	}
	return nil
}

func (a *app) workflowsCmd() *cobra.Command {
	c := &cobra.Command{Use: "workflows", Short: "Work on the stored workflows (--data-dir, or --database-url)"}
	c.AddCommand(&cobra.Command{
		Use:   "scan",
		Short: "List every stored workflow version that holds a literal credential",
		Long: `Scan checks every version of every stored workflow for credentials written
as literal text (well-known token formats, and the values of the org secrets
in the store, recognized by their fingerprints) and prints one line per
finding: "<workflow> v<version> <json path>: <what and how to fix it>".
Definitions saved before the check existed, or under
--literal-credentials warn, are found this way. It exits 1 when it finds any.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error { return a.scanWorkflows(c.Context(), st) })
		},
	})
	return c
}

// scanWorkflows prints the findings of every stored version.
func (a *app) scanWorkflows(ctx context.Context, st store.Store) error {
	m, err := a.storeMatcher(ctx, st)
	if err != nil {
		return err
	}
	wfs, err := st.ListWorkflows(ctx)
	if err != nil {
		return fmt.Errorf("list workflows: %w", err)
	}
	found, versions := 0, 0
	for _, w := range wfs {
		for v := 1; v <= w.Version; v++ {
			rec, err := st.GetWorkflowVersion(ctx, w.Identifier, v)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("workflow %s version %d: %w", w.Identifier, v, err)
			}
			versions++
			fs, err := credscan.ScanDefinition(rec.Definition, m)
			if err != nil {
				return fmt.Errorf("workflow %s version %d: %w", w.Identifier, v, err)
			}
			for _, f := range fs {
				fmt.Fprintf(a.io.Stdout, "%s v%d %s: %s\n", w.Identifier, v, f.Path, f.Message(false))
			}
			found += len(fs)
		}
	}
	if found > 0 {
		return &exitError{code: ExitFailed, err: fmt.Errorf("%d literal credential(s) in the stored workflows", found)}
	}
	fmt.Fprintf(a.io.Stdout, "no literal credential in %d workflow version(s)\n", versions)
	return nil
}
