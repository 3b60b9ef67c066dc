package webhook

import "testing"

// TestDecodeConfigAcceptsPortFields checks that the fields Port documents
// for a WEBHOOK config and the parser accepts (agent, verbose: docs.port.io
// workflows/build-workflows/action-nodes/webhook) do not fail the node when
// it runs, and change nothing of the request.
func TestDecodeConfigAcceptsPortFields(t *testing.T) {
	tests := []struct {
		name string
		cfg  map[string]any
	}{
		{"agent true", map[string]any{"url": "https://h.example/x", "agent": true}},
		{"agent false", map[string]any{"url": "https://h.example/x", "agent": false}},
		{"verbose", map[string]any{"url": "https://h.example/x", "verbose": true}},
		{"both", map[string]any{"url": "https://h.example/x", "agent": true, "verbose": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decodeConfig(tt.cfg)
			if err != nil {
				t.Fatalf("decodeConfig: %v", err)
			}
			if c.url.String() != "https://h.example/x" || c.method != "POST" || !c.synchronized {
				t.Errorf("config: %+v", c)
			}
		})
	}
}
