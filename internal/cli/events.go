package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/runevents"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/store/postgres"
)

// runEvents returns, on PostgreSQL, the source of run events that every
// process sharing the database feeds (runevents.PGRelay, LISTEN/NOTIFY),
// with the hook that feeds it this process's events and the function that
// stops it. On SQLite (one process) all three are nil: the server's own
// hub sees every event.
func (a *app) runEvents(ctx context.Context, st store.Store, logger *slog.Logger) (runevents.Source, func(engine.Event), func(), error) {
	pg, ok := st.(*postgres.Store)
	if !ok {
		return nil, nil, func() {}, nil
	}
	relay, err := runevents.NewPGRelay(ctx, a.storeURL(), pg.Pool(), logger, runevents.Options{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--database-url: run events across processes: %w", err)
	}
	return relay, relay.OnEngineEvent, relay.Close, nil
}
