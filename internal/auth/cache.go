package auth

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/sluice-run/sluice/internal/authz"
)

// DefaultCacheTTL is how long Authenticate remembers a verified token
// unless Options.CacheTTL says otherwise: a token revoked or deleted, or a
// client or user deleted or changed, from another process (the command
// line) stops working, or takes its new rights, within this long.
const DefaultCacheTTL = 2 * time.Second

// DefaultCacheSize bounds the verified tokens remembered at once.
const DefaultCacheSize = 10000

// tokenCache remembers the actors of verified tokens for a short time, so
// that a client sending many requests costs the store no reads (the
// token, its client and its user) on each one. It is bounded: when full, an
// arbitrary entry makes room. Entries are keyed by the token's SHA-256, so
// the cache holds no token.
type tokenCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[[sha256.Size]byte]cacheEntry
}

type cacheEntry struct {
	actor   authz.Actor
	until   time.Time // the end of the cache's trust
	expires time.Time // the token's own expiry
}

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if ttl < 0 {
		return nil
	}
	if max <= 0 {
		max = DefaultCacheSize
	}
	return &tokenCache{ttl: ttl, max: max, entries: map[[sha256.Size]byte]cacheEntry{}}
}

// get returns the actor of a token verified less than ttl ago that has not
// expired. The actor's slices are copies.
func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (authz.Actor, bool) {
	if c == nil {
		return authz.Actor{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[key]
	if ok && (!now.Before(e.until) || !now.Before(e.expires)) {
		delete(c.entries, key)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return authz.Actor{}, false
	}
	a := e.actor
	a.Teams = slices.Clone(a.Teams)
	a.Scopes = slices.Clone(a.Scopes)
	return a, true
}

// put remembers a verified token's actor until now+ttl, or the token's
// expiry if sooner.
func (c *tokenCache) put(key [sha256.Size]byte, a authz.Actor, now, expires time.Time) {
	if c == nil {
		return
	}
	a.Teams = slices.Clone(a.Teams)
	a.Scopes = slices.Clone(a.Scopes)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = cacheEntry{actor: a, until: now.Add(c.ttl), expires: expires}
}

// forget drops every entry.
func (c *tokenCache) forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
