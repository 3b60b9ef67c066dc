package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-run/sluice/internal/catalog"
	"github.com/sluice-run/sluice/internal/store"
	"github.com/sluice-run/sluice/internal/tmpl"
	"github.com/sluice-run/sluice/internal/workflow"
)

// Port's dynamic permissions (a trigger's permissions.policy, an INPUT
// node's responders.usersQuery) are decided over the software catalog and
// the caller's identity. The rest of this package is pure; what here reads
// the catalog does it through Catalog, so the rules stay testable with a
// real store behind it.
//
// sluice has no built-in _user and _team blueprints: its users and teams
// are its own (sluice users, store.User). They are seen as Port sees its
// _user and _team entities: the caller is a _user entity whose identifier
// is their email, titled with their name, whose $team are their teams,
// with the properties port_role (Admin or Member), email, firstName and
// lastName; each of their teams is a _team entity whose identifier is the
// team's name. When the catalog holds a _user entity with that email (or
// a _team entity with that name), its title, properties and relations are
// added to it, so custom properties such as department work as in Port;
// what sluice knows of the person wins over what the catalog says.

// Catalog is what dynamic permissions read of the software catalog
// (implemented by *catalog.Service).
type Catalog interface {
	Search(ctx context.Context, q catalog.Query) ([]catalog.Entity, error)
	GetEntity(ctx context.Context, blueprint, id string) (catalog.Entity, error)
}

// Blueprints of Port's users and teams.
const (
	UserBlueprint = "_user"
	TeamBlueprint = "_team"
)

// maxPolicyResults is how many entities one policy query gives at most, as
// in Port.
const maxPolicyResults = 1000

// policyLimits bound each evaluation of a policy's templates and jq: the
// bounds of every render.
var policyLimits = tmpl.Limits{}

// Dynamic decides Port's dynamic permissions over a catalog. A nil Catalog
// (a server without one) still decides over the caller's own _user and
// _team entities.
type Dynamic struct {
	Catalog Catalog
	// Now is the clock of .trigger.at; nil means time.Now.
	Now func() time.Time
}

// NewDynamic returns a Dynamic over the catalog service c; nil means a
// server without a catalog.
func NewDynamic(c *catalog.Service) *Dynamic {
	d := &Dynamic{}
	if c != nil {
		d.Catalog = c
	}
	return d
}

// PolicyRequest is what a trigger's policy is decided over.
type PolicyRequest struct {
	Trigger *workflow.Node
	// Form is the trigger's inputs as they will be stored: validated, with
	// defaults applied.
	Form map[string]any
	// Workflow is {identifier, version}.
	Workflow map[string]any
}

// ErrPolicyDenied wraps the reason a policy refused a caller.
var ErrPolicyDenied = errors.New("the trigger's permission policy does not allow you")

// HasPolicy reports whether a user other than those the static
// permissions name may be allowed by t's policy: t is a published
// self-serve trigger with a policy, and a is a user (machine clients act
// by scope, Admins are always allowed).
func HasPolicy(a Actor, t *workflow.Node) bool {
	return t != nil && t.Type == workflow.TypeSelfServeTrigger && t.Published && !a.Machine && a.ID != "" &&
		t.Permissions != nil && t.Permissions.Policy != nil
}

// CanTryTrigger reports whether a may ask to start a run through t: those
// CanExecuteTrigger allows, and the users t's policy may allow, which the
// policy decides only when the run is requested (it reads the form).
func CanTryTrigger(a Actor, t *workflow.Node) bool {
	return CanExecuteTrigger(a, t) || HasPolicy(a, t)
}

// CanTry reports whether a may ask to start a run of wf through any of its
// self-serve triggers (CanTryTrigger).
func CanTry(a Actor, wf *workflow.Workflow) bool {
	if wf == nil {
		return false
	}
	return slices.ContainsFunc(wf.Triggers(), func(t *workflow.Node) bool { return CanTryTrigger(a, t) })
}

// AllowPolicy decides whether t's policy allows a, who the static
// permissions do not allow: nil when it does, an error wrapping
// ErrPolicyDenied with the reason when it does not. Any other error is
// the catalog's. Port's order (port-skills permissions.md): the static
// roles, users and teams are checked first, and the policy is one more way
// to be allowed, never a further restriction.
func (d *Dynamic) AllowPolicy(ctx context.Context, a Actor, req PolicyRequest) error {
	t := req.Trigger
	if !HasPolicy(a, t) {
		return fmt.Errorf("%w: trigger %s has no policy that applies to you", ErrPolicyDenied, nodeID(t))
	}
	pol := t.Permissions.Policy
	ev := &evaluator{d: d, a: a, req: req}
	if pol.Rules != nil {
		ok, err := ev.query(ctx, pol.Rules)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: no rule combination of trigger %s's policy holds for you and this form (%s)", ErrPolicyDenied, t.Identifier, describe(pol.Rules))
		}
		return nil
	}
	return ev.conditions(ctx, pol)
}

func nodeID(t *workflow.Node) string {
	if t == nil {
		return "(none)"
	}
	return t.Identifier
}

// describe lists the references of a contextual query, for the reason of a
// denial (never a value: a form value may be confidential).
func describe(q *workflow.PolicyQuery) string {
	var parts []string
	for _, r := range q.Rules {
		if r.Nested != nil {
			parts = append(parts, "("+describe(r.Nested)+")")
			continue
		}
		s := r.Property.String() + " " + r.Operator
		if r.ValueRef != nil {
			s += " " + r.ValueRef.String()
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " "+q.Combinator+" ")
}

// evaluator decides one policy for one caller and form.
type evaluator struct {
	d   *Dynamic
	a   Actor
	req PolicyRequest

	user  *catalog.Entity
	teams []catalog.Entity
}

// me returns the caller as a _user entity, and their teams as _team
// entities, read once.
func (ev *evaluator) me(ctx context.Context) (catalog.Entity, []catalog.Entity, error) {
	if ev.user != nil {
		return *ev.user, ev.teams, nil
	}
	u, err := ev.d.userEntity(ctx, ev.a)
	if err != nil {
		return catalog.Entity{}, nil, err
	}
	for _, t := range ev.a.Teams {
		e, err := ev.d.teamEntity(ctx, t)
		if err != nil {
			return catalog.Entity{}, nil, err
		}
		ev.teams = append(ev.teams, e)
	}
	ev.user = &u
	return u, ev.teams, nil
}

// userEntity is a as Port's _user entity (see the package comment above).
func (d *Dynamic) userEntity(ctx context.Context, a Actor) (catalog.Entity, error) {
	e := catalog.Entity{Identifier: a.Email, Blueprint: UserBlueprint, Properties: map[string]any{}, Relations: map[string]any{}}
	if d.Catalog != nil && a.Email != "" {
		stored, err := d.Catalog.GetEntity(ctx, UserBlueprint, a.Email)
		switch {
		case err == nil:
			e.Title, e.Icon = stored.Title, stored.Icon
			for k, v := range stored.Properties {
				e.Properties[k] = v
			}
			for k, v := range stored.Relations {
				e.Relations[k] = v
			}
		case !errors.Is(err, catalog.ErrNotFound) && !errors.Is(err, store.ErrNotFound):
			return e, fmt.Errorf("read the _user entity of the caller: %w", err)
		}
	}
	if name := strings.TrimSpace(a.FirstName + " " + a.LastName); name != "" {
		e.Title = name
	} else if e.Title == "" {
		e.Title = a.Email
	}
	e.Team = slices.Clone(a.Teams)
	e.Properties["port_role"] = a.Role
	e.Properties["email"] = a.Email
	e.Properties["firstName"] = a.FirstName
	e.Properties["lastName"] = a.LastName
	return e, nil
}

// teamEntity is sluice's team name as Port's _team entity.
func (d *Dynamic) teamEntity(ctx context.Context, name string) (catalog.Entity, error) {
	e := catalog.Entity{Identifier: name, Title: name, Blueprint: TeamBlueprint, Properties: map[string]any{}, Relations: map[string]any{}}
	if d.Catalog == nil {
		return e, nil
	}
	stored, err := d.Catalog.GetEntity(ctx, TeamBlueprint, name)
	switch {
	case err == nil:
		stored.Identifier, stored.Blueprint = name, TeamBlueprint
		if stored.Properties == nil {
			stored.Properties = map[string]any{}
		}
		return stored, nil
	case errors.Is(err, catalog.ErrNotFound) || errors.Is(err, store.ErrNotFound):
		return e, nil
	}
	return e, fmt.Errorf("read the _team entity %s: %w", name, err)
}

// query decides a contextual query.
func (ev *evaluator) query(ctx context.Context, q *workflow.PolicyQuery) (bool, error) {
	for _, r := range q.Rules {
		var ok bool
		var err error
		if r.Nested != nil {
			ok, err = ev.query(ctx, r.Nested)
		} else {
			ok, err = ev.rule(ctx, r)
		}
		if err != nil {
			return false, err
		}
		if q.Combinator == "or" && ok {
			return true, nil
		}
		if q.Combinator == "and" && !ok {
			return false, nil
		}
	}
	return q.Combinator == "and" && len(q.Rules) > 0, nil
}

// rule decides one contextual rule.
func (ev *evaluator) rule(ctx context.Context, r workflow.PolicyRule) (bool, error) {
	got, err := ev.ref(ctx, r.Property)
	if err != nil {
		return false, err
	}
	want := r.Value
	if r.ValueRef != nil {
		if want, err = ev.ref(ctx, *r.ValueRef); err != nil {
			return false, err
		}
	}
	return matchRule(r.Operator, got, want), nil
}

// matchRule applies a contextual rule's operator (port-skills
// permissions.md): contains and notContains ask whether an array holds a
// value (a string's substring when the property is a string).
func matchRule(op string, got, want any) bool {
	switch op {
	case "empty":
		return catalog.MatchValue("isEmpty", got, nil)
	case "notEmpty":
		return catalog.MatchValue("isNotEmpty", got, nil)
	case "contains", "notContains":
		in := false
		switch g := got.(type) {
		case []any:
			in = slices.ContainsFunc(g, func(x any) bool { return catalog.Equal(x, want) })
		case string:
			w, ok := want.(string)
			in = ok && strings.Contains(g, w)
		}
		return in == (op == "contains")
	case "in", "notIn", "containsAny":
		if _, isList := want.([]any); !isList {
			want = []any{want}
		}
		if op == "containsAny" {
			if _, isList := got.([]any); !isList {
				got = []any{got}
			}
		}
	}
	return catalog.MatchValue(op, got, want)
}

// ref reads a value of a policy context.
func (ev *evaluator) ref(ctx context.Context, r workflow.PolicyRef) (any, error) {
	switch r.Context {
	case "user":
		u, _, err := ev.me(ctx)
		if err != nil {
			return nil, err
		}
		return u.Field(r.Property), nil
	case "userTeams":
		_, teams, err := ev.me(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(teams))
		for _, t := range teams {
			if v := t.Field(r.Property); v != nil {
				out = append(out, v)
			}
		}
		return out, nil
	case "form":
		return ev.formValue(ctx, r.Property)
	}
	// workflowRun: no run exists before the policy allows one.
	return nil, nil
}

// formValue reads input or input.property of the form. For an input of
// format entity, the property is read from the entity the input names
// (the blueprint is the input's); for an object input, from its member.
func (ev *evaluator) formValue(ctx context.Context, prop string) (any, error) {
	name, sub, dotted := strings.Cut(prop, ".")
	val := ev.req.Form[name]
	if !dotted {
		return val, nil
	}
	if obj, ok := val.(map[string]any); ok {
		return obj[sub], nil
	}
	id, ok := val.(string)
	var ip *workflow.InputProperty
	if ui := ev.req.Trigger.UserInputs; ui != nil {
		ip = ui.Properties[name]
	}
	if !ok || ip == nil || ip.Format != "entity" || ip.Blueprint == "" || ev.d.Catalog == nil {
		return nil, nil
	}
	e, err := ev.d.Catalog.GetEntity(ctx, ip.Blueprint, id)
	switch {
	case errors.Is(err, catalog.ErrNotFound) || errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the entity of input %s: %w", name, err)
	}
	return e.Field(sub), nil
}

// context is what a policy's templates and conditions see: .inputs (and
// .form, the same), .user, .trigger {at, user}, .workflow, and for
// conditions .results.
func (ev *evaluator) context(ctx context.Context, results map[string]any) (*tmpl.Context, error) {
	u, teams, err := ev.me(ctx)
	if err != nil {
		return nil, err
	}
	teamIDs := make([]any, len(teams))
	for i, t := range teams {
		teamIDs[i] = t.Identifier
	}
	user := map[string]any{
		"email": ev.a.Email, "firstName": ev.a.FirstName, "lastName": ev.a.LastName,
		"role": ev.a.Role, "teams": teamIDs, "identifier": u.Identifier, "title": u.Title,
		"properties": u.Properties,
	}
	now := time.Now
	if ev.d.Now != nil {
		now = ev.d.Now
	}
	extra := map[string]any{
		"inputs":  deepCopy(ev.req.Form),
		"form":    deepCopy(ev.req.Form),
		"user":    user,
		"trigger": map[string]any{"at": now().UTC().Format(time.RFC3339Nano), "user": user, "by": map[string]any{"user": user}},
	}
	if results != nil {
		extra["results"] = results
	}
	return &tmpl.Context{Limits: policyLimits, Workflow: ev.req.Workflow, Extra: extra}, nil
}

// conditions decides the {queries, conditions} shape: each query is
// rendered over the context and searched (a query that fails is left out
// of .results, as Port ignores it), then any condition that gives true
// allows. A condition that gives something else than a boolean is an
// error in the reason, and does not allow.
func (ev *evaluator) conditions(ctx context.Context, pol *workflow.Policy) error {
	results := map[string]any{}
	var skipped []string
	for _, q := range pol.Queries {
		tc, err := ev.context(ctx, nil)
		if err != nil {
			return err
		}
		ents, err := ev.search(ctx, q, tc)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			skipped = append(skipped, q.Name+" ("+err.Error()+")")
			continue
		}
		list := make([]any, len(ents))
		for i, e := range ents {
			list[i] = entityJSON(e)
		}
		results[q.Name] = map[string]any{"entities": list}
	}
	tc, err := ev.context(ctx, results)
	if err != nil {
		return err
	}
	var why []string
	for i, c := range pol.Conditions {
		v, err := c.Eval(tc)
		switch b, isBool := v.(bool); {
		case err != nil:
			why = append(why, fmt.Sprintf("condition %d failed: %v", i, err))
		case !isBool:
			why = append(why, fmt.Sprintf("condition %d must give a boolean", i))
		case b:
			return nil
		}
	}
	more := ""
	if len(why) > 0 {
		more += "; " + strings.Join(why, "; ")
	}
	if len(skipped) > 0 {
		more += "; queries left out: " + strings.Join(skipped, "; ")
	}
	return fmt.Errorf("%w: no condition of trigger %s's policy holds%s", ErrPolicyDenied, ev.req.Trigger.Identifier, more)
}

// search renders one policy query and runs it over the catalog, adding the
// caller's own _user and _team entities when they match and the catalog
// does not hold them.
func (ev *evaluator) search(ctx context.Context, ps workflow.PolicySearch, tc *tmpl.Context) ([]catalog.Entity, error) {
	v, err := ps.Query.RenderContext(ctx, tc)
	if err != nil {
		return nil, err
	}
	q, err := decodeQuery(v)
	if err != nil {
		return nil, err
	}
	if probs := q.Check(""); len(probs) > 0 {
		return nil, fmt.Errorf("%s: %s", probs[0].Path, probs[0].Message)
	}
	var out []catalog.Entity
	if ev.d.Catalog != nil {
		if out, err = ev.d.Catalog.Search(ctx, q); err != nil {
			return nil, err
		}
	}
	u, teams, err := ev.me(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range append([]catalog.Entity{u}, teams...) {
		if e.Identifier == "" || !q.Matches(e) {
			continue
		}
		held := slices.ContainsFunc(out, func(x catalog.Entity) bool { return x.Blueprint == e.Blueprint && x.Identifier == e.Identifier })
		if !held {
			out = append(out, e)
		}
	}
	if len(out) > maxPolicyResults {
		out = out[:maxPolicyResults]
	}
	return out, nil
}

// entityJSON is an entity as jq sees it in .results.<query>.entities.
func entityJSON(e catalog.Entity) map[string]any {
	team := make([]any, len(e.Team))
	for i, t := range e.Team {
		team[i] = t
	}
	return map[string]any{
		"identifier": e.Identifier, "title": e.Title, "icon": e.Icon, "blueprint": e.Blueprint, "team": team,
		"properties": deepCopy(e.Properties), "relations": deepCopy(e.Relations),
	}
}
