package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.AIProviderStore = (*Store)(nil)

const aiProviderCols = `name, base_url, api_key_secret, model, headers, is_default, created_by, created_at, updated_at`

func scanAIProvider(row pgx.Row) (store.AIProvider, error) {
	var p store.AIProvider
	err := row.Scan(&p.Name, &p.BaseURL, &p.APIKeySecret, &p.Model, &p.Headers, &p.Default, &p.CreatedBy, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// CreateAIProvider adds a provider (store.AIProviderStore); with Default it
// takes the mark from the provider that held it, in the same transaction
// (one batch). Zero times are now.
func (s *Store) CreateAIProvider(ctx context.Context, p store.AIProvider) error {
	headers := p.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	created := ts(p.CreatedAt, time.Now())
	w := &batch{}
	if p.Default {
		w.exec("", `UPDATE ai_providers SET is_default = false WHERE is_default AND name <> $1`, p.Name)
	}
	w.exec("", `INSERT INTO ai_providers (`+aiProviderCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.Name, p.BaseURL, p.APIKeySecret, p.Model, headers, p.Default, p.CreatedBy, created, ts(p.UpdatedAt, created))
	if err := s.send(ctx, w); err != nil {
		return fmt.Errorf("postgres: create AI provider %s: %w", p.Name, err)
	}
	return nil
}

// GetAIProvider returns one provider (store.AIProviderStore).
func (s *Store) GetAIProvider(ctx context.Context, name string) (store.AIProvider, error) {
	p, err := scanAIProvider(s.pool.QueryRow(ctx, `SELECT `+aiProviderCols+` FROM ai_providers WHERE name = $1`, name))
	if err != nil {
		return store.AIProvider{}, fmt.Errorf("postgres: AI provider %s: %w", name, mapErr(err))
	}
	return p, nil
}

// DefaultAIProvider returns the provider marked default (store.AIProviderStore).
func (s *Store) DefaultAIProvider(ctx context.Context) (store.AIProvider, error) {
	p, err := scanAIProvider(s.pool.QueryRow(ctx, `SELECT `+aiProviderCols+` FROM ai_providers WHERE is_default`))
	if err != nil {
		return store.AIProvider{}, fmt.Errorf("postgres: default AI provider: %w", mapErr(err))
	}
	return p, nil
}

// ListAIProviders returns every provider by name, in byte order
// (store.AIProviderStore).
func (s *Store) ListAIProviders(ctx context.Context) ([]store.AIProvider, error) {
	ps, err := collect(ctx, s.pool, scanAIProvider, `SELECT `+aiProviderCols+` FROM ai_providers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list AI providers: %w", err)
	}
	return ps, nil
}

// DeleteAIProvider removes one provider (store.AIProviderStore).
func (s *Store) DeleteAIProvider(ctx context.Context, name string) error {
	ct, err := s.pool.Exec(ctx, `DELETE FROM ai_providers WHERE name = $1`, name)
	if err == nil && ct.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: delete AI provider %s: %w", name, mapErr(err))
	}
	return nil
}
