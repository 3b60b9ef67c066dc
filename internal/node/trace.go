package node

import (
	"context"
	"net/http"
)

// traceparentKey is the context key of a node run's W3C traceparent.
type traceparentKey struct{}

// WithTraceparent returns ctx carrying the W3C traceparent header value of
// the node run being executed (the engine sets it when tracing is on).
func WithTraceparent(ctx context.Context, tp string) context.Context {
	return context.WithValue(ctx, traceparentKey{}, tp)
}

// Traceparent returns the W3C traceparent header value an executor sends on
// the HTTP requests it makes for the node run, so that the receiver can join
// the run's trace; "" when tracing is off.
func Traceparent(ctx context.Context) string {
	tp, _ := ctx.Value(traceparentKey{}).(string)
	return tp
}

// SetTraceparent sets the traceparent header of an executor's HTTP request
// from ctx (see Traceparent), unless tracing is off or h already holds one.
func SetTraceparent(ctx context.Context, h http.Header) {
	if tp := Traceparent(ctx); tp != "" && h.Get("traceparent") == "" {
		h.Set("traceparent", tp)
	}
}
