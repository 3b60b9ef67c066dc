// Package view shapes stored runs into the JSON that the API returns and that
// `sluice run --output json` prints, in Port's field names. Everything it
// emits from run data was redacted when it was stored (redact.JSON and
// redact.Text), so a view cannot show what the store never held.
package view

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

// Run is a workflow run as the API shows it.
type Run struct {
	Identifier  string        `json:"identifier"`
	Status      string        `json:"status"`
	Result      *string       `json:"result"`
	Workflow    WorkflowRef   `json:"workflow"`
	CreatedBy   string        `json:"createdBy"`
	Trigger     NodeRef       `json:"trigger"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	CompletedAt *time.Time    `json:"completedAt"`
	NodeRuns    []NodeRun     `json:"nodeRuns,omitempty"`
	Variables   *RunVariables `json:"variables,omitempty"`
}

// WorkflowRef names the workflow version a run ran.
type WorkflowRef struct {
	Identifier string `json:"identifier"`
	Version    int    `json:"version"`
}

// NodeRef names a node.
type NodeRef struct {
	Identifier string `json:"identifier"`
}

// RunVariables holds the outputs of every completed node, by node.
type RunVariables struct {
	Outputs map[string]json.RawMessage `json:"outputs"`
}

// NodeRun is a node run as the API shows it.
type NodeRun struct {
	Identifier  string          `json:"identifier"`
	Node        NodeRef         `json:"node"`
	Status      string          `json:"status"`
	Result      *string         `json:"result"`
	Output      json.RawMessage `json:"output"`
	Links       []string        `json:"links"`
	NodeRunLogs []Log           `json:"nodeRunLogs"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	CompletedAt *time.Time      `json:"completedAt"`
}

// Log is a node run log line.
type Log struct {
	LogLevel  string            `json:"logLevel"`
	Log       string            `json:"log"`
	Tags      map[string]string `json:"tags"`
	CreatedAt time.Time         `json:"createdAt"`
}

// Reader is the part of the store a view reads.
type Reader interface {
	GetRun(ctx context.Context, identifier string) (store.Run, error)
	NodeRuns(ctx context.Context, runID string) ([]store.NodeRun, error)
	Logs(ctx context.Context, nodeRunID string) ([]store.Log, error)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Summary shapes a run without its node runs, as run lists show it.
func Summary(r store.Run) Run {
	return Run{
		Identifier:  r.Identifier,
		Status:      r.Status,
		Result:      optional(r.Result),
		Workflow:    WorkflowRef{Identifier: r.WorkflowID, Version: r.WorkflowVersion},
		CreatedBy:   r.CreatedBy,
		Trigger:     NodeRef{Identifier: r.TriggerNode},
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
		CompletedAt: r.CompletedAt,
	}
}

// Load reads a run with its node runs, their logs and the outputs.
func Load(ctx context.Context, st Reader, runID string) (Run, error) {
	return LoadWith(ctx, st, runID, LoadOptions{Logs: true})
}

// LoadOptions say what LoadWith reads besides the run and its node runs.
type LoadOptions struct {
	// Logs reads every node run's log lines; without it nodeRunLogs are
	// empty (present, so that the shape stays Port's) and no log is read.
	Logs bool
}

// LoadWith is Load with options.
func LoadWith(ctx context.Context, st Reader, runID string, opts LoadOptions) (Run, error) {
	r, err := st.GetRun(ctx, runID)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", runID, err)
	}
	return LoadFrom(ctx, st, r, opts)
}

// LoadFrom is LoadWith for a run the caller has just read from st (as
// GetRun returned it), which it does not read again.
func LoadFrom(ctx context.Context, st Reader, r store.Run, opts LoadOptions) (Run, error) {
	runID := r.Identifier
	nrs, err := st.NodeRuns(ctx, runID)
	if err != nil {
		return Run{}, fmt.Errorf("node runs of %s: %w", runID, err)
	}
	v := Summary(r)
	v.NodeRuns = make([]NodeRun, 0, len(nrs))
	v.Variables = &RunVariables{Outputs: map[string]json.RawMessage{}}
	for _, nr := range nrs {
		var logs []store.Log
		if opts.Logs {
			if logs, err = st.Logs(ctx, nr.Identifier); err != nil {
				return Run{}, fmt.Errorf("logs of %s: %w", nr.Identifier, err)
			}
		}
		nv := NodeRun{
			Identifier:  nr.Identifier,
			Node:        NodeRef{Identifier: nr.NodeID},
			Status:      nr.Status,
			Result:      optional(nr.Result),
			Output:      json.RawMessage("null"),
			Links:       make([]string, 0, len(nr.Links)),
			NodeRunLogs: make([]Log, 0, len(logs)),
			CreatedAt:   nr.CreatedAt,
			UpdatedAt:   nr.UpdatedAt,
			CompletedAt: nr.CompletedAt,
		}
		if !nr.Output.IsZero() {
			nv.Output = json.RawMessage(nr.Output.Bytes())
		}
		for _, l := range nr.Links {
			nv.Links = append(nv.Links, l.String())
		}
		for _, l := range logs {
			tags := l.Tags
			if tags == nil {
				tags = map[string]string{}
			}
			nv.NodeRunLogs = append(nv.NodeRunLogs, Log{LogLevel: l.Level, Log: l.Message.String(), Tags: tags, CreatedAt: l.CreatedAt})
		}
		if nr.Status == store.StatusCompleted && nr.Result != store.ResultCancelled {
			v.Variables.Outputs[nr.NodeID] = nv.Output
		}
		v.NodeRuns = append(v.NodeRuns, nv)
	}
	return v, nil
}
