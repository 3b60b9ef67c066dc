package catalog

// Exported forms of the search rules, for the callers that match entities
// the store does not hold (authz's dynamic permissions match the caller's
// own _user and _team entities, which sluice derives from its users and
// teams) or check a query written inside a workflow definition.

// Check lists every problem of q, each with its path under path.
func (q Query) Check(path string) []Problem { return q.check(path) }

// Matches reports whether e satisfies q, by the rules Search applies.
func (q Query) Matches(e Entity) bool { return q.match(e) }

// Field reads a property of e, or one of Port's meta properties
// ($identifier, $title, $blueprint, $team, $icon, $createdAt, $updatedAt),
// as search rules read it.
func (e Entity) Field(name string) any { return e.field(name) }

// MatchValue reports whether got satisfies the property operator op with
// want, as a search rule does (=, !=, >, >=, <, <=, in, notIn, containsAny,
// contains, beginsWith, endsWith and their negations, between, isEmpty,
// isNotEmpty).
func MatchValue(op string, got, want any) bool { return matchValue(op, got, want) }

// Equal compares two JSON values as search rules do: numbers by value,
// anything else by its JSON form.
func Equal(a, b any) bool { return equal(a, b) }
