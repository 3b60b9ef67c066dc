package view

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/workflow"
)

// versions is a Reader holding workflow versions only, the one part of the
// store nodeDisplays reads.
type versions struct {
	Reader
	defs map[int]string
	err  error
}

func (v versions) GetWorkflowVersion(_ context.Context, id string, version int) (store.Workflow, error) {
	if v.err != nil {
		return store.Workflow{}, v.err
	}
	def, ok := v.defs[version]
	if !ok {
		return store.Workflow{}, store.ErrNotFound
	}
	return store.Workflow{Identifier: id, Version: version, Definition: []byte(def)}, nil
}

const displayDef = `{"identifier":"w","nodes":[` +
	`{"identifier":"trigger","title":null,"config":{"type":"SELF_SERVE_TRIGGER"}},` +
	`{"identifier":"call","title":"Call","icon":"Webhook","config":{"type":"WEBHOOK","url":"https://x.io"}}],` +
	`"connections":[{"sourceIdentifier":"trigger","targetIdentifier":"call"}]}`

// TestNodeDisplays checks the display fields read from the store and from
// a compiled definition agree, and that a missing version leaves them null
// while a failing store is an error.
func TestNodeDisplays(t *testing.T) {
	compiled, probs := workflow.Parse([]byte(displayDef))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	fromCache := LoadOptions{Definition: func(context.Context, string, int) (*workflow.Workflow, error) { return compiled, nil }}
	run := store.Run{Identifier: "wfr_1", WorkflowID: "w", WorkflowVersion: 1}
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	tests := []struct {
		name    string
		st      versions
		opts    LoadOptions
		want    map[string][3]any
		wantErr bool
	}{
		{"store", versions{defs: map[int]string{1: displayDef}}, LoadOptions{}, map[string][3]any{"trigger": {nil, nil, "SELF_SERVE_TRIGGER"}, "call": {"Call", "Webhook", "WEBHOOK"}}, false},
		{"compiled", versions{}, fromCache, map[string][3]any{"trigger": {nil, nil, "SELF_SERVE_TRIGGER"}, "call": {"Call", "Webhook", "WEBHOOK"}}, false},
		{"version gone", versions{defs: map[int]string{}}, LoadOptions{}, map[string][3]any{}, false},
		{"store fails", versions{err: errors.New("disk on fire")}, LoadOptions{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nodeDisplays(context.Background(), tt.st, run, tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d nodes, want %d", len(got), len(tt.want))
			}
			for id, w := range tt.want {
				d := got[id]
				if g := [3]any{str(d.title), str(d.icon), str(d.configType)}; g != w {
					t.Errorf("%s: got %v, want %v", id, g, w)
				}
			}
		})
	}
}
