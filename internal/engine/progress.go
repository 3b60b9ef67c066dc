package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-run/sluice/internal/store"
)

// ErrNoProgressStore is returned when an IN_PROGRESS completion carries an
// output or links and the store cannot keep them (store.ProgressStore).
var ErrNoProgressStore = errors.New("the store keeps no node-run progress")

// progress stores what an IN_PROGRESS completion reports: its output and
// links (redacted, as a completion's are) and its log lines, in one
// transaction. The output is stored as sent: the node's variables and
// links apply at the completion, to the output it ends with. Port keeps
// such an output and shows it on the node run (port-labs/ocean reports a
// CI job's URL this way and completes without an output).
func (e *Engine) progress(ctx context.Context, st *runState, nr store.NodeRun, c Completion, logs []store.Log) error {
	ps, ok := e.store.(store.ProgressStore)
	if !ok {
		return fmt.Errorf("progress of node run %s: %w", nr.Identifier, ErrNoProgressStore)
	}
	p := store.NodeRunProgress{NodeRunID: nr.Identifier, Logs: logs, UpdatedAt: e.now().UTC()}
	if c.Output != nil {
		out, err := st.red.JSON(c.Output)
		if err != nil {
			return fmt.Errorf("progress of node run %s: output: %w", nr.Identifier, err)
		}
		p.Output = out
	}
	if c.Links != nil {
		p.SetLinks = true
		for _, l := range c.Links {
			if len(p.Links) == maxLinks {
				break
			}
			p.Links = append(p.Links, st.red.Text(l))
		}
	}
	err := ps.SetNodeRunProgress(ctx, p)
	if errors.Is(err, store.ErrConflict) {
		return ErrNotInProgress
	}
	if err != nil {
		return fmt.Errorf("progress of node run %s: %w", nr.Identifier, err)
	}
	return nil
}

// lastReported returns the completion c with the output and links last
// reported IN_PROGRESS for nr where c gives none (nil): a completion
// without them ends with them, as Port's does. The stored output is
// already redacted, so a secret in it reaches the node's variables as the
// mask.
func lastReported(c Completion, nr store.NodeRun) (Completion, error) {
	if c.Output == nil && !nr.Output.IsZero() {
		var v any
		d := json.NewDecoder(bytes.NewReader(nr.Output.Bytes()))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return c, fmt.Errorf("node run %s: the output reported in progress: %w", nr.Identifier, err)
		}
		c.Output = v
	}
	if c.Links == nil && len(nr.Links) > 0 {
		c.Links = make([]string, len(nr.Links))
		for i, l := range nr.Links {
			c.Links[i] = l.String()
		}
	}
	return c, nil
}
