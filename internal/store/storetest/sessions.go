package storetest

import (
	"testing"

	"github.com/sluice-run/sluice/internal/store"
)

// testSessions checks passwords and UI sessions, for stores that implement
// store.SessionStore; others skip it.
func testSessions(t *testing.T, open opener) {
	s := open(t)
	ss, ok := s.(store.SessionStore)
	if !ok {
		t.Skip("the store does not implement store.SessionStore")
	}
	ann := user("usr_ann", "ann@example.test", 0)
	bob := user("usr_bob", "bob@example.test", 1)
	for _, u := range []store.User{ann, bob} {
		must(t, "CreateUser "+u.ID, s.CreateUser(ctx(t), u))
	}

	// Passwords.
	_, err := ss.GetPassword(ctx(t), ann.ID)
	wantErr(t, "GetPassword (none set)", err, store.ErrNotFound)
	wantErr(t, "SetPassword (no such user)", ss.SetPassword(ctx(t), "usr_missing", "$argon2id$x", at(1)), store.ErrNotFound)
	must(t, "SetPassword", ss.SetPassword(ctx(t), ann.ID, "$argon2id$one", at(1)))
	must(t, "SetPassword (replace)", ss.SetPassword(ctx(t), ann.ID, "$argon2id$two", at(2)))
	got, err := ss.GetPassword(ctx(t), ann.ID)
	must(t, "GetPassword", err)
	if got != "$argon2id$two" {
		t.Errorf("GetPassword = %q, want the replaced hash", got)
	}

	// Sessions.
	a1 := store.Session{Hash: hash("a1"), UserID: ann.ID, CreatedAt: at(1), ExpiresAt: at(10)}
	a2 := store.Session{Hash: hash("a2"), UserID: ann.ID, CreatedAt: at(2), ExpiresAt: at(20)}
	b1 := store.Session{Hash: hash("b1"), UserID: bob.ID, CreatedAt: at(3), ExpiresAt: at(5)}
	for _, x := range []store.Session{a1, a2, b1} {
		must(t, "CreateSession", ss.CreateSession(ctx(t), x))
	}
	wantErr(t, "CreateSession (hash taken)", ss.CreateSession(ctx(t), a1), store.ErrExists)
	wantErr(t, "CreateSession (no such user)", ss.CreateSession(ctx(t), store.Session{Hash: hash("x"), UserID: "usr_missing", ExpiresAt: at(9)}), store.ErrNotFound)
	g, err := ss.GetSession(ctx(t), a1.Hash)
	must(t, "GetSession", err)
	c := checker{t, "GetSession"}
	c.eq("UserID", g.UserID, ann.ID)
	c.time("CreatedAt", g.CreatedAt, a1.CreatedAt)
	c.time("ExpiresAt", g.ExpiresAt, a1.ExpiresAt)
	_, err = ss.GetSession(ctx(t), hash("missing"))
	wantErr(t, "GetSession (missing)", err, store.ErrNotFound)

	n, err := ss.DeleteExpiredSessions(ctx(t), at(5))
	must(t, "DeleteExpiredSessions", err)
	if n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, want 1 (bob's, expiring at the cut-off)", n)
	}
	must(t, "DeleteSession", ss.DeleteSession(ctx(t), a1.Hash))
	must(t, "DeleteSession (again)", ss.DeleteSession(ctx(t), a1.Hash))
	_, err = ss.GetSession(ctx(t), a1.Hash)
	wantErr(t, "GetSession (deleted)", err, store.ErrNotFound)
	if _, err := ss.GetSession(ctx(t), a2.Hash); err != nil {
		t.Errorf("GetSession of another session after DeleteSession: %v", err)
	}

	// Deleting the user takes their password and sessions with them.
	must(t, "DeleteUser", s.DeleteUser(ctx(t), ann.ID))
	_, err = ss.GetSession(ctx(t), a2.Hash)
	wantErr(t, "GetSession (user deleted)", err, store.ErrNotFound)
	_, err = ss.GetPassword(ctx(t), ann.ID)
	wantErr(t, "GetPassword (user deleted)", err, store.ErrNotFound)

	must(t, "CreateSession bob", ss.CreateSession(ctx(t), store.Session{Hash: hash("b2"), UserID: bob.ID, ExpiresAt: at(30)}))
	n, err = ss.DeleteUserSessions(ctx(t), bob.ID)
	must(t, "DeleteUserSessions", err)
	if n != 1 {
		t.Errorf("DeleteUserSessions = %d, want 1", n)
	}
}
