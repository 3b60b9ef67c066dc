package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/sluice-run/sluice/internal/client"
)

// The client commands (login, workflows apply|list|get|delete, runs
// start|list|get|watch|cancel|respond, nodes complete) talk to a running
// server; the local commands work on a data dir. They find the server and
// the credentials the same way (docs/configuration.md, "Client commands"):
//
//	server:      --server, else SLUICE_SERVER, else SLUICE_URL (the older
//	             name), else the server of the last sluice login
//	credentials: --token, else SLUICE_TOKEN, else SLUICE_CLIENT_ID with
//	             SLUICE_CLIENT_SECRET, else those saved by sluice login
//	             (only for the server they were saved for)

// Command groups of the root's help: which commands work on a data dir and
// which are clients of a server.
const (
	groupLocal  = "local"
	groupClient = "client"
)

// connFlags are the flags every client command takes.
type connFlags struct {
	server string
	token  string
	output string
}

func (f *connFlags) add(fl *pflag.FlagSet, withOutput bool) {
	fl.StringVar(&f.server, "server", "", "URL of the running server (else SLUICE_SERVER, else the server of sluice login)")
	fl.StringVar(&f.token, "token", "", "bearer access token (else SLUICE_TOKEN, else the credentials of sluice login)")
	if withOutput {
		fl.StringVarP(&f.output, "output", "o", "text", "output format: text (a table) or json")
	}
}

// savedLogin is what sluice login keeps in the user's config dir, mode
// 0600: the server, the client credentials (the API has no refresh token:
// the secret is what gets a new access token) and the current token.
type savedLogin struct {
	Server       string    `json:"server"`
	ClientID     string    `json:"clientId"`
	ClientSecret string    `json:"clientSecret"`
	AccessToken  string    `json:"accessToken,omitempty"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
}

// loginPath returns the file sluice login writes: SLUICE_CONFIG_DIR, else
// $XDG_CONFIG_HOME/sluice, else $HOME/.config/sluice, then credentials.json.
func (a *app) loginPath() (string, error) {
	dir := a.io.Getenv("SLUICE_CONFIG_DIR")
	if dir == "" {
		if x := a.io.Getenv("XDG_CONFIG_HOME"); x != "" {
			dir = filepath.Join(x, "sluice")
		} else if h := a.io.Getenv("HOME"); h != "" {
			dir = filepath.Join(h, ".config", "sluice")
		} else {
			return "", errors.New("no config dir: set SLUICE_CONFIG_DIR, XDG_CONFIG_HOME or HOME")
		}
	}
	return filepath.Join(dir, "credentials.json"), nil
}

// readLogin returns the saved login; nil when there is none.
func (a *app) readLogin() (*savedLogin, error) {
	p, err := a.loginPath()
	if err != nil {
		return nil, nil
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the saved login: %w", err)
	}
	var l savedLogin
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("the saved login %s is not valid JSON (log in again: sluice login): %w", p, err)
	}
	return &l, nil
}

// writeLogin saves l with mode 0600 in a dir of mode 0700, replacing the
// file atomically so that a crash leaves the old login or the new one.
func (a *app) writeLogin(l *savedLogin) (string, error) {
	p, err := a.loginPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".credentials-*")
	if err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save the login: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save the login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("save the login: %w", err)
	}
	return p, nil
}

// serverURL returns the server a client command talks to, by the order
// above; "" when none is given.
func (a *app) serverURL(flag string, saved *savedLogin) string {
	for _, v := range []string{flag, a.io.Getenv("SLUICE_SERVER"), a.io.Getenv("SLUICE_URL")} {
		if v != "" {
			return v
		}
	}
	if saved != nil {
		return saved.Server
	}
	return ""
}

// connect returns a client of the server the flags and the environment
// name, with the credentials found by the order above.
func (a *app) connect(f connFlags) (*client.Client, error) {
	saved, err := a.readLogin()
	if err != nil {
		return nil, err
	}
	server := a.serverURL(f.server, saved)
	if server == "" {
		return nil, invalid("--server: required (or SLUICE_SERVER, or sluice login --server URL first): the URL of the running server")
	}
	c, err := client.New(server)
	if err != nil {
		return nil, invalid("--server: %w", err)
	}
	switch {
	case f.token != "":
		c.Token = f.token
	case a.io.Getenv("SLUICE_TOKEN") != "":
		c.Token = a.io.Getenv("SLUICE_TOKEN")
	case a.io.Getenv("SLUICE_CLIENT_ID") != "" && a.io.Getenv("SLUICE_CLIENT_SECRET") != "":
		c.ClientID, c.ClientSecret = a.io.Getenv("SLUICE_CLIENT_ID"), a.io.Getenv("SLUICE_CLIENT_SECRET")
	case saved != nil && strings.TrimRight(saved.Server, "/") == c.Base:
		// Saved credentials go only to the server they were saved for.
		c.ClientID, c.ClientSecret = saved.ClientID, saved.ClientSecret
		if saved.AccessToken != "" && time.Until(saved.ExpiresAt) > 30*time.Second {
			c.Token = saved.AccessToken
		}
		c.OnToken = func(tok string, exp time.Time) {
			saved.AccessToken, saved.ExpiresAt = tok, exp
			if _, err := a.writeLogin(saved); err != nil {
				a.logger.Warn("could not keep the new access token", "error", err.Error())
			}
		}
	default:
		return nil, invalid("no credentials for %s: run sluice login --server %s, or set SLUICE_TOKEN, or SLUICE_CLIENT_ID and SLUICE_CLIENT_SECRET", c.Base, c.Base)
	}
	return c, nil
}

// apiError maps a client error to the exit codes: a refused argument (400,
// 422) exits 2 with each detail printed as <path>: <message>; any other
// refusal or a network error exits 1, worded as the API words it.
func (a *app) apiError(what string, err error) error {
	if err == nil {
		return nil
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		for _, d := range ae.Details {
			fmt.Fprintf(a.io.Stderr, "%s: %s\n", d.Path, d.Message)
		}
		code := ExitFailed
		if ae.Status == 400 || ae.Status == 422 {
			code = ExitInvalid
		}
		return &exitError{code: code, err: fmt.Errorf("%s: %w", what, ae)}
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: ExitFailed, err: fmt.Errorf("%s: %w", what, unreachableHint(err))}
}

func (a *app) loginCmd() *cobra.Command {
	var server, clientID, secretFile string
	c := &cobra.Command{
		Use:     "login --server URL",
		GroupID: groupClient,
		Short:   "Log in to a running server and keep the credentials for the client commands",
		Long: `Login checks a client id and secret against a running server (POST
/v1/auth/access_token) and saves the server, the credentials and the access
token in the user's config dir ($SLUICE_CONFIG_DIR, else
$XDG_CONFIG_HOME/sluice, else ~/.config/sluice: credentials.json, mode
0600). The client commands then use them for that server, exchanging the
secret for a new token when the old one expires.

The client id comes from --client-id, else SLUICE_CLIENT_ID, else a prompt;
the secret from SLUICE_CLIENT_SECRET, else --client-secret-file, else a
prompt that does not echo (or the first line of stdin when it is not a
terminal). Neither is ever printed. --server may also come from
SLUICE_SERVER.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return a.login(c, server, clientID, secretFile)
		},
	}
	fl := c.Flags()
	fl.StringVar(&server, "server", "", "URL of the running server (else SLUICE_SERVER)")
	fl.StringVar(&clientID, "client-id", "", "API client id (else SLUICE_CLIENT_ID, else asked)")
	fl.StringVar(&secretFile, "client-secret-file", "", "file holding the client secret (else SLUICE_CLIENT_SECRET, else asked)")
	return c
}

func (a *app) login(c *cobra.Command, server, clientID, secretFile string) error {
	if server == "" {
		server = a.serverURL("", nil)
	}
	if server == "" {
		return invalid("--server: required (or SLUICE_SERVER): the URL of the running server")
	}
	cl, err := client.New(server)
	if err != nil {
		return invalid("--server: %w", err)
	}
	tty := a.io.Stdin != nil && term.IsTerminal(int(a.io.Stdin.Fd()))
	var lines *bufio.Reader
	if a.io.Stdin != nil && !tty {
		lines = bufio.NewReader(a.io.Stdin)
	}
	if clientID == "" {
		clientID = a.io.Getenv("SLUICE_CLIENT_ID")
	}
	if clientID == "" && tty {
		fmt.Fprint(a.io.Stderr, "client id: ")
		clientID, err = readLine(bufio.NewReader(a.io.Stdin))
		if err != nil {
			return invalid("client id: %w", err)
		}
	}
	if clientID == "" {
		return invalid("--client-id: required (or SLUICE_CLIENT_ID): %s", loginClientIDHint)
	}
	secret := a.io.Getenv("SLUICE_CLIENT_SECRET")
	switch {
	case secret != "":
	case secretFile != "":
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return invalid("--client-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	case tty:
		fmt.Fprint(a.io.Stderr, "client secret: ")
		b, err := term.ReadPassword(int(a.io.Stdin.Fd()))
		fmt.Fprintln(a.io.Stderr)
		if err != nil {
			return invalid("client secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	case lines != nil:
		secret, _ = readLine(lines)
	}
	if secret == "" {
		return invalid("client secret: required: SLUICE_CLIENT_SECRET, --client-secret-file, or on stdin")
	}
	cl.ClientID, cl.ClientSecret = clientID, secret
	tok, exp, err := cl.Exchange(c.Context())
	if err != nil {
		return a.apiError("login to "+cl.Base, err)
	}
	p, err := a.writeLogin(&savedLogin{Server: cl.Base, ClientID: clientID, ClientSecret: secret, AccessToken: tok, ExpiresAt: exp})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Stdout, "logged in to %s as %s; credentials saved in %s (mode 0600)\n", cl.Base, clientID, p)
	return nil
}

// readLine reads one line without its end.
func readLine(r *bufio.Reader) (string, error) {
	s, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || s == "") {
		return "", err
	}
	return strings.TrimSpace(s), nil
}

// addClientCmds adds the client commands and the version to root, and
// sorts root's commands into the local ones (a data dir) and the clients
// of a running server in the help.
func (a *app) addClientCmds(root *cobra.Command) {
	root.AddGroup(
		&cobra.Group{ID: groupLocal, Title: "Local commands (on --data-dir, or --database-url):"},
		&cobra.Group{ID: groupClient, Title: "Clients of a running server (--server or sluice login; docs/configuration.md):"},
	)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "runs":
			c.GroupID = groupClient
			a.addRunClientCmds(c)
			for _, sub := range c.Commands() {
				if sub.GroupID == "" {
					sub.GroupID = groupClient
				}
			}
			c.AddGroup(&cobra.Group{ID: groupClient, Title: "Clients of a running server:"})
		case "workflows":
			c.Short = "Work on workflows: scan the data dir's, or apply, list, get and delete a server's"
			a.addWorkflowClientCmds(c)
		case "kafka":
			// consume reads brokers, and completes through a server.
		default:
			c.GroupID = groupLocal
		}
	}
	root.AddCommand(a.loginCmd(), a.nodesCmd(), a.versionCmd(), a.configCmd())
}
