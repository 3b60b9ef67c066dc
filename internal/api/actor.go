package api

import (
	"context"

	"github.com/sluice-run/sluice/internal/authz"
)

// actorKey is the context key of an actor authenticated by the process
// itself; only Go code in this process can set it (WithActor).
type actorKey struct{}

// WithActor returns ctx carrying a, so that a request served by the
// server's Handler with that context acts as a without a bearer token. It
// is how the web UI (package ui) calls the API for a person signed in with
// a session: the same handlers, permission checks and redaction answer
// them. A remote client cannot set it.
func WithActor(ctx context.Context, a authz.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}
