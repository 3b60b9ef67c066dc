package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-run/sluice/internal/store"
)

var _ store.AIProviderStore = (*Store)(nil)

const aiProviderCols = `name, base_url, api_key_secret, model, headers, is_default, created_by, created_at, updated_at`

func scanAIProvider(sc scanner) (store.AIProvider, error) {
	var (
		p                store.AIProvider
		headers          string
		created, updated int64
	)
	if err := sc.Scan(&p.Name, &p.BaseURL, &p.APIKeySecret, &p.Model, &headers, &p.Default, &p.CreatedBy, &created, &updated); err != nil {
		return store.AIProvider{}, err
	}
	if err := json.Unmarshal([]byte(headers), &p.Headers); err != nil {
		return store.AIProvider{}, fmt.Errorf("provider %s: stored headers: %w", p.Name, err)
	}
	p.CreatedAt, p.UpdatedAt = fromTS(created), fromTS(updated)
	return p, nil
}

// CreateAIProvider adds a provider (store.AIProviderStore); with Default it
// takes the mark from the provider that held it, in one transaction.
func (s *Store) CreateAIProvider(ctx context.Context, p store.AIProvider) error {
	headers, err := json.Marshal(p.Headers)
	if err != nil {
		return fmt.Errorf("sqlite: create AI provider %s: headers: %w", p.Name, err)
	}
	if p.Headers == nil {
		headers = []byte("{}")
	}
	now := time.Now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		if p.Default {
			if _, err := tx.ExecContext(ctx, `UPDATE ai_providers SET is_default = 0 WHERE is_default = 1 AND name <> ?`, p.Name); err != nil {
				return err
			}
		}
		created := ts(p.CreatedAt, now)
		_, err := tx.ExecContext(ctx, `INSERT INTO ai_providers (`+aiProviderCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Name, p.BaseURL, p.APIKeySecret, p.Model, string(headers), p.Default, p.CreatedBy, created, ts(p.UpdatedAt, time.Unix(0, created)))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("sqlite: create AI provider %s: %w", p.Name, err)
	}
	return nil
}

// GetAIProvider returns one provider (store.AIProviderStore).
func (s *Store) GetAIProvider(ctx context.Context, name string) (store.AIProvider, error) {
	p, err := scanAIProvider(s.r.QueryRowContext(ctx, `SELECT `+aiProviderCols+` FROM ai_providers WHERE name = ?`, name))
	if err != nil {
		return store.AIProvider{}, fmt.Errorf("sqlite: AI provider %s: %w", name, notFound(err))
	}
	return p, nil
}

// DefaultAIProvider returns the provider marked default (store.AIProviderStore).
func (s *Store) DefaultAIProvider(ctx context.Context) (store.AIProvider, error) {
	p, err := scanAIProvider(s.r.QueryRowContext(ctx, `SELECT `+aiProviderCols+` FROM ai_providers WHERE is_default = 1`))
	if err != nil {
		return store.AIProvider{}, fmt.Errorf("sqlite: default AI provider: %w", notFound(err))
	}
	return p, nil
}

// ListAIProviders returns every provider by name (store.AIProviderStore).
func (s *Store) ListAIProviders(ctx context.Context) ([]store.AIProvider, error) {
	ps, err := queryAll(ctx, s.r, scanAIProvider, `SELECT `+aiProviderCols+` FROM ai_providers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list AI providers: %w", err)
	}
	return ps, nil
}

// DeleteAIProvider removes one provider (store.AIProviderStore).
func (s *Store) DeleteAIProvider(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return execOne(ctx, tx, `DELETE FROM ai_providers WHERE name = ?`, name)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete AI provider %s: %w", name, err)
	}
	return nil
}
