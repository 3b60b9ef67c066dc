package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/sluice-run/sluice/internal/redact"
	"github.com/sluice-run/sluice/internal/secret"
	"github.com/sluice-run/sluice/internal/store"
)

// Sealer seals what a run's redactor knows for the store, and opens it
// again: secret.Service, with the master key ring
// (docs/decisions/022-sealed-run-values.md).
//
// SealRunHeld holds off key rotations until release is called, which the
// engine does once the sealed row is committed or given up, so that no row
// reaches the store under a key a rotation retired meanwhile.
type Sealer interface {
	SealRunHeld(runID string, v secret.RunValues) (keyID string, sealed []byte, release func(), err error)
	OpenRun(runID, keyID string, sealed []byte) (secret.RunValues, error)
}

// sealBuf holds the values registered with a run's redactor since its last
// committed step: the next step seals them in its own transaction. Node
// executors may resolve secrets from several goroutines, hence the lock.
type sealBuf struct {
	mu sync.Mutex
	v  secret.RunValues
	// origin is set until the run's first sealed row is committed: that
	// row marks the run as sealed from its start (store.SealedValues.Origin).
	origin bool
}

func (b *sealBuf) add(v string, derived bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	list := &b.v.Values
	if derived {
		list = &b.v.Derived
	}
	if !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
}

// initSeal turns sealing on when the store keeps sealed values and a
// sealer is at hand (Options.Sealer, else Options.Secrets when it seals).
func (e *Engine) initSeal(opts Options) {
	sealer := opts.Sealer
	if sealer == nil {
		sealer, _ = opts.Secrets.(Sealer)
	}
	if ss, ok := opts.Store.(store.SealStore); ok && sealer != nil {
		e.sealer, e.seals = sealer, ss
	}
}

// sealing reports whether the engine seals what runs' redactors know, and
// so keeps no redactor for a run that waits.
func (e *Engine) sealing() bool { return e.seals != nil }

// deriver is the Derived hook of a render for st: the value is registered
// with the run's redactor and sealed with the next step.
func (e *Engine) deriver(st *runState) func(string) {
	return func(v string) {
		st.red.AddDerived(v)
		if e.sealing() && len(v) >= redact.MinLen {
			st.sealBuf().add(v, true)
		}
	}
}

// sealBuf returns st's buffer of values to seal.
func (st *runState) sealBuf() *sealBuf {
	st.sealOnce.Do(func() {
		if st.pending == nil {
			st.pending = &sealBuf{}
		}
	})
	return st.pending
}

// attachSeal seals the values registered since st's last committed step
// into t, unless t finishes the run (the store then deletes the run's rows).
// done must be called once t is applied or given up (committed tells
// which): it empties the buffer of what was committed, and lets key
// rotations go on (Sealer).
func (e *Engine) attachSeal(st *runState, t *store.Transition) (done func(committed bool), err error) {
	nothing := func(bool) {}
	if !e.sealing() || t.Finish != nil || st.pending == nil {
		return nothing, nil
	}
	b := st.pending
	b.mu.Lock()
	v := secret.RunValues{Values: slices.Clone(b.v.Values), Derived: slices.Clone(b.v.Derived)}
	origin := b.origin
	b.mu.Unlock()
	if len(v.Values) == 0 && len(v.Derived) == 0 && !origin {
		return nothing, nil
	}
	keyID, sealed, release, err := e.sealer.SealRunHeld(st.run.Identifier, v)
	if err != nil {
		release()
		return nil, err
	}
	t.Seal = &store.SealedValues{RunID: st.run.Identifier, Origin: origin, KeyID: keyID, Sealed: sealed, CreatedAt: e.now().UTC()}
	return func(committed bool) {
		release()
		if !committed {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.v.Values = b.v.Values[len(v.Values):]
		b.v.Derived = b.v.Derived[len(v.Derived):]
		if origin {
			b.origin = false
		}
	}, nil
}

// flushSeal commits, in a step of their own, the values registered with
// st's redactor outside a step (a re-render for an integration, a poll's
// secrets) before anything that may hold them is stored.
func (e *Engine) flushSeal(ctx context.Context, st *runState) error {
	t := store.Transition{RunID: st.run.Identifier}
	done, err := e.attachSeal(st, &t)
	if err != nil {
		return fmt.Errorf("seal the values of run %s: %w", st.run.Identifier, err)
	}
	if t.Seal == nil {
		done(false)
		return nil
	}
	err = e.store.Apply(ctx, t)
	done(err == nil)
	if err != nil {
		return fmt.Errorf("seal the values of run %s: %w", st.run.Identifier, err)
	}
	return nil
}

// rebuild registers with st's new redactor what the run's sealed rows hold.
// It reports whether they hold every value the run used: the rows include
// the one its first step wrote (Origin) and all of them open. A run with
// no origin row (started before sealing) falls back to the secrets as they
// are now plus a re-render of the waiting nodes (rederive), whose
// completeness it then reports. A row that does not open (tampered, or
// sealed with a key the ring lacks) means values the run used are lost:
// the secrets as they are now may differ from them, so the run is never
// reported complete and its completions are masked whole; what the other
// rows and the current secrets hold is still registered, for everything
// else the redactor masks.
// maxSealRereads bounds how often openSeals reads a run's sealed rows again
// because a key rotation moved them to a new key while it opened them.
const maxSealRereads = 5

// openSeals reads and opens every sealed row of run runID. exact says one
// is the run's origin row; lost says a row does not open (it is logged and
// left out). A row whose key left the ring was read before a rotation
// resealed it and retired that key: the rows are read again (up to
// maxSealRereads times) rather than taken as lost.
func (e *Engine) openSeals(ctx context.Context, runID string) (vals []secret.RunValues, exact, lost bool, err error) {
	for attempt := 0; ; attempt++ {
		rows, err := e.seals.RunSeals(ctx, runID)
		if err != nil {
			return nil, false, false, fmt.Errorf("load the sealed values of run %s: %w", runID, err)
		}
		vals, exact, lost = vals[:0], false, false
		reread := false
		for _, r := range rows {
			v, err := e.sealer.OpenRun(runID, r.KeyID, r.Sealed)
			if err != nil {
				var de *secret.DecryptError
				if !errors.As(err, &de) {
					return nil, false, false, fmt.Errorf("open the sealed values of run %s: %w", runID, err)
				}
				if de.KeyMissing() && attempt < maxSealRereads {
					reread = true
					break
				}
				e.log.Warn("a sealed row of a run's values does not open; its completions will be masked whole",
					"run", runID, "row", r.ID, "keyId", r.KeyID, "error", err.Error())
				lost = true
				continue
			}
			exact = exact || r.Origin
			vals = append(vals, v)
		}
		if !reread {
			return vals, exact, lost, nil
		}
	}
}

func (e *Engine) rebuild(ctx context.Context, st *runState, nrs []store.NodeRun) (complete bool, err error) {
	vals, exact, lost, err := e.openSeals(ctx, st.run.Identifier)
	if err != nil {
		return false, err
	}
	for _, v := range vals {
		for _, s := range v.Values {
			st.red.Add(s)
		}
		for _, s := range v.Derived {
			st.red.AddDerived(s)
		}
	}
	if lost {
		// Values are lost: mask the completions whole, whatever the
		// current secrets and a re-render give. Those only add to what
		// the redactor masks, so failing to resolve them (a secret whose
		// key is lost too) does not stop the completion.
		if err := e.registerAll(ctx, st, ""); err != nil {
			e.log.Warn("resolving the current secrets of a run whose sealed values are lost failed; its completions are masked whole",
				"run", st.run.Identifier, "error", e.redactError(st, err))
			return false, nil
		}
		e.rederive(ctx, st, nrs)
		return false, nil
	}
	if exact {
		// A node run that began an attempt and does not wait was handed
		// its config, whose derived values are sealed only with its step:
		// the process stopped before that step committed (or another
		// process drives it). Its config may have left, so re-derive it as
		// a run without seals would; a failure masks the completion whole.
		var executing []store.NodeRun
		for _, nr := range nrs {
			if nr.Status == store.StatusInProgress && !nr.Waiting && nr.Attempts > 0 {
				executing = append(executing, nr)
			}
		}
		if len(executing) == 0 {
			return true, nil
		}
		return e.rederive(ctx, st, executing), nil
	}
	// Started before sealing existed: what it used before is not sealed.
	if err := e.registerAll(ctx, st, ""); err != nil {
		return false, err
	}
	return e.rederive(ctx, st, nrs), nil
}

// keep shares st's redactor with the other drivers of the run in this
// process (a completion that arrives while a node executes) while st is
// driven; drop forgets it again once the run waits.
func (e *Engine) keep(st *runState) {
	if !e.sealing() {
		return
	}
	if red, loaded := e.redactors.LoadOrStore(st.run.Identifier, st.red); loaded {
		st.red = red.(*redact.Redactor)
	}
	if st.degraded {
		e.degraded.Store(st.run.Identifier, struct{}{})
	}
}

// drop forgets a run's redactor and state once it waits on the outside or
// a timer: with sealing, a completion, wake or expiry rebuilds them from
// the store, so a waiting run costs no memory.
func (e *Engine) drop(st *runState) {
	if !e.sealing() {
		return
	}
	if e.redactors.CompareAndDelete(st.run.Identifier, st.red) {
		e.degraded.Delete(st.run.Identifier)
	}
}
