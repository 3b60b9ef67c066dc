// Package auth is sluice's authentication: API credentials (a clientId and a
// clientSecret), the bearer access tokens exchanged for them, and turning a
// token back into the actor it stands for (authz.Actor).
//
// Client secrets and tokens are 32 random bytes and are stored only as
// SHA-256 hashes. A fast hash is enough here, unlike for passwords: a slow
// KDF defends low-entropy secrets against guessing, and 256 random bits
// cannot be guessed however fast the hash is. Comparisons are constant-time,
// and an unknown clientId costs the same hash-and-compare as a wrong secret,
// so the answer and its timing class do not tell which it was.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
	"github.com/sluice-run/sluice/internal/store"
)

// Errors of the package; test with errors.Is.
var (
	// ErrInvalidCredentials is returned for an unknown clientId and for a
	// wrong clientSecret alike.
	ErrInvalidCredentials = errors.New("invalid client credentials")
	// ErrInvalidToken is returned for a missing, unknown, malformed or
	// expired access token alike.
	ErrInvalidToken = errors.New("invalid or expired access token")
	// ErrInvalid is matched by every *InvalidError.
	ErrInvalid = errors.New("invalid argument")
)

// InvalidError reports a bad field of a user or client to create. Message
// never quotes a secret.
type InvalidError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(field, format string, a ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// DefaultTokenTTL is how long an access token lives unless configured.
const DefaultTokenTTL = time.Hour

// Prefixes make credentials recognizable (and greppable by secret
// scanners); they carry no meaning to the server.
const (
	clientIDPrefix     = "cl_"
	clientSecretPrefix = "scs_"
	tokenPrefix        = "slt_"
	userIDPrefix       = "usr_"
)

// Store is the part of the store that auth uses.
type Store interface {
	CreateUser(ctx context.Context, u store.User) error
	GetUser(ctx context.Context, id string) (store.User, error)
	CreateClient(ctx context.Context, c store.Client) error
	GetClient(ctx context.Context, id string) (store.Client, error)
	ListClients(ctx context.Context) ([]store.Client, error)
	CreateToken(ctx context.Context, t store.Token) error
	GetToken(ctx context.Context, hash []byte) (store.Token, error)
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)
}

// Options configure an Authenticator.
type Options struct {
	// TokenTTL is the lifetime of issued tokens; 0 means DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the clock; nil means time.Now. Tests inject one to expire
	// tokens.
	Now func() time.Time
	// CacheTTL is how long Authenticate trusts a token it verified without
	// reading the store again (cache.go): revoking or deleting credentials
	// from another process takes effect within it. 0 means
	// DefaultCacheTTL; a negative value disables the cache.
	CacheTTL time.Duration
	// CacheSize bounds the tokens remembered; 0 means DefaultCacheSize.
	CacheSize int
}

// Authenticator issues access tokens and authenticates requests. It is safe
// for concurrent use.
type Authenticator struct {
	st    Store
	ttl   time.Duration
	now   func() time.Time
	dummy []byte      // the hash compared against for unknown clients
	cache *tokenCache // nil when disabled
}

// New returns an Authenticator over st.
func New(st Store, opts Options) *Authenticator {
	a := &Authenticator{st: st, ttl: opts.TokenTTL, now: opts.Now, cache: newTokenCache(opts.CacheTTL, opts.CacheSize)}
	if a.ttl <= 0 {
		a.ttl = DefaultTokenTTL
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.dummy = Hash(randomToken(""))
	return a
}

// TokenTTL returns the lifetime of issued tokens.
func (a *Authenticator) TokenTTL() time.Duration { return a.ttl }

// Hash returns the SHA-256 of a client secret or token, as stored.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// randomToken returns prefix + base64url of 32 random bytes.
func randomToken(prefix string) string {
	var b [32]byte
	// rand.Read never fails on supported platforms (Go 1.24+ crashes instead).
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomID returns prefix + 16 random alphanumerics.
func randomID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := []byte(prefix)
	for _, x := range b {
		out = append(out, idAlphabet[int(x)%len(idAlphabet)])
	}
	return string(out)
}

// Credentials are a client's id and secret, shown once when created.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

// IssueToken exchanges client credentials for a bearer access token and
// returns it with its lifetime. It fails with ErrInvalidCredentials for an
// unknown client and a wrong secret alike.
func (a *Authenticator) IssueToken(ctx context.Context, clientID, clientSecret string) (string, time.Duration, error) {
	got := Hash(clientSecret)
	c, err := a.st.GetClient(ctx, clientID)
	want := c.SecretHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		want = a.dummy // same work as a real comparison
	case err != nil:
		return "", 0, fmt.Errorf("look up client: %w", err)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 || err != nil {
		return "", 0, ErrInvalidCredentials
	}
	now := a.now().UTC()
	tok := randomToken(tokenPrefix)
	if err := a.st.CreateToken(ctx, store.Token{Hash: Hash(tok), ClientID: c.ID, CreatedAt: now, ExpiresAt: now.Add(a.ttl)}); err != nil {
		return "", 0, fmt.Errorf("store access token: %w", err)
	}
	return tok, a.ttl, nil
}

// Authenticate returns the actor a bearer token stands for. It fails with
// ErrInvalidToken for a token that is unknown or expired, or whose client
// or user is gone. A token verified less than Options.CacheTTL ago is
// answered from memory (never past its expiry): a revocation from another
// process takes effect within that time.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (authz.Actor, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return authz.Actor{}, ErrInvalidToken
	}
	key := sha256.Sum256([]byte(token))
	now := a.now()
	if actor, ok := a.cache.get(key, now); ok {
		return actor, nil
	}
	actor, expires, err := a.verify(ctx, token)
	if err != nil {
		return authz.Actor{}, err
	}
	a.cache.put(key, actor, now, expires)
	return actor, nil
}

// Forget drops every verified token from memory, so that the next request
// of each reads the store (for a revocation made in this process).
func (a *Authenticator) Forget() { a.cache.forget() }

// verify reads a token, its client and its user from the store, and
// returns the actor and the token's expiry.
func (a *Authenticator) verify(ctx context.Context, token string) (authz.Actor, time.Time, error) {
	t, err := a.st.GetToken(ctx, Hash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return authz.Actor{}, time.Time{}, ErrInvalidToken
	case err != nil:
		return authz.Actor{}, time.Time{}, fmt.Errorf("look up access token: %w", err)
	}
	// The store found the token by its hash; compare again in constant
	// time so that the check does not rest on the index alone.
	if subtle.ConstantTimeCompare(t.Hash, Hash(token)) != 1 || !a.now().Before(t.ExpiresAt) {
		return authz.Actor{}, time.Time{}, ErrInvalidToken
	}
	c, err := a.st.GetClient(ctx, t.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return authz.Actor{}, time.Time{}, ErrInvalidToken
	case err != nil:
		return authz.Actor{}, time.Time{}, fmt.Errorf("look up client %s: %w", t.ClientID, err)
	}
	if c.UserID == "" {
		return authz.Actor{ID: c.ID, ClientID: c.ID, Machine: true, Scopes: c.Scopes}, t.ExpiresAt, nil
	}
	u, err := a.st.GetUser(ctx, c.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return authz.Actor{}, time.Time{}, ErrInvalidToken
	case err != nil:
		return authz.Actor{}, time.Time{}, fmt.Errorf("look up user %s: %w", c.UserID, err)
	}
	return authz.Actor{
		ID: u.ID, ClientID: c.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Role: u.Role, Teams: u.Teams,
	}, t.ExpiresAt, nil
}

// DeleteExpired removes the tokens that have expired and returns how many.
func (a *Authenticator) DeleteExpired(ctx context.Context) (int, error) {
	n, err := a.st.DeleteExpiredTokens(ctx, a.now())
	if err != nil {
		return 0, fmt.Errorf("delete expired tokens: %w", err)
	}
	return n, nil
}

// ClientSpec describes a machine client to create.
type ClientSpec struct {
	Name   string
	Scopes []string
	// ClientID and ClientSecret, when both set, are used instead of fresh
	// random ones (the bootstrap Admin client from the environment). The
	// secret must be at least 32 characters.
	ClientID     string
	ClientSecret string
}

// MinSecretLen is the shortest client secret accepted from outside.
const MinSecretLen = 32

// CreateClient creates a machine client and returns its credentials, the
// only time the secret is ever shown. Unknown scopes are rejected, naming
// the scope.
func CreateClient(ctx context.Context, st Store, spec ClientSpec) (Credentials, error) {
	cred, c, err := newClient(spec)
	if err != nil {
		return Credentials{}, err
	}
	if err := st.CreateClient(ctx, c); err != nil {
		return Credentials{}, fmt.Errorf("create client %s: %w", cred.ClientID, err)
	}
	return cred, nil
}

// newClient checks spec and returns the credentials and the client to store
// for it.
func newClient(spec ClientSpec) (Credentials, store.Client, error) {
	if strings.TrimSpace(spec.Name) == "" {
		return Credentials{}, store.Client{}, invalidf("name", "must not be empty")
	}
	if len(spec.Scopes) == 0 {
		return Credentials{}, store.Client{}, invalidf("scopes", "at least one is needed (one of %s)", strings.Join(authz.Scopes(), ", "))
	}
	for i, s := range spec.Scopes {
		if !authz.ValidScope(s) {
			return Credentials{}, store.Client{}, invalidf(fmt.Sprintf("scopes[%d]", i), "unknown scope %q (want one of %s)", s, strings.Join(authz.Scopes(), ", "))
		}
	}
	cred := Credentials{ClientID: randomID(clientIDPrefix), ClientSecret: randomToken(clientSecretPrefix)}
	if spec.ClientID != "" || spec.ClientSecret != "" {
		if spec.ClientID == "" || spec.ClientSecret == "" {
			return Credentials{}, store.Client{}, invalidf("clientId", "give clientId and clientSecret both or neither")
		}
		if len(spec.ClientSecret) < MinSecretLen {
			return Credentials{}, store.Client{}, invalidf("clientSecret", "must be at least %d characters", MinSecretLen)
		}
		cred = Credentials{ClientID: spec.ClientID, ClientSecret: spec.ClientSecret}
	}
	return cred, store.Client{ID: cred.ClientID, Name: spec.Name, SecretHash: Hash(cred.ClientSecret), Scopes: spec.Scopes}, nil
}

// UserSpec describes a user to create.
type UserSpec struct {
	Email     string
	Role      string // store.RoleAdmin | store.RoleMember
	Teams     []string
	FirstName string
	LastName  string
}

// CreateUser creates a user and their personal credentials, and returns
// both; the secret is shown only this once.
func CreateUser(ctx context.Context, st Store, spec UserSpec) (store.User, Credentials, error) {
	email := strings.TrimSpace(spec.Email)
	if at := strings.IndexByte(email, '@'); at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n") {
		return store.User{}, Credentials{}, invalidf("email", "must be an address like name@example.com")
	}
	if spec.Role != store.RoleAdmin && spec.Role != store.RoleMember {
		return store.User{}, Credentials{}, invalidf("role", "must be %s or %s, got %q", store.RoleAdmin, store.RoleMember, spec.Role)
	}
	for i, t := range spec.Teams {
		if strings.TrimSpace(t) == "" {
			return store.User{}, Credentials{}, invalidf(fmt.Sprintf("teams[%d]", i), "must not be empty")
		}
	}
	u := store.User{ID: randomID(userIDPrefix), Email: email, FirstName: spec.FirstName, LastName: spec.LastName, Role: spec.Role, Teams: spec.Teams}
	if err := st.CreateUser(ctx, u); err != nil {
		return store.User{}, Credentials{}, fmt.Errorf("create user %s: %w", email, err)
	}
	cred := Credentials{ClientID: randomID(clientIDPrefix), ClientSecret: randomToken(clientSecretPrefix)}
	if err := st.CreateClient(ctx, store.Client{ID: cred.ClientID, Name: email, SecretHash: Hash(cred.ClientSecret), UserID: u.ID}); err != nil {
		return store.User{}, Credentials{}, fmt.Errorf("create credentials of user %s: %w", email, err)
	}
	return u, cred, nil
}

// Bootstrap creates the first Admin machine client (scope admin) when the
// store has no client at all, and returns its credentials and true. With a
// clientId and clientSecret given (from the environment) it uses them.
// When any client exists it does nothing and returns false.
//
// On a store that implements store.ClientBootstrapper (both of sluice's)
// the check and the creation are one step: of several processes
// bootstrapping one empty store at once, exactly one creates the client and
// the others return false. On any other store it lists the clients, then
// creates one: processes racing there may each create an Admin client.
func Bootstrap(ctx context.Context, st Store, clientID, clientSecret string) (Credentials, bool, error) {
	spec := ClientSpec{Name: "admin", Scopes: []string{authz.ScopeAdmin}, ClientID: clientID, ClientSecret: clientSecret}
	if b, ok := st.(store.ClientBootstrapper); ok {
		// Bad credentials from the environment fail only the start of an
		// empty store, as they always did: the path below says so, writing
		// nothing.
		if cred, c, err := newClient(spec); err == nil {
			created, err := b.CreateFirstClient(ctx, c)
			if err != nil {
				return Credentials{}, false, fmt.Errorf("create the first Admin client %s: %w", cred.ClientID, err)
			}
			if !created {
				return Credentials{}, false, nil
			}
			return cred, true, nil
		}
	}
	cs, err := st.ListClients(ctx)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("list clients: %w", err)
	}
	if len(cs) > 0 {
		return Credentials{}, false, nil
	}
	cred, err := CreateClient(ctx, st, spec)
	if err != nil {
		return Credentials{}, false, fmt.Errorf("create the first Admin client: %w", err)
	}
	return cred, true, nil
}
