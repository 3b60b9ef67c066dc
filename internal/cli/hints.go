package cli

// Hints: what the CLI adds to an error a user can cause so that it names
// the flag or field at fault and says what to do next (a port in use, no
// server at --server, a user that exists, a definition that is not JSON, a
// secret named before it is defined, a run that waits for a response).
// Each answers what a new user hit on a first try from a fresh clone.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/sluice-run/sluice/internal/client"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/view"
)

// listenHint is what to do when serve cannot listen on addr: empty unless
// the address is taken, the usual case being a server already running on
// another data dir.
func listenHint(addr string, err error) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	return fmt.Sprintf(": another process listens on %s (another sluice serve, on another data dir?): stop it, or choose a free address with --addr (SLUICE_ADDR), for example --addr 127.0.0.1:7071", addr)
}

// loginClientIDHint says where a client id comes from, for a login that
// was given none.
const loginClientIDHint = "the clientId that sluice serve printed on its first start, or one printed by sluice clients create or sluice users create on the data dir"

// unreachableHint wraps an error that got no answer from the server with
// what to check; other errors are returned as they are.
func unreachableHint(err error) error {
	var ne *client.NetworkError
	if !errors.As(err, &ne) {
		return err
	}
	return fmt.Errorf("%w: is sluice serve running there? Start it, or give the address it printed (sluice listening on ...) with --server or SLUICE_SERVER", err)
}

// userExistsErr turns the store's conflict of a user created twice into
// an error naming --email and the commands that manage the existing user;
// nil when err is not that conflict.
func userExistsErr(ctx context.Context, st store.Store, email string, err error) error {
	if !errors.Is(err, store.ErrExists) {
		return nil
	}
	u, ferr := findUser(ctx, st, strings.TrimSpace(email))
	if ferr != nil {
		return nil
	}
	return invalid("--email: user %s already exists (%s, %s): see sluice users list; sluice users set-password %s sets their web UI password, sluice users delete %s removes them", u.Email, u.ID, u.Role, u.Email, u.Email)
}

// definitionIdentifier reads the identifier of a workflow definition file
// for workflows apply, with an error that names the file and, for bytes
// that are not JSON, the line and column of the fault.
func definitionIdentifier(file string, data []byte) (string, error) {
	var head struct {
		Identifier *string `json:"identifier"`
	}
	err := json.Unmarshal(data, &head)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset is just past the byte at fault; at the end, past the end.
		at, what := se.Offset-1, se.Error()
		if strings.Contains(what, "unexpected end") {
			at, what = se.Offset, "the file ends before the definition does"
		}
		line, col := lineCol(data, max(at, 0))
		return "", invalid("%s: malformed JSON at line %d, column %d: %s (sluice validate -f %s lists every problem)", file, line, col, what, file)
	case errors.As(err, &te) && te.Field == "":
		return "", invalid("%s: not a workflow definition: a JSON object is required, got a JSON %s", file, te.Value)
	case errors.As(err, &te):
		return "", invalid("%s: identifier: must be a string, got a JSON %s", file, te.Value)
	case err != nil:
		return "", invalid("%s: %w", file, err)
	case head.Identifier == nil || *head.Identifier == "":
		return "", invalid("%s: identifier: required field is missing (sluice validate -f %s lists every problem)", file, file)
	}
	return *head.Identifier, nil
}

// lineCol turns a byte offset of data into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// warnUndefinedSecret prints a warning when a flag names a secret that is
// not defined yet: the command succeeds (the secret may come later), but
// what uses it fails until then.
func (a *app) warnUndefinedSecret(ctx context.Context, st store.Store, flag, name, fails string) {
	if name == "" {
		return
	}
	if _, err := st.GetSecret(ctx, name); !errors.Is(err, store.ErrNotFound) {
		return
	}
	fmt.Fprintf(a.io.Stderr, "warning: %s: secret %s is not defined yet; %s until it is (sluice secrets set %s reads its value from stdin)\n", flag, name, fails, name)
}

// inProgressNote names the node run a follow stopped at and, for an INPUT
// node, the command that answers it: otherwise a run waiting for an
// approval looks stuck.
func inProgressNote(nr view.NodeRun) string {
	if nr.NodeConfigType != nil && *nr.NodeConfigType == "INPUT" {
		return fmt.Sprintf(" (node %s, node run %s, waits for a response: sluice runs respond %s --button BUTTON, by one of its responders)", nr.Node.Identifier, nr.Identifier, nr.Identifier)
	}
	return fmt.Sprintf(" (node %s, node run %s, is in progress)", nr.Node.Identifier, nr.Identifier)
}

// secretNotFoundHint adds to a secret that does not exist where to see the
// ones that do; other errors are returned as they are.
func secretNotFoundHint(err error) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return &exitError{code: ExitFailed, err: fmt.Errorf("%w (names are case-sensitive: sluice secrets list shows them)", err)}
}
