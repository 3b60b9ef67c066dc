package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/node"
	"github.com/sluice-run/sluice/internal/node/integration"
	"github.com/sluice-run/sluice/internal/store"
)

// integrationsCmd manages installations in the data dir's store:
// sluice integrations add|list|delete. Tokens are never given here, only
// the name of the secret that holds one.
func (a *app) integrationsCmd() *cobra.Command {
	c := &cobra.Command{Use: "integrations", Short: "Manage integration installations (INTEGRATION_ACTION nodes)"}
	var in store.Installation
	add := &cobra.Command{
		Use:   "add ID --provider P [--base-url URL] [--token-secret NAME] [--external]",
		Short: "Add an installation: GitHub (github-ocean), GitLab (gitlab), or any other provider served by an external integration",
		Long: `Add an installation. --token-secret names the organization secret that
holds its token (sluice secrets set NAME); the token itself is never given
here. --base-url is the API of GitHub Enterprise (https://HOST/api/v3) or
the address of a self-managed GitLab. --external hands the node runs of a
GitHub or GitLab installation to an external integration (claim-pending)
instead of calling the provider; other providers are always external.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			in.ID, in.CreatedBy = argv[0], cliActor
			if err := integration.ValidateInstallation(in); err != nil {
				return invalid("%w", flagError(err))
			}
			return a.withStore(c.Context(), func(st store.Store) error {
				is, err := integrationStore(st)
				if err != nil {
					return err
				}
				if err := is.CreateInstallation(c.Context(), in); errors.Is(err, store.ErrExists) {
					return invalid("installation %s already exists; delete it first to change it", in.ID)
				} else if err != nil {
					return err
				}
				fmt.Fprintf(a.io.Stdout, "installation %s added (provider %s)\n", in.ID, in.Provider)
				a.warnUndefinedSecret(c.Context(), st, "--token-secret", in.TokenSecret, "the INTEGRATION_ACTION nodes of installation "+in.ID+" fail")
				return nil
			})
		},
	}
	add.Flags().StringVar(&in.Provider, "provider", "", "github-ocean, gitlab, or the provider name of an external integration")
	add.Flags().StringVar(&in.BaseURL, "base-url", "", "the provider's API base URL (default: api.github.com, gitlab.com)")
	add.Flags().StringVar(&in.TokenSecret, "token-secret", "", "the NAME of the secret that holds the installation's token")
	add.Flags().BoolVar(&in.External, "external", false, "hand this GitHub or GitLab installation to an external integration")

	list := &cobra.Command{
		Use:   "list",
		Short: "List installations (the token's secret name, never a token)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				is, err := integrationStore(st)
				if err != nil {
					return err
				}
				ins, err := is.ListInstallations(c.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.io.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tPROVIDER\tBASE URL\tTOKEN SECRET\tEXTERNAL\tCREATED")
				for _, in := range ins {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", in.ID, in.Provider, dash(in.BaseURL), dash(in.TokenSecret), in.External || external(in), in.CreatedAt.UTC().Format("2006-01-02 15:04:05Z"))
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an installation (nodes that name it fail from then on)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				is, err := integrationStore(st)
				if err != nil {
					return err
				}
				if err := is.DeleteInstallation(c.Context(), argv[0]); errors.Is(err, store.ErrNotFound) {
					return invalid("installation %s does not exist", argv[0])
				} else if err != nil {
					return err
				}
				fmt.Fprintf(a.io.Stdout, "installation %s deleted\n", argv[0])
				return nil
			})
		},
	}
	c.AddCommand(add, list, del)
	return c
}

// flagError renames a field of ValidateInstallation as its flag.
func flagError(err error) error {
	msg := err.Error()
	for field, flag := range map[string]string{"id:": "ID:", "provider:": "--provider:", "baseUrl:": "--base-url:", "tokenSecret:": "--token-secret:"} {
		if len(msg) >= len(field) && msg[:len(field)] == field {
			return errors.New(flag + msg[len(field):])
		}
	}
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// external reports whether sluice hands an installation's node runs to an
// external integration because it does not call its provider itself.
func external(in store.Installation) bool {
	return in.Provider != integration.ProviderGitHub && in.Provider != integration.ProviderGitLab && in.Provider != "github"
}

func integrationStore(st store.Store) (store.IntegrationStore, error) {
	is, ok := st.(store.IntegrationStore)
	if !ok {
		return nil, errors.New("this store keeps no installations")
	}
	return is, nil
}

// registerIntegration registers the INTEGRATION_ACTION executor over st's
// installations. maxInline is the longest rate-limit wait a poll sleeps
// in-process (0: the default): a server polls one node at a time in its
// wait loop, so it waits longer ones durably.
func registerIntegration(reg *node.Registry, st store.Store, maxInline time.Duration) {
	var ins integration.Installations
	if is, ok := st.(store.IntegrationStore); ok {
		ins = is
	}
	integration.Register(reg, integration.New(integration.Options{Installations: ins, MaxInline: maxInline}))
}

// drivePolls drives, in-process, a run whose node polls its provider
// (an INTEGRATION_ACTION with reportWorkflowStatus): it sleeps until each
// wake, polls and executes on, until the run completes or waits on
// something only an outside system completes. err is Execute's; a run that
// Execute left with an error is returned as it is.
func drivePolls(ctx context.Context, eng *engine.Engine, run store.Run, err error) (store.Run, error) {
	for err == nil && run.Status == store.StatusInProgress {
		at, ok, werr := eng.NextWake(ctx, run.Identifier)
		if werr != nil {
			return run, werr
		}
		if !ok {
			return run, nil
		}
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return run, ctx.Err()
		case <-t.C:
		}
		if _, err = eng.WakeRun(ctx, run.Identifier); err != nil {
			return run, err
		}
		run, err = eng.Execute(ctx, run.Identifier)
	}
	return run, err
}
