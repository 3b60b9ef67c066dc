package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-run/sluice/internal/jsontext"
	"github.com/sluice-run/sluice/internal/tmpl"
)

// knownFormats are the input formats sluice knows. Those mapped to true are
// checked; the others are accepted as they come (they drive Port's UI).
var knownFormats = map[string]bool{
	"date-time": true, "email": true, "url": true, "ipv4": true, "ipv6": true,
	"yaml": false, "entity": false, "user": false, "team": false, "proto": false,
	"markdown": false, "multi-line": false, "timer": false,
}

// userInputs builds the input schema of a SELF_SERVE_TRIGGER or an INPUT
// node (with buttons) from a shape-checked object at path, and checks the
// rules that span its members. The jq of the form (defaults, visible,
// disabled, required, validations...) is compiled here and may not read
// .secrets, for the reason why.
func (p *parser) userInputs(path string, v *jv, buttons bool, why string) *UserInputs {
	ui := &UserInputs{Properties: map[string]*InputProperty{}}
	if props := v.get("properties"); props != nil && props.kind == jObject {
		for i, name := range props.keys {
			if pv := props.vals[i]; pv.kind == jObject {
				ui.Properties[name] = p.inputProperty(joinKey(path+".properties", name), pv, why)
				ui.names = append(ui.names, name)
			}
		}
		for i, name := range props.keys {
			pp := joinKey(path+".properties", name) + ".dependsOn"
			for j, d := range stringsOf(props.vals[i].get("dependsOn")) {
				if ui.Properties[d] == nil {
					p.r.errorf(joinIndex(pp, j), "names no input: there is no property %q", d)
				}
			}
		}
	}
	names := func(member string) []string {
		arr := v.get(member)
		if arr == nil || arr.kind != jArray {
			return nil
		}
		var out []string
		seen := map[string]bool{}
		for i, e := range arr.vals {
			if e.kind != jString {
				continue
			}
			ep := joinIndex(path+"."+member, i)
			switch {
			case ui.Properties[e.s] == nil:
				p.r.errorf(ep, "names no input: there is no property %q", e.s)
			case seen[e.s]:
				p.r.errorf(ep, "names %q twice", e.s)
			default:
				out = append(out, e.s)
			}
			seen[e.s] = true
		}
		return out
	}
	if rq := v.get("required"); rq != nil && rq.kind == jObject {
		ui.RequiredJQ = p.formExpr(path+".required.jqQuery", rq.get("jqQuery"), why)
	} else {
		ui.Required = names("required")
	}
	ui.Order = names("order")
	steps, vals := v.get("steps"), v.get("validations")
	if steps != nil && v.get("order") != nil {
		p.r.errorf(path+".order", "cannot be used together with steps: each step has its own order")
	}
	if steps != nil && vals != nil {
		p.r.errorf(path+".validations", "cannot be used together with steps: give each step its validations")
	}
	ui.Validations = p.validations(path+".validations", vals, nil, why)
	if steps != nil && steps.kind == jArray {
		for i, st := range steps.vals {
			if st.kind != jObject {
				continue
			}
			spath := joinIndex(path+".steps", i)
			for j, name := range stringsOf(st.get("order")) {
				if ui.Properties[name] == nil {
					p.r.errorf(joinIndex(spath+".order", j), "names no input: there is no property %q", name)
				}
			}
			when := p.cond(spath+".visible", st.get("visible"), why)
			ui.Validations = append(ui.Validations, p.validations(spath+".validations", st.get("validations"), when, why)...)
		}
	}
	if t := v.get("titles"); t != nil && t.kind == jObject {
		for i, k := range t.keys {
			if t.vals[i].kind == jObject {
				p.cond(joinKey(path+".titles", k)+".visible", t.vals[i].get("visible"), why)
			}
		}
	}
	if bs := v.get("buttons"); buttons && bs != nil && bs.kind == jArray {
		seen := map[string]bool{}
		for i, b := range bs.vals {
			if b.kind != jObject {
				continue
			}
			btn := Button{Identifier: strOf(b.get("identifier")), Label: strOf(b.get("label")), Variant: strOf(b.get("variant"))}
			if btn.Identifier != "" && seen[btn.Identifier] {
				p.r.errorf(joinIndex(path+".buttons", i)+".identifier", "duplicate button identifier %q", btn.Identifier)
			}
			seen[btn.Identifier] = true
			ui.Buttons = append(ui.Buttons, btn)
		}
	}
	return ui
}

// formExpr compiles the jq of a {"jqQuery": ...} at path (v is its string)
// and refuses .secrets in it: the form's values become the trigger's output,
// stored in the run.
func (p *parser) formExpr(path string, v *jv, why string) *tmpl.Expr {
	if v == nil || v.kind != jString || v.s == "" {
		return nil
	}
	x, err := tmpl.CompileExpr(v.s)
	if err != nil {
		p.templateErrors(path, "jq expression", err)
		return nil
	}
	p.reads(path, x.Reads(), x.WholeRead(), false, why)
	return x
}

// cond reads a boolean written literally or as {"jqQuery": ...}; nil when v
// is absent or of the wrong shape (reported by the field checks).
func (p *parser) cond(path string, v *jv, why string) *Cond {
	switch {
	case v == nil:
		return nil
	case v.kind == jBool:
		return &Cond{Value: v.b}
	case v.kind == jObject:
		if x := p.formExpr(path+".jqQuery", v.get("jqQuery"), why); x != nil {
			return &Cond{Expr: x}
		}
	}
	return nil
}

// validations compiles a form's validation rules at path; when is the
// visibility of their step (nil for the form's own rules).
func (p *parser) validations(path string, v *jv, when *Cond, why string) []Validation {
	if v == nil || v.kind != jArray {
		return nil
	}
	if len(v.vals) > maxValidations {
		p.r.errorf(path, "at most %d validations, this form has %d", maxValidations, len(v.vals))
	}
	var out []Validation
	for i, rule := range v.vals {
		if rule.kind != jObject {
			continue
		}
		rpath := joinIndex(path, i)
		if x := p.formExpr(rpath+".constraint", rule.get("constraint"), why); x != nil {
			out = append(out, Validation{Constraint: x, Message: strOf(rule.get("message")), Path: rpath, When: when})
		}
	}
	return out
}

// inputProperty builds one input property from a shape-checked object and
// checks that its constraints fit its type and that its default satisfies
// them.
func (p *parser) inputProperty(path string, v *jv, why string) *InputProperty {
	ip := &InputProperty{
		Type:        strOf(v.get("type")),
		Format:      strOf(v.get("format")),
		Title:       strOf(v.get("title")),
		Description: strOf(v.get("description")),
		Icon:        strOf(v.get("icon")),
		Blueprint:   strOf(v.get("blueprint")),
		Pattern:     strOf(v.get("pattern")),
		Visible:     p.cond(path+".visible", v.get("visible"), why),
		Disabled:    p.cond(path+".disabled", v.get("disabled"), why),
	}
	p.cond(path+".readOnly", v.get("readOnly"), why)
	ip.Computed = p.computedConstraints(path, v, why)
	if ip.Format == "entity" && ip.Blueprint == "" && ip.Type == "string" {
		p.r.errorf(path+".blueprint", "required for an input of format entity: it names the blueprint the entity is taken from")
	}
	if ip.Format != "" {
		if _, ok := knownFormats[ip.Format]; !ok {
			p.r.warnf(path+".format", "unknown format %q: values are not checked against it", ip.Format)
		}
	}
	onlyFor := func(member, typ string) bool {
		if v.get(member) == nil {
			return false
		}
		if ip.Type != typ {
			p.r.errorf(path+"."+member, "applies only to %s inputs, and this one is %s", typ, ip.Type)
			return false
		}
		return true
	}
	intOf := func(member string) *int {
		if f, ok := floatOf(v.get(member)); ok && f >= 0 && f == math.Trunc(f) && f <= math.MaxInt32 {
			n := int(f)
			return &n
		}
		return nil
	}
	if onlyFor("minLength", "string") {
		ip.MinLength = intOf("minLength")
	}
	if onlyFor("maxLength", "string") {
		ip.MaxLength = intOf("maxLength")
	}
	if ip.MinLength != nil && ip.MaxLength != nil && *ip.MinLength > *ip.MaxLength {
		p.r.errorf(path+".maxLength", "must not be less than minLength")
	}
	if onlyFor("minimum", "number") {
		if f, ok := floatOf(v.get("minimum")); ok {
			ip.Minimum = &f
		}
	}
	if onlyFor("maximum", "number") {
		if f, ok := floatOf(v.get("maximum")); ok {
			ip.Maximum = &f
		}
	}
	if ip.Minimum != nil && ip.Maximum != nil && *ip.Minimum > *ip.Maximum {
		p.r.errorf(path+".maximum", "must not be less than minimum")
	}
	if onlyFor("exclusiveMinimum", "number") {
		if f, ok := floatOf(v.get("exclusiveMinimum")); ok {
			ip.ExclusiveMinimum = &f
		}
	}
	if onlyFor("exclusiveMaximum", "number") {
		if f, ok := floatOf(v.get("exclusiveMaximum")); ok {
			ip.ExclusiveMaximum = &f
		}
	}
	if onlyFor("minItems", "array") {
		ip.MinItems = intOf("minItems")
	}
	if onlyFor("maxItems", "array") {
		ip.MaxItems = intOf("maxItems")
	}
	if ip.MinItems != nil && ip.MaxItems != nil && *ip.MinItems > *ip.MaxItems {
		p.r.errorf(path+".maxItems", "must not be less than minItems")
	}
	if onlyFor("uniqueItems", "array") {
		ip.UniqueItems = boolOr(v.get("uniqueItems"), false)
	}
	if pt := v.get("pattern"); pt != nil && pt.kind == jObject {
		onlyFor("pattern", "string")
	} else if onlyFor("pattern", "string") && ip.Pattern != "" {
		re, err := regexp.Compile(ip.Pattern)
		if err != nil {
			p.r.errorf(path+".pattern", "is not a valid regular expression (Go RE2 syntax): %v", err)
		} else {
			ip.re = re
		}
	}
	if it := v.get("items"); onlyFor("items", "array") && it.kind == jObject {
		ip.Items = &InputProperty{Type: strOf(it.get("type")), Format: strOf(it.get("format")), Blueprint: strOf(it.get("blueprint"))}
		if e := it.get("enum"); e != nil && e.kind == jArray {
			ip.Items.Enum, _ = e.toAny().([]any)
		}
	}
	if e := v.get("enum"); e != nil && e.kind == jArray {
		if len(e.vals) == 0 {
			p.r.errorf(path+".enum", "must list at least one value")
		}
		for i, ev := range e.vals {
			val := ev.toAny()
			if msg := checkType(ip.Type, val); msg != "" {
				p.r.errorf(joinIndex(path+".enum", i), "%s, as the input's type says", msg)
				continue
			}
			ip.Enum = append(ip.Enum, val)
		}
	}
	if d := v.get("default"); d != nil && d.kind == jObject && d.get("jqQuery") != nil && len(d.keys) == 1 {
		// Port's computed default: evaluated over the form when a run
		// starts (an object input whose default is literally
		// {"jqQuery": ...} cannot be written).
		ip.DefaultJQ = p.formExpr(path+".default.jqQuery", d.get("jqQuery"), why)
	} else if d != nil {
		ip.Default, ip.HasDefault = d.toAny(), true
		if msg := ip.check(ip.Default); msg != "" {
			p.r.errorf(path+".default", "does not satisfy its own input: %s", msg)
		}
	}
	return ip
}

// floatOf returns the value of a number.
func floatOf(v *jv) (float64, bool) {
	if v == nil || v.kind != jNumber {
		return 0, false
	}
	var f float64
	if _, err := fmt.Sscan(v.s, &f); err != nil {
		return 0, false
	}
	return f, true
}

// Validate checks trigger inputs against the schema as ValidateFor does,
// with an empty environment (the form's jq sees no user).
func (u *UserInputs) Validate(inputs map[string]any) (map[string]any, []Problem) {
	return u.ValidateFor(inputs, FormEnv{})
}

// FormEnv is what the form's jq sees besides .form: who submits it and the
// workflow. Port's jq reads .user.email and .trigger.by.user.email; both
// are given.
type FormEnv struct {
	// User is {email, firstName, lastName} of the caller (nil values for
	// what is unknown).
	User map[string]any
	// Workflow is {identifier, version}.
	Workflow map[string]any
}

// formLimits bound each evaluation of a form's jq: the same bounds as a
// render.
var formLimits = tmpl.Limits{}

// ValidateFor checks trigger inputs against the schema and returns the
// trigger's output: the inputs with defaults applied. In order:
//   - every input must be a property;
//   - missing inputs take their default: literal defaults first, then
//     defaults written as {"jqQuery": ...}, in document order, each seeing
//     .form as filled so far;
//   - an input that is hidden (visible false) or disabled takes its default
//     (a value given for it is dropped, as Port's form never sends one)
//     and is never required;
//   - every value, given or default, must satisfy its property;
//   - required inputs (the list, or the names "required": {"jqQuery": ...}
//     gives) must be present;
//   - then, when every input is valid, each validation rule of the form
//     (and of its visible steps) must be true, else its message is a
//     problem.
//
// The jq sees .form (the values), .user and .trigger.by.user (env.User) and
// .workflow. Problems name the input ("inputs.environment: must be one of
// staging, production") or, for a rule, its path in the definition; they
// never quote a value given, which may be confidential. A nil u accepts no
// inputs.
func (u *UserInputs) ValidateFor(inputs map[string]any, env FormEnv) (map[string]any, []Problem) {
	var probs []Problem
	form := make(map[string]any, len(inputs))
	var props map[string]*InputProperty
	if u != nil {
		props = u.Properties
	}
	given := map[string]bool{}
	bad := map[string]bool{}
	for name, val := range inputs {
		if !utf8.ValidString(name) {
			probs = append(probs, Problem{Path: "inputs", Message: "an input name is not valid UTF-8"})
			continue
		}
		path := joinKey("inputs", name)
		if p, isBad := InvalidUTF8(path, val); isBad {
			probs = append(probs, Problem{Path: p, Message: "is not valid UTF-8: it would be stored changed"})
			bad[name] = true
			continue
		}
		if props[name] == nil {
			probs = append(probs, Problem{Path: path, Message: "unknown input: the trigger defines no such input"})
			continue
		}
		if val == nil {
			continue // an explicit null is the same as no value
		}
		form[name] = val
		given[name] = true
	}
	if u == nil {
		sortProblems(probs)
		return form, probs
	}
	ctx := func() *tmpl.Context {
		user := env.User
		if user == nil {
			user = map[string]any{}
		}
		return &tmpl.Context{Limits: formLimits, Workflow: env.Workflow, Extra: map[string]any{
			"form":    deepCopy(form),
			"user":    user,
			"trigger": map[string]any{"by": map[string]any{"user": user}},
		}}
	}
	evalProblem := func(path, what string, err error) {
		probs = append(probs, Problem{Path: path, Message: what + ": evaluation failed: " + err.Error()})
	}
	defaults := map[string]any{}
	for _, name := range u.names {
		if ip := props[name]; ip.HasDefault {
			defaults[name] = deepCopy(ip.Default) // the workflow is shared: never hand out its own maps
			if !given[name] && !bad[name] {
				form[name] = defaults[name]
			}
		}
	}
	for _, name := range u.names {
		ip := props[name]
		if ip.DefaultJQ == nil {
			continue
		}
		v, err := ip.DefaultJQ.Eval(ctx())
		if err != nil {
			evalProblem(joinKey("inputs", name), "its default (jqQuery)", err)
			continue
		}
		if v == nil {
			continue
		}
		defaults[name] = v
		if !given[name] && !bad[name] {
			form[name] = v
		}
	}
	hidden := map[string]bool{}
	for _, name := range u.names {
		ip := props[name]
		vis, err := ip.Visible.eval(ctx, true)
		if err != nil {
			evalProblem(joinKey("inputs", name), "visible (jqQuery)", err)
		}
		dis, err := ip.Disabled.eval(ctx, false)
		if err != nil {
			evalProblem(joinKey("inputs", name), "disabled (jqQuery)", err)
		}
		if !vis || dis {
			hidden[name] = true
		}
	}
	for name := range hidden {
		delete(form, name)
		if d, ok := defaults[name]; ok {
			form[name] = d
		}
	}
	for name, val := range form {
		ip, fails := props[name].withComputed(func(x *tmpl.Expr) (any, error) { return x.Eval(ctx()) })
		for _, f := range fails {
			probs = append(probs, Problem{Path: joinKey("inputs", name), Message: f})
			bad[name] = true
		}
		if len(fails) > 0 {
			continue
		}
		if msg := ip.check(val); msg != "" {
			if !given[name] || hidden[name] {
				msg = "its default " + msg
			}
			probs = append(probs, Problem{Path: joinKey("inputs", name), Message: msg})
			bad[name] = true
		}
	}
	required := u.Required
	if u.RequiredJQ != nil {
		v, err := u.RequiredJQ.Eval(ctx())
		names, ok := stringSlice(v)
		switch {
		case err != nil:
			evalProblem("inputs", "required (jqQuery)", err)
		case !ok:
			probs = append(probs, Problem{Path: "inputs", Message: "required (jqQuery) must give an array of input names"})
		default:
			required = names
		}
	}
	for _, name := range required {
		if _, present := form[name]; !present && !hidden[name] && !bad[name] {
			probs = append(probs, Problem{Path: joinKey("inputs", name), Message: "required input is missing"})
		}
	}
	if len(probs) == 0 {
		for _, rule := range u.Validations {
			if on, err := rule.When.eval(ctx, true); err != nil || !on {
				continue
			}
			v, err := rule.Constraint.Eval(ctx())
			switch {
			case err != nil:
				evalProblem(rule.Path+".constraint", "validation", err)
			case v == nil || v == false:
				probs = append(probs, Problem{Path: rule.Path, Message: rule.Message})
			}
		}
	}
	sortProblems(probs)
	return form, probs
}

// eval returns the condition's value, def when c is nil. A jq condition is
// true unless it gives false or null (jq's truth).
func (c *Cond) eval(ctx func() *tmpl.Context, def bool) (bool, error) {
	if c == nil {
		return def, nil
	}
	if c.Expr == nil {
		return c.Value, nil
	}
	v, err := c.Expr.Eval(ctx())
	if err != nil {
		return def, err
	}
	return v != nil && v != false, nil
}

// stringSlice converts a jq result to the strings of an array.
func stringSlice(v any) ([]string, bool) {
	a, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// sortProblems orders problems by path, for stable answers.
func sortProblems(probs []Problem) {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
}

// InvalidUTF8 reports whether v (a value as encoding/json decodes it) holds
// a string or an object key that is not valid UTF-8, and the JSON path under
// path of the first one (for a key, its object's path). Such bytes would be
// stored or sent as U+FFFD: a value would change and nobody would be told.
// A command-line value reaches input validation as it was typed, so this is
// where both the API and the CLI refuse it.
func InvalidUTF8(path string, v any) (string, bool) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return path, true
		}
	case []any:
		for i, e := range x {
			if p, bad := InvalidUTF8(joinIndex(path, i), e); bad {
				return p, true
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if !utf8.ValidString(k) {
				return path, true
			}
			keys = append(keys, k)
		}
		sort.Strings(keys) // the first in a stable order
		for _, k := range keys {
			if p, bad := InvalidUTF8(joinKey(path, k), x[k]); bad {
				return p, true
			}
		}
	}
	return "", false
}

// check returns why val does not satisfy ip, or "" when it does.
func (ip *InputProperty) check(val any) string {
	if msg := checkType(ip.Type, val); msg != "" {
		return msg
	}
	if len(ip.Enum) > 0 {
		found := false
		for _, e := range ip.Enum {
			found = found || sameValue(e, val)
		}
		if !found {
			vals := make([]string, len(ip.Enum))
			for i, e := range ip.Enum {
				b, _ := json.Marshal(e)
				vals[i] = strings.Trim(string(b), `"`)
			}
			return "must be one of " + strings.Join(vals, ", ")
		}
	}
	switch ip.Type {
	case "string":
		s := val.(string)
		n := utf8.RuneCountInString(s)
		if ip.MinLength != nil && n < *ip.MinLength {
			return fmt.Sprintf("must be at least %d characters long", *ip.MinLength)
		}
		if ip.MaxLength != nil && n > *ip.MaxLength {
			return fmt.Sprintf("must be at most %d characters long", *ip.MaxLength)
		}
		if ip.re != nil && !ip.re.MatchString(s) {
			return fmt.Sprintf("must match the pattern %s", ip.Pattern)
		}
		if msg := checkFormat(ip.Format, s); msg != "" {
			return msg
		}
	case "number":
		f, _ := toFloat(val)
		if ip.Minimum != nil && f < *ip.Minimum {
			return fmt.Sprintf("must be at least %g", *ip.Minimum)
		}
		if ip.Maximum != nil && f > *ip.Maximum {
			return fmt.Sprintf("must be at most %g", *ip.Maximum)
		}
		if ip.ExclusiveMinimum != nil && f <= *ip.ExclusiveMinimum {
			return fmt.Sprintf("must be greater than %g", *ip.ExclusiveMinimum)
		}
		if ip.ExclusiveMaximum != nil && f >= *ip.ExclusiveMaximum {
			return fmt.Sprintf("must be less than %g", *ip.ExclusiveMaximum)
		}
	case "array":
		a := val.([]any)
		if ip.MinItems != nil && len(a) < *ip.MinItems {
			return fmt.Sprintf("must hold at least %d items", *ip.MinItems)
		}
		if ip.MaxItems != nil && len(a) > *ip.MaxItems {
			return fmt.Sprintf("must hold at most %d items", *ip.MaxItems)
		}
		if ip.UniqueItems {
			for i := range a {
				for j := i + 1; j < len(a); j++ {
					if sameValue(a[i], a[j]) {
						return fmt.Sprintf("elements %d and %d are the same: items must be unique", i, j)
					}
				}
			}
		}
		if ip.Items != nil && ip.Items.Type != "" {
			for i, e := range val.([]any) {
				if msg := ip.Items.check(e); msg != "" {
					return fmt.Sprintf("element %d: %s", i, msg)
				}
			}
		}
	}
	return ""
}

// checkType returns why val is not of the input type typ, or "".
func checkType(typ string, val any) string {
	ok := false
	switch typ {
	case "string":
		_, ok = val.(string)
	case "number":
		_, ok = toFloat(val)
	case "boolean":
		_, ok = val.(bool)
	case "object":
		_, ok = val.(map[string]any)
	case "array":
		_, ok = val.([]any)
	default:
		return "" // an unknown type was reported when the definition was parsed
	}
	if ok {
		return ""
	}
	article := "a"
	if typ == "object" || typ == "array" {
		article = "an"
	}
	return fmt.Sprintf("must be %s %s", article, typ)
}

// checkFormat returns why s does not have the format, or "".
func checkFormat(format, s string) string {
	var err error
	switch format {
	case "date-time":
		_, err = time.Parse(time.RFC3339, s)
	case "email":
		var a *mail.Address
		if a, err = mail.ParseAddress(s); err == nil && a.Address != s {
			err = fmt.Errorf("not a bare address")
		}
	case "url":
		var u *url.URL
		if u, err = url.Parse(s); err == nil && (u.Scheme == "" || u.Host == "") {
			err = fmt.Errorf("not absolute")
		}
	case "ipv4", "ipv6":
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil && (format == "ipv4") != a.Is4() {
			err = fmt.Errorf("wrong family")
		}
	}
	if err != nil {
		return "must be a valid " + format
	}
	return ""
}

// toFloat converts the numbers encoding/json and Go code produce.
func toFloat(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, false
		}
	case float64:
		f = n
	case float32:
		f = float64(n)
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case int32:
		f = float64(n)
	case uint:
		f = float64(n)
	case uint64:
		f = float64(n)
	case uint32:
		f = float64(n)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// sameValue compares two JSON values, numbers by value.
func sameValue(a, b any) bool {
	fa, aok := toFloat(a)
	fb, bok := toFloat(b)
	if aok || bok {
		return aok && bok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

// deepCopy copies the maps and slices of a decoded JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

// CheckInputsText reports what decoding data, a JSON object of trigger
// inputs (a CLI --inputs-file), with encoding/json would change or drop
// silently: invalid UTF-8 and lone surrogate escapes (decoded as U+FFFD) and
// duplicate keys (the last wins). The problem names the input; malformed
// JSON is left to the decoder. It returns nil when there is none.
func CheckInputsText(data []byte) *Problem {
	var e *jsontext.Error
	if err := jsontext.Check(data, jsontext.Options{}); !errors.As(err, &e) || e.Kind == jsontext.Syntax || e.Kind == jsontext.TooDeep {
		return nil
	}
	path := "inputs"
	switch {
	case e.Path == "":
	case strings.HasPrefix(e.Path, "["):
		path += e.Path
	default:
		path += "." + e.Path
	}
	return &Problem{Path: path, Message: e.Message()}
}
