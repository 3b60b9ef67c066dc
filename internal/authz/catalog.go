package authz

// Scopes of machine clients on the software catalog.
const (
	ScopeReadBlueprints  = "read:blueprints"
	ScopeWriteBlueprints = "write:blueprints"
	ScopeReadEntities    = "read:entities"
	ScopeWriteEntities   = "write:entities"
)

// CanReadCatalog reports whether a may read blueprints (blueprints true)
// or entities: every user, as in Port, and machine clients with the read
// scope (or the write one).
func CanReadCatalog(a Actor, blueprints bool) bool {
	if a.ID == "" {
		return false
	}
	if !a.Machine {
		return true
	}
	if blueprints {
		return a.HasScope(ScopeReadBlueprints) || a.HasScope(ScopeWriteBlueprints)
	}
	return a.HasScope(ScopeReadEntities) || a.HasScope(ScopeWriteEntities)
}

// CanWriteCatalog reports whether a may create, change or delete
// blueprints (blueprints true) or entities: Admins, and machine clients
// with the write scope.
func CanWriteCatalog(a Actor, blueprints bool) bool {
	if blueprints {
		return adminOr(a, ScopeWriteBlueprints)
	}
	return adminOr(a, ScopeWriteEntities)
}
