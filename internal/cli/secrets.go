package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
)

// cliActor is the audit actor of secrets managed from the command line.
const cliActor = "cli"

// keyRing loads the master key: SLUICE_MASTER_KEY, SLUICE_MASTER_KEY_FILE, or
// (the embedded default) a key generated into the data dir.
func (a *app) keyRing() (*secret.KeyRing, error) {
	return secret.LoadKeyRing(secret.KeyOptions{
		DataDir:  a.dataDir,
		KeyFile:  a.io.Getenv("SLUICE_MASTER_KEY_FILE"),
		Env:      a.io.Getenv,
		Generate: true,
		Logger:   a.logger,
	})
}

// service opens the secrets service over st, for every command that reads
// or writes secret values (serve, worker, run, secrets set, keys rotate).
//
// A key is generated only for a store that holds no secret yet: when the
// store holds encrypted secrets and no key is configured, the key was lost
// or moved, and a new one would decrypt none of them while every secret
// created from then on would be sealed under it. That is refused, loudly.
// A key ring that lacks a key the store's secrets were written with (a
// wrong SLUICE_MASTER_KEY, another data dir's key file) is refused too,
// naming the key (secret.Open), before anything is written.
func (a *app) service(ctx context.Context, st store.Store) (*secret.Service, error) {
	if err := a.checkKeyNotLost(st); err != nil {
		return nil, err
	}
	ring, err := a.keyRing()
	if err != nil {
		return nil, err
	}
	// Admit: the keys other processes started with, and those of sealed
	// run values, too; the ring's primary key is recorded
	// (docs/decisions/030-shared-key-ring.md).
	return secret.OpenAdmitted(ctx, st, ring, secret.WithLogger(a.logger))
}

// keyPresent reports whether a master key is configured or already in the
// data dir, so that loading it generates nothing.
func (a *app) keyPresent() bool {
	if a.io.Getenv("SLUICE_MASTER_KEY") != "" || a.io.Getenv("SLUICE_MASTER_KEY_FILE") != "" {
		return true
	}
	_, err := os.Stat(filepath.Join(a.dataDir, secret.DefaultKeyFileName))
	return !errors.Is(err, os.ErrNotExist)
}

// checkKeyNotLost fails when no master key is configured or present while
// the store holds encrypted secrets.
func (a *app) checkKeyNotLost(st store.Store) error {
	if a.io.Getenv("SLUICE_MASTER_KEY") != "" || a.io.Getenv("SLUICE_MASTER_KEY_FILE") != "" {
		return nil
	}
	keyFile := filepath.Join(a.dataDir, secret.DefaultKeyFileName)
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	secrets, err := st.ListSecrets(context.Background())
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	if len(secrets) > 0 {
		return fmt.Errorf("the store holds %d encrypted secret(s) but there is no master key: restore %s, or set SLUICE_MASTER_KEY or SLUICE_MASTER_KEY_FILE; a new key would decrypt none of them, so none is generated (if the key is gone for good, `sluice secrets delete NAME` removes the unreadable secrets)", len(secrets), keyFile)
	}
	return nil
}

// deletionService is the service for deleting secrets, which needs no key
// and is not checked against the key records: with the master key lost
// for good (or only another key at hand), the unreadable secrets can still
// be removed. An in-memory key that seals nothing stands in for the ring,
// so deleting never generates a key either.
func (a *app) deletionService(st store.Store) (*secret.Service, error) {
	key, err := secret.GenerateKey()
	if err != nil {
		return nil, err
	}
	ring, err := secret.NewKeyRing(key)
	if err != nil {
		return nil, err
	}
	return secret.NewService(st, ring), nil
}

// withService opens the store and the secrets service over it for fn.
func (a *app) withService(ctx context.Context, fn func(st store.Store, svc *secret.Service) error) error {
	return a.withStore(ctx, func(st store.Store) error {
		svc, err := a.service(ctx, st)
		if err != nil {
			return err
		}
		return fn(st, svc)
	})
}

// lazyService resolves secrets from the store, loading the key ring on first
// use, so that a run that reads no stored secret never creates a key.
func (a *app) lazyService(ctx context.Context, st store.Store) *lazySource {
	return &lazySource{load: func() (*secret.Service, error) { return a.service(ctx, st) }}
}

// lazySource is a secret.PartialSource over a service loaded on first use.
type lazySource struct {
	load func() (*secret.Service, error)
	once sync.Once
	svc  *secret.Service
	err  error
}

func (l *lazySource) get() (*secret.Service, error) {
	l.once.Do(func() { l.svc, l.err = l.load() })
	return l.svc, l.err
}

// Resolve implements secret.Source.
func (l *lazySource) Resolve(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	svc, err := l.get()
	if err != nil {
		return nil, err
	}
	return svc.Resolve(ctx, ref, names)
}

// ResolveAvailable implements secret.PartialSource.
func (l *lazySource) ResolveAvailable(ctx context.Context, ref secret.ResolveRef, names []string) (map[string]string, error) {
	svc, err := l.get()
	if err != nil {
		return nil, err
	}
	return svc.ResolveAvailable(ctx, ref, names)
}

func (a *app) secretsCmd() *cobra.Command {
	c := &cobra.Command{Use: "secrets", Short: "Manage organization secrets (values are write-only)"}
	var description string
	set := &cobra.Command{
		Use:   "set NAME",
		Short: "Create or replace a secret; the value is read from stdin",
		Long: `Set reads the value from stdin, so that it never lands in shell history or
the process list. On a terminal it prompts without echo. One trailing newline is
dropped. Values are 4 bytes to 64 KiB.`,
		Args: args(func(c *cobra.Command, argv []string) error {
			if len(argv) > 1 {
				return fmt.Errorf("the value is read from standard input, not from arguments: printf '%%s' \"$VALUE\" | sluice secrets set %s", argv[0])
			}
			return cobra.ExactArgs(1)(c, argv)
		}),
		RunE: func(c *cobra.Command, argv []string) error {
			name := argv[0]
			value, err := secret.ReadValue(a.io.Stdin)
			if err != nil {
				return invalid("%w", err)
			}
			v := string(value)
			var descp *string
			if c.Flags().Changed("description") {
				descp = &description
			}
			err = a.withService(c.Context(), func(_ store.Store, svc *secret.Service) error {
				_, err := svc.Create(c.Context(), cliActor, name, v, description)
				if errors.Is(err, store.ErrExists) {
					if _, err = svc.Update(c.Context(), cliActor, name, &v, descp); err == nil {
						fmt.Fprintf(a.io.Stdout, "secret %s updated\n", name)
					}
				} else if err == nil {
					fmt.Fprintf(a.io.Stdout, "secret %s created\n", name)
				}
				return err
			})
			if errors.Is(err, secret.ErrInvalid) {
				return invalid("%w", err)
			}
			return err
		},
	}
	set.Flags().StringVar(&description, "description", "", "what the secret is for (at most 200 characters)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List secrets (names and metadata, never values)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				// With a key at hand, a wrong one is refused here
				// too, before it is used to write. Without any key,
				// the names are still listed (to delete the secrets
				// of a key lost for good).
				if a.keyPresent() {
					if _, err := a.service(ctx, st); err != nil {
						return err
					}
				}
				ms, err := st.ListSecrets(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.io.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tUPDATED\tCREATED BY\tDESCRIPTION")
				for _, m := range ms {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, m.UpdatedAt.UTC().Format("2006-01-02 15:04:05Z"), m.CreatedBy, m.Description)
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a secret",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				svc, err := a.deletionService(st)
				if err != nil {
					return err
				}
				if err := svc.Delete(c.Context(), cliActor, argv[0]); err != nil {
					return secretNotFoundHint(err)
				}
				fmt.Fprintf(a.io.Stdout, "secret %s deleted\n", argv[0])
				return nil
			})
		},
	}
	c.AddCommand(set, list, del)
	return c
}

func (a *app) keysCmd() *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage the master key ring"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new master key, re-encrypt every secret with it, retire the old one",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withService(c.Context(), func(_ store.Store, svc *secret.Service) error {
				res, err := svc.Rotate(c.Context(), cliActor)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.io.Stdout, "master key rotated: %d secret(s) re-encrypted with key %s; retired %v\n", res.Reencrypted, res.NewKeyID, res.RetiredKeyIDs)
				if res.Notice != "" {
					fmt.Fprintln(a.io.Stdout, res.Notice)
				}
				return nil
			})
		},
	}
	c.AddCommand(rotate, a.keysForgetCmd()) // keys_forget.go
	return c
}
