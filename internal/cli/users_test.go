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
		{"postgres", []string{"serve", "--database-url", "postgres://localhost/sluice"}, "PostgreSQL is not supported yet"},
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
