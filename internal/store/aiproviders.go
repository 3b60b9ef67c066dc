package store

import (
	"context"
	"time"
)

// AIProvider is a named configuration of an OpenAI-compatible chat
// completions endpoint that AI nodes call: where it is, the NAME of the
// organization secret that holds its API key (never the key), the model
// used when a node names none, and extra headers (stored and shown: never
// credentials).
type AIProvider struct {
	Name         string
	BaseURL      string // e.g. https://api.openai.com/v1, http://localhost:11434/v1
	APIKeySecret string // the secret's name; "" for a server without authentication
	Model        string
	Headers      map[string]string
	// Default marks the provider that AI nodes naming none use; at most
	// one provider is the default.
	Default   bool
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AIProviderStore is implemented by stores that keep AI providers. It is
// apart from Store, as WaitStore is, so that a store can add it on its own
// schedule; AI nodes run only on a store that implements it.
type AIProviderStore interface {
	// CreateAIProvider adds a provider; ErrExists when the name is taken.
	// A provider created with Default takes the mark from the one that
	// held it, in the same transaction. Zero times are now.
	CreateAIProvider(ctx context.Context, p AIProvider) error
	// GetAIProvider returns one; ErrNotFound when missing.
	GetAIProvider(ctx context.Context, name string) (AIProvider, error)
	// DefaultAIProvider returns the provider marked default; ErrNotFound
	// when none is.
	DefaultAIProvider(ctx context.Context) (AIProvider, error)
	// ListAIProviders returns every provider, ordered by name.
	ListAIProviders(ctx context.Context) ([]AIProvider, error)
	// DeleteAIProvider removes one; ErrNotFound when missing.
	DeleteAIProvider(ctx context.Context, name string) error
}
