package redact

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// Cache shares built matchers between Redactors that register the same
// patterns. The runs of one workflow usually do (the same secrets, the same
// derived values), so with a Cache a run does not pay for building its
// automaton. It is safe for concurrent use; a nil *Cache builds every
// matcher anew.
//
// A Cache keeps matchers in memory only, keyed by a SHA-256 of their
// patterns; the patterns are secret material and live exactly as long as the
// matchers that hold them.
type Cache struct {
	mu    sync.Mutex
	max   int
	m     map[[sha256.Size]byte]*matcher
	order [][sha256.Size]byte // insertion order, for eviction
}

// NewCache returns a cache that holds at most size matchers (at least 1).
func NewCache(size int) *Cache {
	if size < 1 {
		size = 1
	}
	return &Cache{max: size, m: make(map[[sha256.Size]byte]*matcher, size)}
}

// NewShared returns a Redactor with no patterns that takes its matchers from
// c when another Redactor already built one for the same patterns.
func NewShared(c *Cache) *Redactor {
	return &Redactor{cache: c}
}

// matcher returns the matcher of the sorted, unique patterns ps.
func (c *Cache) matcher(ps []string) *matcher {
	if c == nil || len(ps) == 0 {
		return newMatcher(ps)
	}
	key := patternsKey(ps)
	c.mu.Lock()
	m, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return m
	}
	m = newMatcher(ps) // outside the lock: building can take milliseconds
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[key]; ok {
		return prev
	}
	if len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[key] = m
	c.order = append(c.order, key)
	return m
}

// patternsKey hashes a pattern list unambiguously (length-prefixed).
func patternsKey(ps []string) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, p := range ps {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}
