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
	for _, k := range []string{"enum", "pattern", "minItems", "maxItems"} {
		if jq := v.get(k); jq != nil && jq.kind == jObject {
			// Computed by Port's UI as the form is filled; sluice checks
			// the jq and keeps it, and enforces only literal constraints.
			p.formExpr(path+"."+k+".jqQuery", jq.get("jqQuery"), why)
		}
	}
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

// Validate checks trigger inputs against the schema: every input must be a
// property, required inputs must be present (a default counts), and each
// value must satisfy its property. It returns the trigger's output: the
// inputs with the defaults of missing ones applied. Problems name the input
// ("inputs.environment: must be one of staging, production") and never quote
// the value given, which may be confidential; they are sorted by input name.
// A nil u accepts no inputs.
func (u *UserInputs) Validate(inputs map[string]any) (map[string]any, []Problem) {
	var probs []Problem
	out := make(map[string]any, len(inputs))
	var props map[string]*InputProperty
	if u != nil {
		props = u.Properties
	}
	for name, val := range inputs {
		if !utf8.ValidString(name) {
			probs = append(probs, Problem{Path: "inputs", Message: "an input name is not valid UTF-8"})
			continue
		}
		path := joinKey("inputs", name)
		if p, bad := InvalidUTF8(path, val); bad {
			probs = append(probs, Problem{Path: p, Message: "is not valid UTF-8: it would be stored changed"})
			continue
		}
		ip := props[name]
		if ip == nil {
			probs = append(probs, Problem{Path: path, Message: "unknown input: the trigger defines no such input"})
			continue
		}
		if val == nil {
			continue // an explicit null is the same as no value
		}
		if msg := ip.check(val); msg != "" {
			probs = append(probs, Problem{Path: path, Message: msg})
			continue
		}
		out[name] = val
	}
	for name, ip := range props {
		if _, given := out[name]; given || !ip.HasDefault {
			continue
		}
		if _, bad := inputs[name]; bad && inputs[name] != nil {
			continue // given but invalid: already reported
		}
		out[name] = deepCopy(ip.Default) // the workflow is shared: never hand out its own maps
	}
	if u != nil {
		for _, name := range u.Required {
			_, given := out[name]
			_, bad := inputs[name]
			if !given && (!bad || inputs[name] == nil) {
				probs = append(probs, Problem{Path: joinKey("inputs", name), Message: "required input is missing"})
			}
		}
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
	return out, probs
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
	case "array":
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
