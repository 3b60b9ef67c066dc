package engine

import (
	"container/list"
	"sync"

	"github.com/sluice-run/sluice/internal/workflow"
)

// DefaultMaxDefinitions is Options.MaxDefinitions when it is 0.
const DefaultMaxDefinitions = 512

// defCache keeps the most recently used compiled workflow versions, at most
// max of them: a server that saves a new version on every deploy for months
// must not keep every version it ever parsed. An evicted version is parsed
// again from the store when a run of it is loaded. It is safe for concurrent
// use.
type defCache struct {
	mu    sync.Mutex
	max   int
	order *list.List               // front: most recently used; values are *defEntry
	byKey map[string]*list.Element // "identifier@version" → element of order
}

type defEntry struct {
	key string
	wf  *workflow.Workflow
}

func newDefCache(size int) *defCache {
	if size <= 0 {
		size = DefaultMaxDefinitions
	}
	return &defCache{max: size, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the cached version and marks it used.
func (c *defCache) get(key string) (*workflow.Workflow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*defEntry).wf, true
}

// add caches wf under key unless a version is already cached there, and
// returns the cached one; the least recently used entry goes when the cache
// is full.
func (c *defCache) add(key string, wf *workflow.Workflow) *workflow.Workflow {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*defEntry).wf
	}
	c.byKey[key] = c.order.PushFront(&defEntry{key: key, wf: wf})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*defEntry).key)
	}
	return wf
}

func (c *defCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Stats counts what an Engine holds in memory. Every count is bounded: by
// Options.MaxDefinitions, or by the runs that are unfinished in this process
// (started, driven or waiting with a redactor), never by the lifetime of the
// process.
type Stats struct {
	// Definitions is the number of compiled workflow versions cached.
	Definitions int
	// Redactors is the number of unfinished runs whose redactor is kept.
	Redactors int
	// Started is the number of runs started (Start) and not yet executed
	// nor abandoned.
	Started int
	// Locks is the number of runs being driven (or waited for) right now.
	Locks int
}

// Stats returns what the engine holds in memory now.
func (e *Engine) Stats() Stats {
	s := Stats{Definitions: e.defs.len()}
	e.redactors.Range(func(_, _ any) bool { s.Redactors++; return true })
	e.started.Range(func(_, _ any) bool { s.Started++; return true })
	e.mu.Lock()
	s.Locks = len(e.locks)
	e.mu.Unlock()
	return s
}

// Abandon drops what the engine keeps for a run that was started (Start)
// and that this process will not execute, because it shuts down or has no
// room to: its state and its redactor. The run stays IN_PROGRESS in the
// store and is executed by a later Execute (Resume at the next start, or a
// sweep), which rebuilds both from the store.
func (e *Engine) Abandon(runID string) {
	e.forget(runID)
}

// forget drops every piece of memory the engine keeps for a run: called
// whenever a run ends, whatever the path (finish, cancel, a CANCELLED
// completion, a driver that finds the run finished by someone else), and
// when a started run is abandoned.
func (e *Engine) forget(runID string) {
	e.started.Delete(runID)
	e.redactors.Delete(runID)
	e.degraded.Delete(runID)
}
