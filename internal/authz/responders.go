package authz

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/workflow"
)

// IsResponder reports whether a may respond to an INPUT node whose
// responders are r: those CanRespond allows, and the users whose _user
// entity (see Dynamic) matches r.UsersQuery. Port runs the usersQuery as a
// search over its _user blueprint and adds the users it finds
// (terraform-provider-port-labs docs/resources/workflow.md, users_query);
// matching the caller's own _user entity against it decides the same
// question without listing every user. Machine clients never respond.
func (d *Dynamic) IsResponder(ctx context.Context, a Actor, r *workflow.Permissions) (bool, error) {
	if CanRespond(a, r) {
		return true, nil
	}
	if r == nil || r.UsersQuery == nil || a.ID == "" || a.Machine || a.Email == "" {
		return false, nil
	}
	u, err := d.userEntity(ctx, a)
	if err != nil {
		return false, err
	}
	return r.UsersQuery.Matches(u), nil
}

// decodeQuery reads a rendered catalog search body.
func decodeQuery(v any) (catalog.Query, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return catalog.Query{}, fmt.Errorf("the query is not JSON: %w", err)
	}
	var q catalog.Query
	if err := json.Unmarshal(b, &q); err != nil {
		return catalog.Query{}, fmt.Errorf("the query is not a catalog search: %w", err)
	}
	return q, nil
}

// deepCopy copies a JSON value, so that jq never sees (nor gojq writes
// into) maps shared with the caller.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
