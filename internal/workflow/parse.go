package workflow

import (
	"bytes"
	"errors"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/tmpl"
)

// secretsRule opens every message about a misplaced secret.
const secretsRule = "secrets may only be used in fields that are sent out and not stored " +
	"(WEBHOOK url, headers and body; KAFKA payload; INTEGRATION_ACTION properties)"

// Reasons for refusing .secrets, by where it appears.
const (
	whyDefinition = "this field is stored with the definition and shown to anyone who can see the workflow"
	whyTrigger    = "a trigger's configuration is stored with the definition and its inputs and defaults become the trigger's output, stored in the run"
	whyVariables  = "variables are stored in the run and shown to anyone who can view it"
	whyLinks      = "links are stored with the node run and shown to anyone who can view it"
	whyCondition  = "a condition's result decides the path the run takes, which is stored and shown, so it would reveal the secret bit by bit"
)

// parser is the state of one Parse.
type parser struct {
	r *report
	// stored is set by ParseStored: checks newer than the definition
	// (stricter) report warnings, not errors.
	stored bool
	// nodes maps node identifiers to their index, for connections and
	// .outputs references.
	nodes map[string]int
	// refs are the .outputs.NODE reads found in templates, checked once
	// every node is known.
	refs []outputRef
}

// outputRef is a template's read of .outputs.NODE.
type outputRef struct{ path, node string }

// Parse parses, validates and compiles a workflow definition in Port's JSON
// format. It returns every problem at once, sorted by where its path appears
// in the definition; wf is nil when there is any error, and problems is
// never nil. On success wf.Source holds the definition compacted, in the
// member order the user wrote, without the server-added fields, and
// Parse(wf.Source) gives the same workflow.
//
// Decisions where the spec leaves room:
//   - Parsing is strict: every object accepts the members in its table
//     (types.go) and nothing else, with a "did you mean" for likely typos.
//     Duplicate keys are errors. The server-added members version,
//     createdBy, updatedBy, createdAt, updatedAt, id and orgId are accepted
//     at the top level and ignored; null is accepted where Port's schema
//     allows it (title, icon, description) and kept in Source.
//   - Identifiers allow letters of any script, the ASCII digits and @ _ : -.
//     The 60-character limit applies to the workflow identifier only.
//   - Fields that the engine reads statically must be literal: booleans,
//     numbers and enumerations (method, onFailure, onTimeout, synchronized,
//     timeoutSeconds, provider and invocation type) fail their type check
//     when they hold a template, and outlets must not hold "{{" at all.
//   - The configs of action and flow nodes are compiled as templates whole;
//     trigger configs, titles, descriptions and connections are not
//     templated, so "{{" there is literal text, except that a {{ }} part
//     naming .secrets is rejected there too.
//   - .secrets may be read only in WEBHOOK url, headers and body, KAFKA
//     payload and INTEGRATION_ACTION integrationActionExecutionProperties;
//     anywhere else it is an error that says why.
//   - A template reading .outputs.NODE for a NODE the workflow lacks is a
//     warning (it renders null), as is a node that no trigger reaches.
//     .outputs.trigger always names the trigger that fired.
//   - A literal WEBHOOK url must be an absolute http(s) URL; credentials in
//     it, or a literal Authorization header, are warnings.
//   - Messages quote only structural values (identifiers, types): free text
//     may hold a credential pasted by mistake.
func Parse(data []byte) (wf *Workflow, problems *Problems) {
	return parse(data, false)
}

// ParseStored is Parse for a definition sluice stored earlier, perhaps
// under an older version whose checks were laxer: the checks added since
// sluice first stored definitions (a template reading a root its context
// lacks, checkRoots) report warnings instead of errors, so that an upgrade
// never stops a stored workflow's runs, and its waiting runs, from going
// on. A definition being saved goes through Parse.
func ParseStored(data []byte) (wf *Workflow, problems *Problems) {
	return parse(data, true)
}

func parse(data []byte, stored bool) (wf *Workflow, problems *Problems) {
	p := &parser{r: newReport(), nodes: map[string]int{}, stored: stored}
	root := decode(data, p.r)
	if root == nil {
		return nil, p.r.problems()
	}
	w := p.workflow(root)
	if w == nil || p.r.hasErrors() {
		return nil, p.r.problems()
	}
	var b bytes.Buffer
	root.encode(&b, serverFields)
	w.Source = b.Bytes()
	return w, p.r.problems()
}

// workflow checks the top-level object and everything inside it.
func (p *parser) workflow(v *jv) *Workflow {
	if !object(p.r, "", v, workflowFields) {
		return nil
	}
	w := &Workflow{
		Identifier:            strOf(v.get("identifier")),
		Title:                 strOf(v.get("title")),
		Icon:                  strOf(v.get("icon")),
		Description:           strOf(v.get("description")),
		Category:              strOf(v.get("category")),
		AllowAnyoneToViewRuns: boolOr(v.get("allowAnyoneToViewRuns"), true),
		byID:                  map[string]*Node{},
	}
	for i, k := range v.keys {
		if k != "nodes" && k != "connections" && !serverFields[k] {
			p.scanLiteral(joinKey("", k), v.vals[i], whyDefinition)
		}
	}

	nodes := v.get("nodes")
	if nodes != nil && nodes.kind == jArray {
		if len(nodes.vals) > maxNodes {
			p.r.errorf("nodes", "a workflow may have at most %d nodes, this one has %d", maxNodes, len(nodes.vals))
		}
		for i, nv := range nodes.vals {
			path := joinIndex("nodes", i)
			n := p.node(path, nv)
			if n == nil || n.Identifier == "" {
				continue
			}
			if j, dup := p.nodes[n.Identifier]; dup {
				p.r.errorf(path+".identifier", "duplicate node identifier %q (also nodes[%d])", n.Identifier, j)
				continue
			}
			p.nodes[n.Identifier] = i
			w.Nodes = append(w.Nodes, n)
			w.byID[n.Identifier] = n
		}
		hasTrigger := false
		for _, n := range w.Nodes {
			hasTrigger = hasTrigger || n.IsTrigger()
		}
		if !hasTrigger {
			p.r.errorf("nodes", "a workflow needs at least one trigger node (%s, %s or %s)",
				TypeSelfServeTrigger, TypeEventTrigger, TypeScheduleTrigger)
		}
	}
	for _, ref := range p.refs {
		if _, ok := p.nodes[ref.node]; !ok && ref.node != "trigger" {
			p.r.warnf(ref.path, "reads %s, but the workflow has no node %q: it will be null", joinKey(".outputs", ref.node), ref.node)
		}
	}
	if conns := v.get("connections"); conns != nil && conns.kind == jArray {
		p.connections(w, conns)
	}
	p.graph(w)
	return w
}

// node checks one node and compiles its templates. It returns nil when v is
// not an object.
func (p *parser) node(path string, v *jv) *Node {
	if !object(p.r, path, v, nodeFields) {
		return nil
	}
	n := &Node{
		Identifier:  strOf(v.get("identifier")),
		Title:       strOf(v.get("title")),
		Icon:        strOf(v.get("icon")),
		Description: strOf(v.get("description")),
		Verbose:     boolOr(v.get("verbose"), false),
	}
	for i, k := range v.keys {
		if k != "config" && k != "variables" && k != "links" {
			p.scanLiteral(joinKey(path, k), v.vals[i], whyDefinition)
		}
	}

	cpath := path + ".config"
	cfg := v.get("config")
	var nt *nodeType
	if cfg != nil && cfg.kind == jObject {
		switch t := cfg.get("type"); {
		case t == nil:
			p.r.errorf(cpath+".type", "required field is missing: node %q needs a type", n.Identifier)
		case t.kind != jString:
			isKind(p.r, cpath+".type", t, jString)
		default:
			if nt = nodeTypes[t.s]; nt == nil {
				if h := typeHints[t.s]; h != "" {
					p.r.errorf(cpath+".type", "node %q has an unknown type %q: %s", n.Identifier, t.s, h)
				} else if m := suggest(t.s, knownTypes()); m != "" {
					p.r.errorf(cpath+".type", "node %q has an unknown type %q (did you mean %q?); known types: %s",
						n.Identifier, t.s, m, strings.Join(knownTypes(), ", "))
				} else {
					p.r.errorf(cpath+".type", "node %q has an unknown type %q; known types: %s",
						n.Identifier, t.s, strings.Join(knownTypes(), ", "))
				}
			} else {
				n.Type = t.s
			}
		}
	}
	if nt != nil {
		object(p.r, cpath, cfg, nt.config)
		n.Config, _ = cfg.toAny().(map[string]any)
		switch nt.kind {
		case kindTrigger:
			n.Published = boolOr(cfg.get("published"), true)
			p.scanLiteral(cpath, cfg, whyTrigger)
		case kindAction:
			n.OnFailure = OnFailureTerminate
			if of := cfg.get("onFailure"); of != nil && of.kind == jString {
				n.OnFailure = of.s
			}
		}
		if nt.kind != kindTrigger {
			n.ConfigTemplate = p.compileConfig(cpath, n.Config, nt)
		}
		nt.finish(p, n, cpath, cfg)
	}

	// Every node may carry variables and links (Port's OpenAPI gives every
	// node "variables", default {}): an empty object is the same as none,
	// so a node's output stays its raw result.
	if vars := v.get("variables"); vars != nil && vars.kind == jObject && len(vars.keys) > 0 {
		vpath := path + ".variables"
		if val, err := tmpl.CompileValue(vars.toAny(), vpath); err != nil {
			p.templateErrors(vpath, "template", err)
		} else {
			n.Variables = val
			val.Templates(func(lp string, t *tmpl.Template) { p.reads(lp, t.Reads(), t.WholeRead(), false, whyVariables) })
		}
	}
	if links := v.get("links"); links != nil && links.kind == jArray {
		lpath := path + ".links"
		if len(links.vals) > maxLinks {
			p.r.errorf(lpath, "a node may have at most %d links, this one has %d", maxLinks, len(links.vals))
		}
		for i, l := range links.vals {
			if l.kind != jString {
				continue
			}
			ipath := joinIndex(lpath, i)
			t, err := tmpl.Compile(l.s)
			if err != nil {
				p.templateErrors(ipath, "template", err)
				continue
			}
			n.Links = append(n.Links, t)
			p.reads(ipath, t.Reads(), t.WholeRead(), false, whyLinks)
		}
	}
	return n
}

// compileConfig compiles the config of an action or flow node and checks
// where its templates read .secrets.
func (p *parser) compileConfig(path string, cfg map[string]any, nt *nodeType) *tmpl.Value {
	val, err := tmpl.CompileValue(cfg, path)
	if err != nil {
		p.templateErrors(path, "template", err)
		return nil
	}
	val.Templates(func(lp string, t *tmpl.Template) {
		ok := false
		for _, f := range nt.secrets {
			ok = ok || underPath(lp, joinKey(path, f))
		}
		p.reads(lp, t.Reads(), t.WholeRead(), ok, nt.secretsWhy)
		p.checkRoots(lp, t.Reads(), configRoots, nil)
		if ok && nt.secretsWarn != "" && len(t.Reads().Secrets) > 0 {
			p.r.warnf(lp, "%s", nt.secretsWarn)
		}
	})
	return val
}

// reads checks what a template at path reads: .secrets where it is not
// allowed is an error; .outputs.NODE is remembered for checking. whole, when
// not nil, says where the template reads the whole context in a way the
// analysis cannot narrow: that is an error everywhere. Where .secrets is not
// allowed, the rule is conservative: what cannot be proven not to read
// .secrets counts as reading it. Where it is allowed, such a read would
// silently see no secret (only literally named secrets are resolved), which
// is refused too rather than rendering null.
func (p *parser) reads(path string, rd tmpl.Reads, whole *tmpl.Error, secretsOK bool, why string) {
	switch {
	case !secretsOK && (len(rd.Secrets) > 0 || slices.Contains(rd.Roots, "secrets")):
		p.r.errorf(path, "%s: %s", secretsRule, why)
	case !secretsOK && whole != nil:
		p.r.errorf(path, "at template position %d: %s: %s; here %s, so the expression cannot be proven not to read .secrets: %s",
			whole.Offset, secretsRule, why, whole.Msg, hintLiteralPaths)
	case whole != nil:
		p.r.errorf(path, "at template position %d: %s; such an expression never sees a secret (only secrets named literally, .secrets.NAME or .secrets[\"NAME\"], are resolved), so a secret read this way would silently be null: %s",
			whole.Offset, whole.Msg, hintLiteralPaths)
	}
	for _, o := range rd.Outputs {
		p.refs = append(p.refs, outputRef{path: path, node: o})
	}
}

// hintLiteralPaths ends the messages about reads of the whole context.
const hintLiteralPaths = "read each value by its literal path (.result.x, .outputs[\"node\"].x, .secrets.NAME where secrets are allowed)"

// readsSecrets reports whether rd may read .secrets in any way: by name, or
// through a read of the whole context that the analysis cannot narrow.
func readsSecrets(rd tmpl.Reads) bool {
	return len(rd.Secrets) > 0 || slices.Contains(rd.Roots, "secrets") || rd.Whole
}

// templateErrors records the errors of a template (or, as what says, a bare
// expression) compile, which may be several joined *tmpl.Error values each
// naming its own path.
func (p *parser) templateErrors(path, what string, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			p.templateErrors(path, what, e)
		}
		return
	}
	var te *tmpl.Error
	if !errors.As(err, &te) {
		p.r.errorf(path, "invalid %s: %v", what, err)
		return
	}
	if te.Path != "" {
		path = te.Path
	}
	if te.Offset >= 0 {
		p.r.errorf(path, "invalid %s at position %d: %s", what, te.Offset, te.Msg)
	} else {
		p.r.errorf(path, "invalid %s: %s", what, te.Msg)
	}
}

// scanLiteral rejects .secrets in the string leaves of v, a part of the
// definition that is never rendered: a "{{ }}" there is literal text, but
// one that names .secrets shows a mistake that would put a reference where
// the user expects a value.
func (p *parser) scanLiteral(path string, v *jv, why string) {
	walkStrings(path, v, func(lp, s string) {
		if looksLikeSecretTemplate(s) {
			p.r.errorf(lp, "%s: %s; this field is not even templated, so the reference would show as text", secretsRule, why)
		}
	})
}

// looksLikeSecretTemplate reports whether s holds a {{ }} part that reads
// .secrets.
func looksLikeSecretTemplate(s string) bool {
	if !strings.Contains(s, "{{") {
		return false
	}
	if t, err := tmpl.Compile(s); err == nil {
		return readsSecrets(t.Reads())
	}
	// Not a valid template: look for "secrets" inside a {{ }} part.
	for rest := s; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		part := rest
		j := strings.Index(rest, "}}")
		if j >= 0 {
			part = rest[:j]
		}
		if strings.Contains(part, "secrets") {
			return true
		}
		if j < 0 {
			return false
		}
		rest = rest[j+2:]
	}
}

// underPath reports whether path is base or inside it.
func underPath(path, base string) bool {
	if !strings.HasPrefix(path, base) {
		return false
	}
	rest := path[len(base):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// identifier returns a check for identifiers: letters of any script, digits,
// and @ _ : -, at most max characters (0: no limit).
func identifier(max int) check {
	return func(r *report, path string, v *jv) {
		if !isKind(r, path, v, jString) {
			return
		}
		if v.s == "" {
			r.errorf(path, "must not be empty")
			return
		}
		if n := utf8.RuneCountInString(v.s); max > 0 && n > max {
			r.errorf(path, "must be at most %d characters long, it has %d", max, n)
		}
		for _, ch := range v.s {
			if !unicode.IsLetter(ch) && (ch < '0' || ch > '9') && !strings.ContainsRune("@_:-", ch) {
				r.errorf(path, "may contain only letters, digits and @ _ : - (found %q)", ch)
				return
			}
		}
	}
}

// knownTypes lists the node types, sorted.
func knownTypes() []string {
	ts := make([]string, 0, len(nodeTypes))
	for t := range nodeTypes {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// strOf returns v's string, or "" when v is not a string.
func strOf(v *jv) string {
	if v == nil || v.kind != jString {
		return ""
	}
	return v.s
}

// boolOr returns v's boolean, or def when v is not a boolean.
func boolOr(v *jv, def bool) bool {
	if v == nil || v.kind != jBool {
		return def
	}
	return v.b
}

// strings returns the strings of an array, skipping other elements.
func stringsOf(v *jv) []string {
	if v == nil || v.kind != jArray {
		return nil
	}
	var out []string
	for _, e := range v.vals {
		if e.kind == jString {
			out = append(out, e.s)
		}
	}
	return out
}

// permissions extracts a {roles, users, teams} object.
func permissionsOf(v *jv) *Permissions {
	if v == nil || v.kind != jObject {
		return nil
	}
	return &Permissions{Roles: stringsOf(v.get("roles")), Users: stringsOf(v.get("users")), Teams: stringsOf(v.get("teams"))}
}

func finishSelfServe(p *parser, n *Node, path string, cfg *jv) {
	if ui := cfg.get("userInputs"); ui != nil && ui.kind == jObject {
		n.UserInputs = p.userInputs(path+".userInputs", ui, false, whyTrigger)
	}
	n.Permissions = permissionsOf(cfg.get("permissions"))
	if n.Permissions != nil {
		n.Permissions.Policy = p.policy(path+".permissions.policy", cfg.get("permissions").get("policy"))
	}
	p.contexts(path+".contexts", cfg.get("contexts"), n.UserInputs)
}

// contexts checks where a self-serve trigger is offered, on Port's rules
// (terraform-provider-port-labs port/workflow/validate.go): CREATE_ENTITY
// names a blueprint and no input; ENTITY names an entity input of the form,
// each a different one.
func (p *parser) contexts(path string, v *jv, ui *UserInputs) {
	if v == nil || v.kind != jArray {
		return
	}
	seen := map[string]int{}
	for i, c := range v.vals {
		if c.kind != jObject {
			continue
		}
		cpath := joinIndex(path, i)
		bp, in := c.get("blueprintIdentifier"), c.get("userInput")
		switch strOf(c.get("on")) {
		case "CREATE_ENTITY":
			if bp == nil {
				p.r.errorf(cpath+".blueprintIdentifier", "required when on is CREATE_ENTITY")
			}
			if in != nil {
				p.r.errorf(cpath+".userInput", "applies only when on is ENTITY")
			}
		case "ENTITY":
			if bp != nil {
				p.r.errorf(cpath+".blueprintIdentifier", "applies only when on is CREATE_ENTITY")
			}
			name := strOf(in)
			if in == nil {
				p.r.errorf(cpath+".userInput", "required when on is ENTITY")
				continue
			}
			var prop *InputProperty
			if ui != nil {
				prop = ui.Properties[name]
			}
			switch {
			case prop == nil:
				p.r.errorf(cpath+".userInput", "names no input: there is no property %q", name)
			case prop.Format != "entity":
				p.r.errorf(cpath+".userInput", "must name an input of format entity; %q is not one", name)
			}
			if j, dup := seen[name]; dup {
				p.r.errorf(cpath+".userInput", "names %q, as contexts[%d] does: each ENTITY context names a different input", name, j)
			}
			seen[name] = i
		}
	}
}

func finishEvent(p *parser, n *Node, path string, cfg *jv) {
	ev := cfg.get("event")
	if ev == nil || ev.kind != jObject {
		return
	}
	n.Event = &EventTrigger{Type: strOf(ev.get("type")), BlueprintIdentifier: strOf(ev.get("blueprintIdentifier")), PropertyIdentifier: strOf(ev.get("propertyIdentifier"))}
	switch {
	case n.Event.Type == "TIMER_EXPIRED" && ev.get("propertyIdentifier") == nil:
		p.r.errorf(path+".event.propertyIdentifier", "required when the event type is TIMER_EXPIRED: it names the timer property")
	case n.Event.Type != "TIMER_EXPIRED" && ev.get("propertyIdentifier") != nil && n.Event.Type != "":
		p.r.errorf(path+".event.propertyIdentifier", "applies only to TIMER_EXPIRED events")
	}
	cond := cfg.get("condition")
	if cond == nil || cond.kind != jObject {
		return
	}
	ec := &EventCondition{Combinator: "and"}
	if c := cond.get("combinator"); c != nil && c.kind == jString {
		ec.Combinator = c.s
	}
	if exprs := cond.get("expressions"); exprs != nil && exprs.kind == jArray {
		for i, e := range exprs.vals {
			if e.kind != jString || e.s == "" {
				continue
			}
			x := p.compileExpr(joinIndex(path+".condition.expressions", i), e.s, eventRoots, eventHints)
			if x != nil {
				ec.Expressions = append(ec.Expressions, x)
			}
		}
	}
	n.Event.Condition = ec
}

// compileExpr compiles a bare jq expression at path, refuses .secrets in it
// and any top-level key outside roots (checkRoots, with hints).
func (p *parser) compileExpr(path, src string, roots []string, hints map[string]string) *tmpl.Expr {
	x, err := tmpl.CompileExpr(src)
	if err != nil {
		p.templateErrors(path, "expression", err)
		return nil
	}
	p.reads(path, x.Reads(), x.WholeRead(), false, whyCondition)
	p.checkRoots(path, x.Reads(), roots, hints)
	return x
}

func finishSchedule(p *parser, n *Node, path string, cfg *jv) {
	c := cfg.get("cron")
	if c == nil || c.kind != jString {
		return
	}
	if err := validateCron(c.s); err != nil {
		p.r.errorf(path+".cron", "%v", err)
		return
	}
	n.Cron = c.s
}

func finishWebhook(p *parser, n *Node, path string, cfg *jv) {
	if u := cfg.get("url"); u != nil && u.kind == jString && u.s != "" && !strings.Contains(u.s, "{{") {
		// The URL is never quoted: it may hold credentials.
		parsed, err := url.Parse(u.s)
		switch {
		case err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "":
			p.r.errorf(path+".url", "must be an absolute http or https URL")
		case parsed.User != nil:
			p.r.warnf(path+".url", "holds credentials in the URL itself; store them as a secret and write {{ .secrets.NAME }} instead")
		}
	}
	if h := cfg.get("headers"); h != nil && h.kind == jObject {
		for i, k := range h.keys {
			hv := h.vals[i]
			if strings.EqualFold(k, "Authorization") && hv.kind == jString && hv.s != "" && !strings.Contains(hv.s, "{{") {
				p.r.warnf(joinKey(path+".headers", k), "is a literal credential stored with the definition; store it as a secret and write {{ .secrets.NAME }} instead")
			}
		}
	}
	if boolOr(cfg.get("verbose"), false) {
		n.Verbose = true
	}
	// Port hands an agent-mode request to the Port Execution Agent, which
	// sends it from inside the customer's network (docs.port.io/workflows/nodes,
	// "Webhook (agent mode)"). sluice has no agent: it sends the request
	// itself, from the server, so say so rather than ignore the field.
	if a := cfg.get("agent"); a != nil && a.kind == jBool && a.b {
		p.r.warnf(path+".agent", "sluice has no Port Execution Agent: the server sends this request itself, so the URL must be reachable from the sluice server")
	}
}

// finishIntegration accepts any provider and invocation type: Port routes
// them to whichever integration is installed (github-ocean with
// dispatch_workflow, gitlab with trigger_pipeline, Azure DevOps, and those
// added later), and so do sluice's integration executors. GitHub takes only
// strings as workflow inputs: a literal that is not one is rejected here;
// a template that renders one fails the node when it runs, with the same
// hint (internal/node/integration).
func finishIntegration(p *parser, _ *Node, path string, cfg *jv) {
	prov := cfg.get("integrationProvider")
	if prov == nil || prov.kind != jString || !IsGitHubProvider(prov.s) {
		return
	}
	props := cfg.get("integrationActionExecutionProperties")
	if props == nil || props.kind != jObject {
		return
	}
	for _, name := range []string{"workflowInputs", "inputs"} {
		in := props.get(name)
		if in == nil || in.kind != jObject {
			continue
		}
		for i, k := range in.keys {
			if v := in.vals[i]; v.kind != jString {
				p.r.errorf(joinKey(path+".integrationActionExecutionProperties."+name, k),
					"GitHub workflow inputs must be strings, got %s: quote it, or convert a template's value with | tostring (\"{{ .outputs.trigger.count | tostring }}\")", v.kind)
			}
		}
	}
}

// IsGitHubProvider reports whether an integrationProvider names GitHub
// (Ocean's github-ocean, and GITHUB from Port's older documentation).
func IsGitHubProvider(p string) bool {
	return strings.EqualFold(p, "github-ocean") || strings.EqualFold(p, "github")
}

// finishAI checks the rules of the AI and AI_AGENT nodes that span members
// (terraform-provider-port-labs port/workflow/validate.go).
func finishAI(p *parser, n *Node, path string, cfg *jv) {
	if (cfg.get("provider") == nil) != (cfg.get("model") == nil) {
		missing := "provider"
		if cfg.get("model") == nil {
			missing = "model"
		}
		p.r.errorf(path+"."+missing, "provider and model are set together or not at all")
	}
	if m := cfg.get("mcpServers"); m != nil && m.kind == jArray && len(m.vals) > maxMCPServers {
		p.r.errorf(path+".mcpServers", "at most %d MCP servers, this node has %d", maxMCPServers, len(m.vals))
	}
}

// finishCursor checks that a CURSOR_AGENT node names its source.
func finishCursor(p *parser, n *Node, path string, cfg *jv) {
	if src := cfg.get("source"); src != nil && src.kind == jObject && src.get("repository") == nil && src.get("prUrl") == nil {
		p.r.errorf(path+".source", "needs repository or prUrl")
	}
}

// literalOutlet refuses "{{" in an outlet's members, which the engine reads
// as written, except its status labels, whose text is a template.
func literalOutlet(r *report, path string, o *jv) {
	for i, k := range o.keys {
		if k != "statusLabel" && k != "workflowStatusLabel" {
			noTemplate(r, joinKey(path, k), o.vals[i])
		}
	}
}

// outlets returns the outlets array of a CONDITION or INPUT config and its
// path, accepting the deprecated alias "options".
func (p *parser) outlets(path string, cfg *jv) (*jv, string) {
	o, opt := cfg.get("outlets"), cfg.get("options")
	switch {
	case o != nil && opt != nil:
		p.r.errorf(path+".options", "cannot be used together with outlets: options is the deprecated name of outlets")
		return o, path + ".outlets"
	case opt != nil:
		p.r.warnf(path+".options", "deprecated: options is the former name of outlets; rename it to outlets")
		return opt, path + ".options"
	case o != nil:
		return o, path + ".outlets"
	}
	p.r.errorf(path+".outlets", "required field is missing")
	return nil, ""
}

func finishCondition(p *parser, n *Node, path string, cfg *jv) {
	arr, apath := p.outlets(path, cfg)
	if arr == nil || arr.kind != jArray {
		return
	}
	if len(arr.vals) == 0 {
		p.r.errorf(apath, "a CONDITION node needs at least one outlet")
	}
	seen := map[string]int{}
	for i, o := range arr.vals {
		if o.kind != jObject {
			continue
		}
		opath := joinIndex(apath, i)
		literalOutlet(p.r, opath, o)
		out := Outlet{Identifier: strOf(o.get("identifier")), Title: strOf(o.get("title"))}
		if j, dup := seen[out.Identifier]; dup && out.Identifier != "" {
			p.r.errorf(opath+".identifier", "duplicate outlet identifier %q (also %s[%d])", out.Identifier, apath, j)
		}
		seen[out.Identifier] = i
		if e := o.get("expression"); e != nil && e.kind == jString && e.s != "" {
			out.Expression = p.compileExpr(opath+".expression", e.s, conditionRoots, nil)
		}
		n.Outlets = append(n.Outlets, out)
	}
}

func finishInput(p *parser, n *Node, path string, cfg *jv) {
	if ui := cfg.get("userInputs"); ui != nil && ui.kind == jObject {
		n.UserInputs = p.userInputs(path+".userInputs", ui, true, whyInput)
	}
	n.Responders = permissionsOf(cfg.get("responders"))
	if n.Responders != nil {
		n.Responders.UsersQuery = p.usersQuery(path+".responders.usersQuery", cfg.get("responders").get("usersQuery"))
	}
	p.notifications(path+".notifications", cfg.get("notifications"))
	arr, apath := p.outlets(path, cfg)
	if arr == nil || arr.kind != jArray {
		return
	}
	if len(arr.vals) == 0 {
		p.r.errorf(apath, "an INPUT node needs at least one outlet")
	}
	buttons := map[string]bool{}
	if n.UserInputs != nil {
		for _, b := range n.UserInputs.Buttons {
			buttons[b.Identifier] = true
		}
	}
	seen := map[string]int{}
	for i, o := range arr.vals {
		if o.kind != jObject {
			continue
		}
		opath := joinIndex(apath, i)
		literalOutlet(p.r, opath, o)
		out := Outlet{Identifier: strOf(o.get("identifier")), Title: strOf(o.get("title")), NumOfResponders: 1}
		if nr := o.get("numOfResponders"); nr != nil && nr.kind == jNumber {
			if f, ok := numVal(p.r, opath, nr); ok && f >= 1 {
				out.NumOfResponders = int(f)
			}
		}
		if out.Identifier != "" {
			if j, dup := seen[out.Identifier]; dup {
				p.r.errorf(opath+".identifier", "duplicate outlet identifier %q (also %s[%d])", out.Identifier, apath, j)
			} else if !buttons[out.Identifier] {
				p.r.errorf(opath+".identifier", "must name a button of userInputs.buttons; %q is not one", out.Identifier)
			}
			seen[out.Identifier] = i
		}
		n.Outlets = append(n.Outlets, out)
	}
}

// notifications checks the targets of an INPUT node's notifications: a
// webhook needs its url, and the members of one target are refused on the
// other (terraform-provider-port-labs docs/resources/workflow.md,
// node.input.notifications).
func (p *parser) notifications(path string, arr *jv) {
	if arr == nil || arr.kind != jArray {
		return
	}
	for i, n := range arr.vals {
		if n.kind != jObject {
			continue
		}
		npath := joinIndex(path, i)
		target, typ := n.get("target"), n.get("type")
		switch {
		case target == nil && typ == nil:
			p.r.errorf(npath+".target", "required field is missing: email or webhook")
		case target != nil && typ != nil:
			p.r.errorf(npath+".type", "cannot be used together with target: type is an alias of target")
		case typ != nil:
			target = typ
		}
		switch strOf(target) {
		case "webhook":
			if n.get("url") == nil {
				p.r.errorf(npath+".url", "required field is missing: a webhook notification needs the url it posts to")
			}
			if n.get("fields") != nil {
				p.r.errorf(npath+".fields", "only an email notification has fields")
			}
		case "email":
			for _, k := range []string{"url", "method", "headers", "body", "agent"} {
				if n.get(k) != nil {
					p.r.errorf(npath+"."+k, "only a webhook notification has %s", k)
				}
			}
		}
	}
}
