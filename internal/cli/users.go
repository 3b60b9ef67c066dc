package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// printCredentials shows a new client's credentials, the only time the
// secret is ever shown.
func (a *app) printCredentials(what string, cred auth.Credentials) {
	fmt.Fprintf(a.io.Stdout, "%s; the secret is shown only this once:\n  clientId:     %s\n  clientSecret: %s\n", what, cred.ClientID, cred.ClientSecret)
}

// credentialErr makes bad arguments and duplicates exit 2.
func credentialErr(err error) error {
	if errors.Is(err, auth.ErrInvalid) || errors.Is(err, store.ErrExists) {
		return invalid("%w", err)
	}
	return err
}

func (a *app) usersCmd() *cobra.Command {
	c := &cobra.Command{Use: "users", Short: "Manage users and their personal API credentials"}
	var spec auth.UserSpec
	create := &cobra.Command{
		Use:   "create --email E --role Admin|Member [--team T]...",
		Short: "Create a user and their personal credentials (printed once)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				u, cred, err := auth.CreateUser(ctx, st, spec)
				if exists := userExistsErr(ctx, st, spec.Email, err); exists != nil {
					return exists
				}
				if err != nil {
					return credentialErr(err)
				}
				a.printCredentials(fmt.Sprintf("created user %s (%s, %s)", u.Email, u.ID, u.Role), cred)
				return nil
			})
		},
	}
	create.Flags().StringVar(&spec.Email, "email", "", "the user's email (workflow permissions name users by email)")
	create.Flags().StringVar(&spec.Role, "role", "", "Admin or Member")
	create.Flags().StringArrayVar(&spec.Teams, "team", nil, "a team the user belongs to (repeat for several)")
	create.Flags().StringVar(&spec.FirstName, "first-name", "", "first name")
	create.Flags().StringVar(&spec.LastName, "last-name", "", "last name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				us, err := st.ListUsers(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.io.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tTEAMS\tNAME")
				for _, u := range us {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Role, strings.Join(u.Teams, ","), strings.TrimSpace(u.FirstName+" "+u.LastName))
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete EMAIL|ID",
		Short: "Delete a user with their credentials and access tokens",
		Long: `Delete removes a user, every client that acts as them and those clients'
access tokens, at once, also for a server running on the data dir. The runs
and secrets they created keep their createdBy. Deleting the last Admin is
allowed, with a warning.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				u, err := findUser(ctx, st, argv[0])
				if err != nil {
					return err
				}
				return a.deleteCredentials(ctx, st, func() error { return st.DeleteUser(ctx, u.ID) },
					fmt.Sprintf("deleted user %s (%s) with their credentials and access tokens", u.Email, u.ID))
			})
		},
	}
	c.AddCommand(create, list, del, a.setPasswordCmd())
	return c
}

// findUser returns the user with the given id, or email (compared
// regardless of case); exit 2 when there is none.
func findUser(ctx context.Context, st store.Store, idOrEmail string) (store.User, error) {
	us, err := st.ListUsers(ctx)
	if err != nil {
		return store.User{}, fmt.Errorf("list users: %w", err)
	}
	for _, u := range us {
		if u.ID == idOrEmail || strings.EqualFold(u.Email, idOrEmail) {
			return u, nil
		}
	}
	return store.User{}, invalid("no user has the id or email %q (see 'sluice users list')", idOrEmail)
}

// hasAdmin reports whether any credentials may act as an Admin: a machine
// client with the admin scope, or a client of an Admin user.
func hasAdmin(ctx context.Context, st store.Store) (bool, error) {
	cs, err := st.ListClients(ctx)
	if err != nil {
		return false, fmt.Errorf("list clients: %w", err)
	}
	for _, cl := range cs {
		if cl.UserID == "" {
			if slices.Contains(cl.Scopes, authz.ScopeAdmin) {
				return true, nil
			}
			continue
		}
		u, err := st.GetUser(ctx, cl.UserID)
		if err != nil {
			return false, fmt.Errorf("look up user %s: %w", cl.UserID, err)
		}
		if u.Role == store.RoleAdmin {
			return true, nil
		}
	}
	return false, nil
}

// deleteCredentials runs del, prints done, and warns when it removed the
// last Admin credentials (which is allowed: the command line on the data dir
// can always create new ones).
func (a *app) deleteCredentials(ctx context.Context, st store.Store, del func() error, done string) error {
	before, err := hasAdmin(ctx, st)
	if err != nil {
		return err
	}
	if err := del(); err != nil {
		return err
	}
	fmt.Fprintln(a.io.Stdout, done)
	after, err := hasAdmin(ctx, st)
	if err != nil {
		return err
	}
	if before && !after {
		fmt.Fprintf(a.io.Stderr, "warning: no Admin credentials are left on data dir %s; create some with: sluice clients create --name admin --scope admin --data-dir %s\n", a.dataDir, a.dataDir)
	}
	return nil
}

func (a *app) clientsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "clients",
		Short: "Manage machine API clients",
		Long: "Machine clients act with their scopes only. Scopes: " + strings.Join(authz.Scopes(), ", ") +
			" (admin grants every other scope). See docs/api.md.",
	}
	var spec auth.ClientSpec
	create := &cobra.Command{
		Use:   "create --name N --scope S...",
		Short: "Create a machine client (credentials printed once)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				cred, err := auth.CreateClient(ctx, st, auth.ClientSpec{Name: spec.Name, Scopes: spec.Scopes})
				if err != nil {
					return credentialErr(err)
				}
				a.printCredentials(fmt.Sprintf("created machine client %s with scopes %s", spec.Name, strings.Join(spec.Scopes, ", ")), cred)
				return nil
			})
		},
	}
	create.Flags().StringVar(&spec.Name, "name", "", "what the client is for")
	create.Flags().StringArrayVar(&spec.Scopes, "scope", nil, "a scope to grant (repeat for several): "+strings.Join(authz.Scopes(), ", "))

	list := &cobra.Command{
		Use:   "list",
		Short: "List API clients (never their secrets)",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				cs, err := st.ListClients(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.io.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT ID\tNAME\tUSER\tSCOPES")
				for _, cl := range cs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cl.ID, cl.Name, cl.UserID, strings.Join(cl.Scopes, ","))
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client and its access tokens",
		Long: `Delete removes a client (a machine client or a user's credentials) and
every access token issued to it. A server running on the data dir refuses
those tokens from then on: it reads tokens from the store on every request.
Deleting the last Admin client is allowed, with a warning.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				return a.deleteCredentials(ctx, st, func() error { return noClient(st.DeleteClient(ctx, argv[0]), argv[0]) },
					fmt.Sprintf("deleted client %s and its access tokens", argv[0]))
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke CLIENT_ID",
		Short: "Invalidate every access token issued to a client; the client stays",
		Long: `Revoke removes every access token issued to a client, at once, also for a
server running on the data dir. The client and its secret stay: it may
exchange the secret for new tokens. Revoke is for a leaked token; for a
leaked or lost secret, delete the client and create a new one.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, argv []string) error {
			return a.withStore(c.Context(), func(st store.Store) error {
				n, err := st.RevokeClientTokens(c.Context(), argv[0])
				if err != nil {
					return noClient(err, argv[0])
				}
				fmt.Fprintf(a.io.Stdout, "revoked %d access token(s) of client %s; its secret still gets new ones (delete the client if the secret leaked)\n", n, argv[0])
				return nil
			})
		},
	}
	c.AddCommand(create, list, del, revoke)
	return c
}

// noClient makes ErrNotFound about client id an error that exits 2.
func noClient(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return invalid("no client has the id %q (see 'sluice clients list')", id)
	}
	return err
}
