package ai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/sluice-run/sluice/internal/catalog"
)

// Catalog is what the catalog tools read (*catalog.Service): read-only,
// as every user of sluice may read the catalog (as in Port).
type Catalog interface {
	ListBlueprints(ctx context.Context) ([]catalog.Blueprint, error)
	ListEntities(ctx context.Context, bp string) ([]catalog.Entity, error)
	GetEntity(ctx context.Context, bp, id string) (catalog.Entity, error)
	Search(ctx context.Context, q catalog.Query) ([]catalog.Entity, error)
}

// Limits of the catalog tools.
const (
	defaultEntityLimit = 50
	maxEntityLimit     = 200
	// maxToolResult bounds what one tool call sends back to the model.
	maxToolResult = 64 << 10
)

// tool is one function sluice serves to a model.
type tool struct {
	spec toolFunction
	run  func(ctx context.Context, c Catalog, args map[string]any) (any, error)
}

func params(props map[string]any, required ...string) map[string]any {
	p := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if required == nil {
		required = []string{}
	}
	p["required"] = required
	return p
}

var (
	strParam   = func(d string) map[string]any { return map[string]any{"type": "string", "description": d} }
	limitParam = map[string]any{"type": "integer", "minimum": 1, "maximum": maxEntityLimit, "description": fmt.Sprintf("at most this many entities (default %d)", defaultEntityLimit)}
)

// tools are the functions sluice serves, by name (Port's tool names).
var tools = map[string]tool{
	"list_blueprints": {
		spec: toolFunction{Name: "list_blueprints", Description: "List the blueprints of the software catalog: their identifiers, titles, property schemas and relations.", Parameters: params(map[string]any{})},
		run: func(ctx context.Context, c Catalog, _ map[string]any) (any, error) {
			return c.ListBlueprints(ctx)
		},
	},
	"list_entities": {
		spec: toolFunction{Name: "list_entities", Description: "List the entities of one blueprint of the software catalog.", Parameters: params(map[string]any{
			"blueprint": strParam("the blueprint's identifier"), "limit": limitParam}, "blueprint")},
		run: func(ctx context.Context, c Catalog, args map[string]any) (any, error) {
			bp, err := argString(args, "blueprint", true)
			if err != nil {
				return nil, err
			}
			limit, err := argLimit(args)
			if err != nil {
				return nil, err
			}
			es, err := c.ListEntities(ctx, bp)
			return page(es, limit), err
		},
	},
	"get_entity": {
		spec: toolFunction{Name: "get_entity", Description: "Get one entity of the software catalog by blueprint and identifier.", Parameters: params(map[string]any{
			"blueprint": strParam("the blueprint's identifier"), "identifier": strParam("the entity's identifier")}, "blueprint", "identifier")},
		run: func(ctx context.Context, c Catalog, args map[string]any) (any, error) {
			bp, err := argString(args, "blueprint", true)
			if err != nil {
				return nil, err
			}
			id, err := argString(args, "identifier", true)
			if err != nil {
				return nil, err
			}
			return c.GetEntity(ctx, bp, id)
		},
	},
	"search_entities": {
		spec: toolFunction{Name: "search_entities", Description: `Search entities of the software catalog with Port's search rules: {"combinator": "and"|"or", "rules": [{"property": NAME or $identifier/$title/$blueprint/$team, "operator": "="|"!="|"contains"|"in"|..., "value": ...}]}.`,
			Parameters: params(map[string]any{
				"blueprint": strParam("only entities of this blueprint (optional)"),
				"query": map[string]any{"type": "object", "description": "Port's search query", "properties": map[string]any{
					"combinator": map[string]any{"type": "string", "enum": []string{"and", "or"}},
					"rules":      map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
				}, "required": []string{"combinator", "rules"}},
				"limit": limitParam,
			}, "query")},
		run: func(ctx context.Context, c Catalog, args map[string]any) (any, error) {
			raw, err := json.Marshal(args["query"])
			if err != nil {
				return nil, fmt.Errorf("query: %w", err)
			}
			var q catalog.Query
			if err := json.Unmarshal(raw, &q); err != nil {
				return nil, fmt.Errorf("query: must be {\"combinator\", \"rules\"}: %w", err)
			}
			bp, err := argString(args, "blueprint", false)
			if err != nil {
				return nil, err
			}
			if bp != "" {
				q = catalog.Query{Combinator: "and", Rules: []catalog.Rule{{Property: "$blueprint", Operator: "=", Value: bp}, {Combinator: q.Combinator, Rules: q.Rules}}}
			}
			limit, err := argLimit(args)
			if err != nil {
				return nil, err
			}
			es, err := c.Search(ctx, q)
			return page(es, limit), err
		},
	},
}

// ToolNames returns the names of the tools sluice serves, sorted.
func ToolNames() []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// entities is a page of entities as a tool answers it.
type entities struct {
	Entities []catalog.Entity `json:"entities"`
	Total    int              `json:"total"`
	More     bool             `json:"more"`
}

func page(es []catalog.Entity, limit int) entities {
	out := entities{Entities: es, Total: len(es)}
	if len(es) > limit {
		out.Entities, out.More = es[:limit], true
	}
	if out.Entities == nil {
		out.Entities = []catalog.Entity{}
	}
	return out
}

func argString(args map[string]any, name string, required bool) (string, error) {
	switch v := args[name].(type) {
	case string:
		if v != "" || !required {
			return v, nil
		}
	case nil:
		if !required {
			return "", nil
		}
	default:
		return "", fmt.Errorf("%s: must be a string", name)
	}
	return "", fmt.Errorf("%s: is required", name)
}

func argLimit(args map[string]any) (int, error) {
	v, ok := args["limit"]
	if !ok || v == nil {
		return defaultEntityLimit, nil
	}
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) || f < 1 || f > maxEntityLimit {
		return 0, fmt.Errorf("limit: must be an integer from 1 to %d", maxEntityLimit)
	}
	return int(f), nil
}

// runTool runs one tool call of the model and returns what is sent back
// to it: the result as JSON, or {"error": ...}, which the model may act on.
// ok is false when the call failed.
func runTool(ctx context.Context, c Catalog, offered []string, call toolCall) (string, bool) {
	fail := func(err error) (string, bool) {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		return string(b), false
	}
	name := call.Function.Name
	t, known := tools[name]
	if !known || !slices.Contains(offered, name) {
		return fail(fmt.Errorf("no tool %q is offered; the tools are %v", name, offered))
	}
	args := map[string]any{}
	if call.Function.Arguments != "" {
		if err := json.Unmarshal([]byte(call.Function.Arguments), &args); err != nil {
			return fail(fmt.Errorf("the arguments are not a JSON object: %v", err))
		}
	}
	v, err := t.run(ctx, c, args)
	if err != nil {
		var ve *catalog.ValidationError
		if errors.As(err, &ve) || errors.Is(err, catalog.ErrNotFound) {
			return fail(err)
		}
		return fail(fmt.Errorf("the catalog could not answer: %v", err))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fail(err)
	}
	if len(b) > maxToolResult {
		return fail(fmt.Errorf("the result is larger than %d bytes; ask for fewer entities (limit) or search", maxToolResult))
	}
	return string(b), true
}
