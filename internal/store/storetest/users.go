package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// strs returns ss, with an empty list as nil: a store may return either.
func strs(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

func checkUser(t *testing.T, what string, got, want store.User) {
	t.Helper()
	c := checker{t, what}
	c.eq("ID", got.ID, want.ID)
	c.eq("Email", got.Email, want.Email)
	c.eq("FirstName", got.FirstName, want.FirstName)
	c.eq("LastName", got.LastName, want.LastName)
	c.eq("Role", got.Role, want.Role)
	c.eq("Teams", strs(got.Teams), strs(want.Teams))
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
}

func checkUsers(t *testing.T, what string, got, want []store.User) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d users, want %d", what, len(got), len(want))
	}
	for i := range want {
		checkUser(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func checkClient(t *testing.T, what string, got, want store.Client) {
	t.Helper()
	c := checker{t, what}
	c.eq("ID", got.ID, want.ID)
	c.eq("Name", got.Name, want.Name)
	if !bytes.Equal(got.SecretHash, want.SecretHash) {
		t.Errorf("%s: SecretHash = %x, want %x", what, got.SecretHash, want.SecretHash)
	}
	c.eq("UserID", got.UserID, want.UserID)
	c.eq("Scopes", strs(got.Scopes), strs(want.Scopes))
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
}

func checkClients(t *testing.T, what string, got, want []store.Client) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d clients, want %d", what, len(got), len(want))
	}
	for i := range want {
		checkClient(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func checkToken(t *testing.T, what string, got, want store.Token) {
	t.Helper()
	c := checker{t, what}
	if !bytes.Equal(got.Hash, want.Hash) {
		t.Errorf("%s: Hash = %x, want %x", what, got.Hash, want.Hash)
	}
	c.eq("ClientID", got.ClientID, want.ClientID)
	c.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	c.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

// user returns a Member created at at(i).
func user(id, email string, i int, teams ...string) store.User {
	return store.User{ID: id, Email: email, FirstName: "First " + id, LastName: "Last " + id, Role: store.RoleMember, Teams: teams, CreatedAt: at(i)}
}

// hash returns a stand-in for a hash: binary, with a zero byte, so that a
// store that treats it as text fails.
func hash(s string) []byte { return append([]byte{0, 0xff}, s...) }

// client returns a client of user userID ("" for a machine) created at at(i).
func client(id, userID string, i int, scopes ...string) store.Client {
	return store.Client{ID: id, Name: "client " + id, SecretHash: hash("secret-of-" + id), UserID: userID, Scopes: scopes, CreatedAt: at(i)}
}

func testUsers(t *testing.T, open opener) {
	s := open(t)
	list, err := s.ListUsers(ctx(t))
	must(t, "ListUsers (empty)", err)
	if len(list) != 0 {
		t.Fatalf("ListUsers on an empty store = %d users", len(list))
	}

	// Created out of email order. Byte order would put "Carol" first; the
	// list compares emails regardless of case.
	carol := user("usr_carol", "Carol@example.test", 0, "platform", "sre")
	bob := user("usr_bob", "bob@example.test", 1)
	ann := user("usr_ann", "ann@example.test", 2, "platform")
	ann.Role = store.RoleAdmin
	for _, u := range []store.User{carol, bob, ann} {
		must(t, "CreateUser "+u.ID, s.CreateUser(ctx(t), u))
	}
	got, err := s.GetUser(ctx(t), "usr_carol")
	must(t, "GetUser", err)
	checkUser(t, "GetUser", got, carol)
	_, err = s.GetUser(ctx(t), "usr_missing")
	wantErr(t, "GetUser(missing)", err, store.ErrNotFound)
	_, err = s.GetUser(ctx(t), "USR_CAROL")
	wantErr(t, "GetUser(id in another case)", err, store.ErrNotFound)

	want := []store.User{ann, bob, carol}
	list, err = s.ListUsers(ctx(t))
	must(t, "ListUsers", err)
	checkUsers(t, "ListUsers", list, want)

	// A taken id or email (in any case) is rejected and writes nothing.
	for _, tc := range []struct {
		name string
		u    store.User
	}{
		{"taken id", user("usr_bob", "robert@example.test", 5)},
		{"taken email", user("usr_other", "bob@example.test", 5)},
		{"taken email in another case", user("usr_other", "BOB@Example.TEST", 5)},
		{"taken email, mixed case stored", user("usr_other", "carol@example.test", 5)},
	} {
		wantErr(t, "CreateUser("+tc.name+")", s.CreateUser(ctx(t), tc.u), store.ErrExists)
	}
	_, err = s.GetUser(ctx(t), "usr_other")
	wantErr(t, "GetUser of a rejected user", err, store.ErrNotFound)
	list, err = s.ListUsers(ctx(t))
	must(t, "ListUsers", err)
	checkUsers(t, "ListUsers after rejected creates", list, want)

	// A zero CreatedAt is the time of the write.
	before := time.Now()
	dan := user("usr_dan", "dan@example.test", 0)
	dan.CreatedAt = time.Time{}
	must(t, "CreateUser (zero time)", s.CreateUser(ctx(t), dan))
	after := time.Now()
	got, err = s.GetUser(ctx(t), "usr_dan")
	must(t, "GetUser", err)
	checker{t, "GetUser (zero time)"}.between("CreatedAt", got.CreatedAt, before, after)
}

func testClients(t *testing.T, open opener) {
	s := open(t)
	list, err := s.ListClients(ctx(t))
	must(t, "ListClients (empty)", err)
	if len(list) != 0 {
		t.Fatalf("ListClients on an empty store = %d clients", len(list))
	}
	must(t, "CreateUser", s.CreateUser(ctx(t), user("usr_ann", "ann@example.test", 0)))

	// A machine client with scopes, and one that acts as a user; created
	// out of id order.
	machine := client("ci-deployer", "", 1, "read:secrets", "create:secrets")
	personal := client("ann-cli", "usr_ann", 2)
	for _, c := range []store.Client{machine, personal} {
		must(t, "CreateClient "+c.ID, s.CreateClient(ctx(t), c))
	}
	got, err := s.GetClient(ctx(t), "ci-deployer")
	must(t, "GetClient", err)
	checkClient(t, "GetClient machine", got, machine)
	got, err = s.GetClient(ctx(t), "ann-cli")
	must(t, "GetClient", err)
	checkClient(t, "GetClient personal", got, personal)
	_, err = s.GetClient(ctx(t), "missing")
	wantErr(t, "GetClient(missing)", err, store.ErrNotFound)

	want := []store.Client{personal, machine}
	list, err = s.ListClients(ctx(t))
	must(t, "ListClients", err)
	checkClients(t, "ListClients", list, want)

	// Rejected: a taken id, a user that does not exist. Nothing is written.
	wantErr(t, "CreateClient(taken id)", s.CreateClient(ctx(t), client("ci-deployer", "usr_ann", 3)), store.ErrExists)
	wantErr(t, "CreateClient(missing user)", s.CreateClient(ctx(t), client("ghost", "usr_missing", 3)), store.ErrNotFound)
	_, err = s.GetClient(ctx(t), "ghost")
	wantErr(t, "GetClient of a rejected client", err, store.ErrNotFound)
	list, err = s.ListClients(ctx(t))
	must(t, "ListClients", err)
	checkClients(t, "ListClients after rejected creates", list, want)

	// A zero CreatedAt is the time of the write.
	before := time.Now()
	zero := client("zero", "", 0)
	zero.CreatedAt = time.Time{}
	must(t, "CreateClient (zero time)", s.CreateClient(ctx(t), zero))
	after := time.Now()
	got, err = s.GetClient(ctx(t), "zero")
	must(t, "GetClient", err)
	checker{t, "GetClient (zero time)"}.between("CreatedAt", got.CreatedAt, before, after)
}

func testTokens(t *testing.T, open opener) {
	s := open(t)
	must(t, "CreateClient", s.CreateClient(ctx(t), client("ci", "", 0)))
	must(t, "CreateClient", s.CreateClient(ctx(t), client("cd", "", 0)))

	// Tokens that expire at at(1) .. at(4), of two clients.
	var tokens []store.Token
	for i := 1; i <= 4; i++ {
		id := "ci"
		if i%2 == 0 {
			id = "cd"
		}
		tok := store.Token{Hash: hash(fmt.Sprintf("token-%d", i)), ClientID: id, CreatedAt: at(0), ExpiresAt: at(i)}
		must(t, "CreateToken", s.CreateToken(ctx(t), tok))
		tokens = append(tokens, tok)
	}
	for i, tok := range tokens {
		got, err := s.GetToken(ctx(t), tok.Hash)
		must(t, "GetToken", err)
		checkToken(t, fmt.Sprintf("GetToken %d", i+1), got, tok)
	}
	_, err := s.GetToken(ctx(t), hash("missing"))
	wantErr(t, "GetToken(missing)", err, store.ErrNotFound)
	// A hash is compared as bytes, whole.
	_, err = s.GetToken(ctx(t), tokens[0].Hash[:len(tokens[0].Hash)-1])
	wantErr(t, "GetToken(prefix of a hash)", err, store.ErrNotFound)

	// Rejected: a taken hash, a missing client.
	dup := store.Token{Hash: tokens[0].Hash, ClientID: "cd", CreatedAt: at(5), ExpiresAt: at(50)}
	wantErr(t, "CreateToken(taken hash)", s.CreateToken(ctx(t), dup), store.ErrExists)
	got, err := s.GetToken(ctx(t), tokens[0].Hash)
	must(t, "GetToken", err)
	checkToken(t, "GetToken after a rejected duplicate", got, tokens[0])
	orphan := store.Token{Hash: hash("orphan"), ClientID: "missing", CreatedAt: at(5), ExpiresAt: at(50)}
	wantErr(t, "CreateToken(missing client)", s.CreateToken(ctx(t), orphan), store.ErrNotFound)
	_, err = s.GetToken(ctx(t), orphan.Hash)
	wantErr(t, "GetToken of a rejected token", err, store.ErrNotFound)

	// Expired strictly before at(3): the tokens expiring at at(1) and
	// at(2); the one expiring exactly at at(3) stays.
	for _, tc := range []struct {
		before time.Time
		want   int
	}{
		{at(0), 0},
		{at(3), 2},
		{at(3), 0},
		{at(4).Add(time.Millisecond), 2},
	} {
		n, err := s.DeleteExpiredTokens(ctx(t), tc.before)
		must(t, "DeleteExpiredTokens", err)
		if n != tc.want {
			t.Errorf("DeleteExpiredTokens(%v) = %d, want %d", tc.before, n, tc.want)
		}
		for i, tok := range tokens {
			_, err := s.GetToken(ctx(t), tok.Hash)
			if tok.ExpiresAt.Before(tc.before) {
				wantErr(t, fmt.Sprintf("GetToken %d after DeleteExpiredTokens(%v)", i+1, tc.before), err, store.ErrNotFound)
			} else {
				must(t, fmt.Sprintf("GetToken %d after DeleteExpiredTokens(%v)", i+1, tc.before), err)
			}
		}
	}
}

func testDeleteCredentials(t *testing.T, open opener) {
	s := open(t)
	ann := user("usr_ann", "ann@example.test", 0)
	bob := user("usr_bob", "bob@example.test", 1)
	for _, u := range []store.User{ann, bob} {
		must(t, "CreateUser "+u.ID, s.CreateUser(ctx(t), u))
	}
	// Two clients of ann, one of bob, two machines; two tokens each.
	clients := []store.Client{
		client("ann-1", "usr_ann", 1), client("ann-2", "usr_ann", 2), client("bob-1", "usr_bob", 3),
		client("ci", "", 4, "execute:workflows"), client("cd", "", 5, "admin"),
	}
	tokens := map[string][]store.Token{}
	for _, c := range clients {
		must(t, "CreateClient "+c.ID, s.CreateClient(ctx(t), c))
		for i := range 2 {
			tok := store.Token{Hash: hash(fmt.Sprintf("token-%s-%d", c.ID, i)), ClientID: c.ID, CreatedAt: at(0), ExpiresAt: at(100)}
			must(t, "CreateToken", s.CreateToken(ctx(t), tok))
			tokens[c.ID] = append(tokens[c.ID], tok)
		}
	}
	// tokensLive checks that a client's tokens are found, or not.
	tokensLive := func(what, clientID string, live bool) {
		t.Helper()
		for _, tok := range tokens[clientID] {
			_, err := s.GetToken(ctx(t), tok.Hash)
			if live {
				must(t, what+": GetToken of "+clientID, err)
			} else {
				wantErr(t, what+": GetToken of "+clientID, err, store.ErrNotFound)
			}
		}
	}
	clientIDs := func() []string {
		t.Helper()
		cs, err := s.ListClients(ctx(t))
		must(t, "ListClients", err)
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		return ids
	}

	// Missing ids: ErrNotFound, and nothing changes.
	wantErr(t, "DeleteClient(missing)", s.DeleteClient(ctx(t), "missing"), store.ErrNotFound)
	_, err := s.RevokeClientTokens(ctx(t), "missing")
	wantErr(t, "RevokeClientTokens(missing)", err, store.ErrNotFound)
	wantErr(t, "DeleteUser(missing)", s.DeleteUser(ctx(t), "usr_missing"), store.ErrNotFound)
	wantErr(t, "DeleteUser(a client id)", s.DeleteUser(ctx(t), "ann-1"), store.ErrNotFound)
	c := checker{t, "after rejected deletes"}
	c.eq("clients", clientIDs(), []string{"ann-1", "ann-2", "bob-1", "cd", "ci"})

	// Revoking keeps the client and its secret, drops its tokens only, and
	// the client may get new tokens.
	n, err := s.RevokeClientTokens(ctx(t), "ci")
	must(t, "RevokeClientTokens", err)
	if n != 2 {
		t.Errorf("RevokeClientTokens(ci) = %d, want 2", n)
	}
	tokensLive("after revoking ci", "ci", false)
	tokensLive("after revoking ci", "cd", true)
	got, err := s.GetClient(ctx(t), "ci")
	must(t, "GetClient after revoke", err)
	checkClient(t, "GetClient after revoke", got, clients[3])
	n, err = s.RevokeClientTokens(ctx(t), "ci")
	must(t, "RevokeClientTokens again", err)
	if n != 0 {
		t.Errorf("RevokeClientTokens(ci) again = %d, want 0", n)
	}
	fresh := store.Token{Hash: hash("token-ci-new"), ClientID: "ci", CreatedAt: at(0), ExpiresAt: at(100)}
	must(t, "CreateToken after revoke", s.CreateToken(ctx(t), fresh))
	_, err = s.GetToken(ctx(t), fresh.Hash)
	must(t, "GetToken of a token issued after revoke", err)

	// Deleting a client makes its tokens unknown at once; the others stay.
	must(t, "DeleteClient", s.DeleteClient(ctx(t), "cd"))
	_, err = s.GetClient(ctx(t), "cd")
	wantErr(t, "GetClient of a deleted client", err, store.ErrNotFound)
	tokensLive("after deleting cd", "cd", false)
	tokensLive("after deleting cd", "bob-1", true)
	c.eq("clients after DeleteClient", clientIDs(), []string{"ann-1", "ann-2", "bob-1", "ci"})
	wantErr(t, "DeleteClient twice", s.DeleteClient(ctx(t), "cd"), store.ErrNotFound)
	wantErr(t, "CreateToken for a deleted client", s.CreateToken(ctx(t), store.Token{Hash: hash("late"), ClientID: "cd", CreatedAt: at(0), ExpiresAt: at(100)}), store.ErrNotFound)
	// The id may be used again, with no token of the old client.
	must(t, "CreateClient with a deleted id", s.CreateClient(ctx(t), client("cd", "", 6, "admin")))
	tokensLive("after re-creating cd", "cd", false)

	// A user's personal client may be deleted on its own.
	must(t, "DeleteClient of a user's client", s.DeleteClient(ctx(t), "ann-2"))
	tokensLive("after deleting ann-2", "ann-2", false)
	tokensLive("after deleting ann-2", "ann-1", true)

	// Deleting a user removes them, their clients and tokens; other users
	// keep theirs.
	must(t, "DeleteUser", s.DeleteUser(ctx(t), "usr_ann"))
	_, err = s.GetUser(ctx(t), "usr_ann")
	wantErr(t, "GetUser of a deleted user", err, store.ErrNotFound)
	tokensLive("after deleting ann", "ann-1", false)
	tokensLive("after deleting ann", "bob-1", true)
	c.eq("clients after DeleteUser", clientIDs(), []string{"bob-1", "cd", "ci"})
	users, err := s.ListUsers(ctx(t))
	must(t, "ListUsers", err)
	checkUsers(t, "ListUsers after DeleteUser", users, []store.User{bob})
	wantErr(t, "DeleteUser twice", s.DeleteUser(ctx(t), "usr_ann"), store.ErrNotFound)
	// The email may be used again.
	must(t, "CreateUser with a deleted email", s.CreateUser(ctx(t), user("usr_ann2", "ANN@example.test", 7)))
}
