package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/store"
)

// setPasswordCmd is `sluice users set-password EMAIL|ID`: the password a
// person signs in to the web UI with, read from standard input.
func (a *app) setPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-password EMAIL|ID",
		Short: "Set a user's web UI password; it is read from stdin",
		Long: `Set-password sets (or replaces) the password a user signs in to the web UI
with. It is read from stdin, so that it never lands in shell history or the
process list; on a terminal it prompts twice without echo. One trailing
newline is dropped. Passwords are 12 to 1024 bytes and are stored only as an
argon2id hash. Setting a password ends the user's open UI sessions.`,
		Args: args(func(c *cobra.Command, argv []string) error {
			if len(argv) > 1 {
				return fmt.Errorf("the password is read from standard input, not from arguments: sluice users set-password %s", argv[0])
			}
			return cobra.ExactArgs(1)(c, argv)
		}),
		RunE: func(c *cobra.Command, argv []string) error {
			p, err := readPassword(a.io.Stdin)
			if err != nil {
				return invalid("%w", err)
			}
			hash, err := auth.HashPassword(p)
			if err != nil {
				return invalid("%w", err)
			}
			return a.withStore(c.Context(), func(st store.Store) error {
				ctx := c.Context()
				ss, ok := st.(store.SessionStore)
				if !ok {
					return errors.New("this store keeps no passwords: the web UI's sign-in needs the SQLite store")
				}
				u, err := findUser(ctx, st, argv[0])
				if err != nil {
					return err
				}
				if err := ss.SetPassword(ctx, u.ID, hash, time.Now()); err != nil {
					return err
				}
				if _, err := ss.DeleteUserSessions(ctx, u.ID); err != nil {
					return fmt.Errorf("end the sessions signed in with the old password: %w", err)
				}
				fmt.Fprintf(a.io.Stdout, "password of %s (%s) set; sign in at /login\n", u.Email, u.ID)
				return nil
			})
		},
	}
}

// readPassword reads a password from f: on a terminal, twice without echo
// (the two must match); otherwise to the end, dropping one trailing
// newline.
func readPassword(f *os.File) (string, error) {
	if fd := int(f.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(os.Stderr, "Password (input is hidden): ")
		p1, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password from the terminal: %w", err)
		}
		fmt.Fprint(os.Stderr, "Again: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password from the terminal: %w", err)
		}
		if !bytes.Equal(p1, p2) {
			return "", errors.New("the two passwords differ")
		}
		return string(p1), nil
	}
	b, err := io.ReadAll(io.LimitReader(f, auth.MaxPasswordBytes+3))
	if err != nil {
		return "", fmt.Errorf("read password from %s: %w", f.Name(), err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return "", errors.New("no password on standard input")
	}
	return string(b), nil
}
