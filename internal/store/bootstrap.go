package store

import "context"

// ClientBootstrapper is implemented by stores that can create the first API
// client atomically: serve's bootstrap of the first Admin client
// (auth.Bootstrap) uses it, so that several processes starting together on
// one empty store create one Admin client between them, not one each.
type ClientBootstrapper interface {
	// CreateFirstClient adds c, as CreateClient does, only when the store
	// holds no client at all, and reports whether it did. The check and
	// the insert are one step for every process using the store: of
	// concurrent calls on an empty store exactly one returns true, and the
	// others return false and no error, having written nothing. Errors are
	// CreateClient's (ErrNotFound when UserID names no user).
	CreateFirstClient(ctx context.Context, c Client) (created bool, err error)
}
