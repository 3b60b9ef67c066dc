package api

import (
	"errors"

	"github.com/sluice-run/sluice/internal/catalog"
)

// existsHint answers a create of a blueprint or entity that exists with a
// 409 that says which request replaces it, as workflows and secrets do;
// other errors go through catalogErr.
func existsHint(err error, replace string) error {
	if errors.Is(err, catalog.ErrExists) {
		return conflict("%v; %s", err, replace)
	}
	return catalogErr(err)
}
