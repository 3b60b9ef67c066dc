package cli

import (
	"errors"
	"fmt"
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
	c.AddCommand(create, list)
	return c
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
	c.AddCommand(create, list)
	return c
}
