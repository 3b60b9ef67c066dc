// Package view shapes stored runs into the JSON that the API returns and that
// `sluice run --output json` prints, in Port's field names. Everything it
// emits from run data was redacted when it was stored (redact.JSON and
// redact.Text), so a view cannot show what the store never held.
package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
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

// NodeRun is a node run as the API shows it. NodeTitle, NodeIcon and
// NodeConfigType are Port's display fields (port-labs/port-docs
// docs/workflows/runs.md, "Node run structure"), read from the workflow
// version the run ran; null when that version does not set them.
type NodeRun struct {
	Identifier     string          `json:"identifier"`
	Node           NodeRef         `json:"node"`
	NodeTitle      *string         `json:"nodeTitle"`
	NodeIcon       *string         `json:"nodeIcon"`
	NodeConfigType *string         `json:"nodeConfigType"`
	Status         string          `json:"status"`
	Result         *string         `json:"result"`
	Output         json.RawMessage `json:"output"`
	Links          []string        `json:"links"`
	NodeRunLogs    []Log           `json:"nodeRunLogs"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
	CompletedAt    *time.Time      `json:"completedAt"`
	// ExternalRunID is Port's externalRunId of an INTEGRATION_ACTION node
	// run, when an external integration recorded one (redacted when it
	// was stored); absent otherwise.
	ExternalRunID *string `json:"externalRunId,omitempty"`
}

// externalRunReader is the part of store.ExternalRunStore a view reads.
type externalRunReader interface {
	ExternalRunIDs(ctx context.Context, nodeRunIDs []string) (map[string]store.ExternalRun, error)
}

// addExternalRunIDs fills ExternalRunID on the INTEGRATION_ACTION node runs
// of v, in one read, when the store keeps external run ids; other runs cost
// nothing.
func addExternalRunIDs(ctx context.Context, st Reader, v *Run) error {
	er, ok := st.(externalRunReader)
	if !ok {
		return nil
	}
	var ids []string
	for _, nv := range v.NodeRuns {
		if nv.NodeConfigType != nil && *nv.NodeConfigType == "INTEGRATION_ACTION" {
			ids = append(ids, nv.Identifier)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ext, err := er.ExternalRunIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("external run ids of %s: %w", v.Identifier, err)
	}
	for i := range v.NodeRuns {
		if e, ok := ext[v.NodeRuns[i].Identifier]; ok {
			v.NodeRuns[i].ExternalRunID = new(e.ExternalRunID.String())
		}
	}
	return nil
}

// Log is a node run log line. Its tags are shown as they were sent: an
// object from Tags, or a list from TagList when that is set (logtags.go).
type Log struct {
	LogLevel  string            `json:"logLevel"`
	Log       string            `json:"log"`
	Tags      map[string]string `json:"tags"`
	TagList   []string          `json:"-"`
	CreatedAt time.Time         `json:"createdAt"`
}

// Reader is the part of the store a view reads.
type Reader interface {
	GetRun(ctx context.Context, identifier string) (store.Run, error)
	NodeRuns(ctx context.Context, runID string) ([]store.NodeRun, error)
	Logs(ctx context.Context, nodeRunID string) ([]store.Log, error)
	GetWorkflowVersion(ctx context.Context, identifier string, version int) (store.Workflow, error)
}

// nodeDisplay is what a node run shows of its node: Port's display
// fields, nil when the version does not set them.
type nodeDisplay struct {
	title, icon, configType *string
}

// nodeDisplays reads the display fields of each node of the workflow
// version a run ran, by node identifier. A version that is gone or cannot
// be read as a definition (which the store never allows) leaves them null
// rather than hiding the run.
func nodeDisplays(ctx context.Context, st Reader, r store.Run, opts LoadOptions) (map[string]nodeDisplay, error) {
	if opts.Definition != nil {
		wf, err := opts.Definition(ctx, r.WorkflowID, r.WorkflowVersion)
		if errors.Is(err, store.ErrNotFound) || (err == nil && wf == nil) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("workflow %s version %d of run %s: %w", r.WorkflowID, r.WorkflowVersion, r.Identifier, err)
		}
		out := make(map[string]nodeDisplay, len(wf.Nodes))
		for _, n := range wf.Nodes {
			out[n.Identifier] = nodeDisplay{optional(n.Title), optional(n.Icon), optional(n.Type)}
		}
		return out, nil
	}
	wf, err := st.GetWorkflowVersion(ctx, r.WorkflowID, r.WorkflowVersion)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("workflow %s version %d of run %s: %w", r.WorkflowID, r.WorkflowVersion, r.Identifier, err)
	}
	var def struct {
		Nodes []struct {
			Identifier string `json:"identifier"`
			Title      string `json:"title"`
			Icon       string `json:"icon"`
			Config     struct {
				Type string `json:"type"`
			} `json:"config"`
		} `json:"nodes"`
	}
	if json.Unmarshal(wf.Definition, &def) != nil {
		return nil, nil
	}
	out := make(map[string]nodeDisplay, len(def.Nodes))
	for _, n := range def.Nodes {
		out[n.Identifier] = nodeDisplay{optional(n.Title), optional(n.Icon), optional(n.Config.Type)}
	}
	return out, nil
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
	// Definition, when set, gives the compiled workflow version a run ran
	// (the engine's cache, engine.Definition), for the node runs' display
	// fields; without it the version is read from the store and decoded.
	Definition func(ctx context.Context, identifier string, version int) (*workflow.Workflow, error)
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
	nrs, err := st.NodeRuns(ctx, r.Identifier)
	if err != nil {
		return Run{}, fmt.Errorf("node runs of %s: %w", r.Identifier, err)
	}
	return Build(ctx, st, r, nrs, opts)
}

// Build shapes a run from its node runs as the caller has them (in order of
// Seq), reading only what opts asks besides: a run just created is shown
// from what its creator stored, without reading it back.
func Build(ctx context.Context, st Reader, r store.Run, nrs []store.NodeRun, opts LoadOptions) (Run, error) {
	nodes, err := nodeDisplays(ctx, st, r, opts)
	if err != nil {
		return Run{}, err
	}
	v := Summary(r)
	v.NodeRuns = make([]NodeRun, 0, len(nrs))
	v.Variables = &RunVariables{Outputs: map[string]json.RawMessage{}}
	var runLogs map[string][]store.Log
	if opts.Logs {
		if runLogs, err = readRunLogs(ctx, st, r.Identifier, nrs); err != nil {
			return Run{}, err
		}
	}
	for _, nr := range nrs {
		var logs []store.Log
		if opts.Logs && runLogs == nil {
			if logs, err = st.Logs(ctx, nr.Identifier); err != nil {
				return Run{}, fmt.Errorf("logs of %s: %w", nr.Identifier, err)
			}
		} else {
			logs = runLogs[nr.Identifier]
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
		if d, ok := nodes[nr.NodeID]; ok {
			nv.NodeTitle, nv.NodeIcon, nv.NodeConfigType = d.title, d.icon, d.configType
		}
		if !nr.Output.IsZero() {
			nv.Output = json.RawMessage(nr.Output.Bytes())
		}
		for _, l := range nr.Links {
			nv.Links = append(nv.Links, l.String())
		}
		for _, l := range logs {
			tags := store.TagStrings(l.Tags)
			nv.NodeRunLogs = append(nv.NodeRunLogs, Log{LogLevel: l.Level, Log: l.Message.String(), Tags: tags, TagList: store.TagListStrings(l.TagList), CreatedAt: l.CreatedAt})
		}
		if nr.Status == store.StatusCompleted && nr.Result != store.ResultCancelled {
			v.Variables.Outputs[nr.NodeID] = nv.Output
		}
		v.NodeRuns = append(v.NodeRuns, nv)
	}
	if err := addExternalRunIDs(ctx, st, &v); err != nil {
		return Run{}, err
	}
	return v, nil
}
