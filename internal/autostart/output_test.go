package autostart_test

import (
	"encoding/json"
	"testing"

	"github.com/sluice-run/sluice/internal/autostart"
	"github.com/sluice-run/sluice/internal/store"
)

// TestOutputHasPortsMembers checks the event trigger's output against the
// members port-docs docs/workflows/build-workflows/event-trigger.md lists:
// action, diff.before, diff.after, context.blueprintIdentifier and
// context.entityIdentifier.
func TestOutputHasPortsMembers(t *testing.T) {
	entity := map[string]any{"identifier": "api", "blueprint": "service"}
	tests := []struct {
		name          string
		ev            store.CatalogEvent
		before, after any
		want          string
	}{
		{"created", store.CatalogEvent{Action: "CREATE", Blueprint: "service", Entity: "api"}, nil, entity,
			`{"action":"CREATE","context":{"blueprintIdentifier":"service","entityIdentifier":"api"},"diff":{"after":{"blueprint":"service","identifier":"api"},"before":null}}`},
		{"deleted", store.CatalogEvent{Action: "DELETE", Blueprint: "service", Entity: "api"}, entity, nil,
			`{"action":"DELETE","context":{"blueprintIdentifier":"service","entityIdentifier":"api"},"diff":{"after":null,"before":{"blueprint":"service","identifier":"api"}}}`},
		{"timer expired", store.CatalogEvent{Action: store.ActionTimerExpired, Blueprint: "env", Entity: "e1", Property: "ttl"}, entity, entity,
			`{"action":"TIMER_EXPIRED","context":{"blueprintIdentifier":"env","entityIdentifier":"e1"},"diff":{"after":{"blueprint":"service","identifier":"api"},"before":{"blueprint":"service","identifier":"api"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(autostart.Output(tt.ev, tt.before, tt.after))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("Output = %s\nwant     %s", b, tt.want)
			}
		})
	}
}
