package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-run/sluice/internal/auth"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/sqlite"
	"github.com/sluice-run/sluice/internal/store/sqlite/sqlitetest"
)

func TestUsersSetPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := sluice(t, "", "users", "create", "--email", "Ann@example.com", "--role", "Member", "--data-dir", dir); r.code != 0 {
		t.Fatalf("users create: exit %d: %s", r.code, r.stderr)
	}
	const pw = "a long enough password"
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"as an argument", "", []string{"ann@example.com", pw}, 2, "", "not from arguments"},
		{"no user", pw, []string{"bob@example.com"}, 2, "", `no user has the id or email "bob@example.com"`},
		{"empty", "", []string{"ann@example.com"}, 2, "", "no password on standard input"},
		{"too short", "short\n", []string{"ann@example.com"}, 2, "", "password: must be at least 12 bytes"},
		{"set", pw + "\n", []string{"ann@example.com"}, 0, "password of Ann@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sluice(t, tc.stdin, append(append([]string{"users", "set-password"}, tc.args...), "--data-dir", dir)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d; stdout %q (want %q), stderr %q (want %q)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, pw) {
				t.Error("the output shows the password")
			}
		})
	}
	st, err := sqlitetest.Open(context.Background(), filepath.Join(dir, "sluice.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	us, err := st.ListUsers(t.Context())
	if err != nil || len(us) != 1 {
		t.Fatalf("ListUsers = %v, %v", us, err)
	}
	h, err := st.GetPassword(t.Context(), us[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.CheckPassword(h, pw); err != nil {
		t.Errorf("the stored hash does not match the password (trailing newline dropped): %v", err)
	}
	var _ store.SessionStore = st
}
