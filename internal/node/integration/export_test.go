package integration

import "github.com/sluice-run/sluice/internal/store"

func storeInstallation(id, provider, base, token string) store.Installation {
	return store.Installation{ID: id, Provider: provider, BaseURL: base, TokenSecret: token}
}
