package cli

import (
	"regexp"
	"strings"
	"testing"
)

func TestUsersAndClientsCommands(t *testing.T) {
	dir := t.TempDir()
	secretRe := regexp.MustCompile(`clientSecret: (\S+)`)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"create a member", []string{"users", "create", "--email", "ann@example.com", "--role", "Member", "--team", "web", "--team", "ops", "--first-name", "Ann"}, 0, "clientSecret: scs_", ""},
		{"create an admin", []string{"users", "create", "--email", "root@example.com", "--role", "Admin"}, 0, "clientId:     cl_", ""},
		{"duplicate email", []string{"users", "create", "--email", "ann@example.com", "--role", "Member"}, 2, "", "exists"},
		{"bad role", []string{"users", "create", "--email", "x@example.com", "--role", "Owner"}, 2, "", "role"},
		{"bad email", []string{"users", "create", "--email", "nobody", "--role", "Member"}, 2, "", "email"},
		{"missing role", []string{"users", "create", "--email", "x@example.com"}, 2, "", "role"},
		{"list users", []string{"users", "list"}, 0, "ann@example.com", ""},
		{"create a client", []string{"clients", "create", "--name", "ci", "--scope", "execute:workflows", "--scope", "update:runs"}, 0, "clientSecret: scs_", ""},
		{"unknown scope", []string{"clients", "create", "--name", "ci", "--scope", "write:everything"}, 2, "", `scopes[0]: unknown scope "write:everything"`},
		{"no scope", []string{"clients", "create", "--name", "ci"}, 2, "", "scopes"},
		{"list clients", []string{"clients", "list"}, 0, "execute:workflows,update:runs", ""},
	}
	var secrets []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append(tc.args, "--data-dir", dir)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout: %s\nstderr: %s", tc.stdout, tc.stderr, r.stdout, r.stderr)
			}
			if m := secretRe.FindStringSubmatch(r.stdout); m != nil {
				secrets = append(secrets, m[1])
			}
		})
	}
	// Secrets are shown once: never by a list.
	for _, args := range [][]string{{"users", "list"}, {"clients", "list"}} {
		r := sluice(t, "", append(args, "--data-dir", dir)...)
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) {
				t.Errorf("%v shows a client secret", args)
			}
		}
	}
	if len(secrets) != 3 {
		t.Errorf("%d secrets printed, want 3", len(secrets))
	}
}

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"bad database URL", []string{"serve", "--addr", "127.0.0.1:0", "--database-url", "postgres://localhost:notaport/sluice"}, "--database-url: postgres: open: the database URL is not valid"},
		{"bad log level", []string{"serve", "--log-level", "loud"}, "--log-level"},
		{"missing key file", []string{"serve", "--webhook-signing-key-file", "/nonexistent/key"}, "--webhook-signing-key-file"},
		{"bad address", []string{"serve", "--addr", "256.0.0.1:99999"}, "--addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append(tc.args, "--data-dir", t.TempDir())...)
			if r.code != ExitInvalid || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.stderr)
			}
		})
	}
}

var credRe = regexp.MustCompile(`clientId:\s+(\S+)\s+clientSecret:\s+(\S+)`)

// credentials returns the clientId and clientSecret printed in out.
func credentials(t *testing.T, out string) (string, string) {
	t.Helper()
	m := credRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no credentials printed:\n%s", out)
	}
	return m[1], m[2]
}

func TestDeleteAndRevokeCommands(t *testing.T) {
	dir := dataDir(t)
	mustRun := func(args ...string) result {
		t.Helper()
		r := sluice(t, "", append(args, "--data-dir", dir)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		return r
	}
	adminID, _ := credentials(t, mustRun("clients", "create", "--name", "admin", "--scope", "admin").stdout)
	ciID, _ := credentials(t, mustRun("clients", "create", "--name", "ci", "--scope", "read:runs").stdout)
	mustRun("users", "create", "--email", "ann@example.com", "--role", "Member")
	mustRun("users", "create", "--email", "root@example.com", "--role", "Admin")
	const noAdmin = "warning: no Admin credentials are left"

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"revoke an unknown client", []string{"clients", "revoke", "cl_nope"}, 2, "", `no client has the id "cl_nope"`},
		{"delete an unknown client", []string{"clients", "delete", "cl_nope"}, 2, "", `no client has the id "cl_nope"`},
		{"delete an unknown user", []string{"users", "delete", "nobody@example.com"}, 2, "", `no user has the id or email "nobody@example.com"`},
		{"delete without an argument", []string{"clients", "delete"}, 2, "", "accepts 1 arg"},
		{"a misspelt subcommand", []string{"clients", "revok", ciID}, 2, "", `unknown command "revok" for "sluice clients"`},
		{"a misspelt users subcommand", []string{"users", "remove", "ann@example.com"}, 2, "", `unknown command "remove" for "sluice users"`},
		{"revoke a client", []string{"clients", "revoke", ciID}, 0, "revoked 0 access token(s) of client " + ciID, ""},
		{"delete a client", []string{"clients", "delete", ciID}, 0, "deleted client " + ciID, ""},
		{"delete a member by email, any case", []string{"users", "delete", "Ann@Example.com"}, 0, "deleted user ann@example.com", ""},
		{"delete an Admin client while an Admin user is left", []string{"clients", "delete", adminID}, 0, "deleted client " + adminID, ""},
		{"delete the last Admin", []string{"users", "delete", "root@example.com"}, 0, "deleted user root@example.com", noAdmin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, "", append(tc.args, "--data-dir", dir)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout: %s (want %q)\nstderr: %s (want %q)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
			if tc.stderr != noAdmin && strings.Contains(r.stderr, noAdmin) {
				t.Errorf("warned of no Admin left while one is:\n%s", r.stderr)
			}
		})
	}
	if r := mustRun("clients", "list"); strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("clients left:\n%s", r.stdout)
	}
	if r := mustRun("users", "list"); strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("users left:\n%s", r.stdout)
	}
	// The documented way back in: a new Admin client on the data dir.
	if r := mustRun("clients", "create", "--name", "admin", "--scope", "admin"); !strings.Contains(r.stdout, "clientSecret: scs_") {
		t.Errorf("new Admin client:\n%s", r.stdout)
	}
}
