package node

import (
	"context"
	"net/http"
	"testing"
)

func TestSetTraceparent(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name     string
		ctx      context.Context
		existing string
		want     string
	}{
		{"tracing off", context.Background(), "", ""},
		{"tracing on", WithTraceparent(context.Background(), tp), "", tp},
		{"the config's own header wins", WithTraceparent(context.Background(), tp), "00-mine", "00-mine"},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.existing != "" {
			h.Set("Traceparent", tt.existing)
		}
		SetTraceparent(tt.ctx, h)
		if got := h.Get("traceparent"); got != tt.want {
			t.Errorf("%s: traceparent %q, want %q", tt.name, got, tt.want)
		}
	}
}
