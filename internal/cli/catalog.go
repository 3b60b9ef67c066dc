package cli

import (
	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/store"
)

// openCatalog returns the catalog over st, or nil when the store keeps
// none.
func openCatalog(st store.Store) *catalog.Service {
	cs, ok := st.(store.CatalogStore)
	if !ok {
		return nil
	}
	return catalog.New(cs, catalog.Options{})
}
