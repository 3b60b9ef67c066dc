package tmpl

import "fmt"

// goTemplateFuncs are Go-template and sprig functions that Port's published
// docs use inside {{ }} (port-docs docs/workflows/examples.md and
// build-workflows/action-nodes/upsert-entity.md: now | date "...",
// lower | replace " " "-", add_duration, printf, mul), with the jq that does
// the same. Port's templates are jq (port-skills references/data-flow.md:
// "Use JQ syntax only, not any other templating language"), so they stay
// errors; the hint says what to write.
var goTemplateFuncs = map[string]string{
	"date":         `now | todateiso8601, or now | strftime("%Y-%m-%d")`,
	"lower":        "ascii_downcase",
	"upper":        "ascii_upcase",
	"replace":      `gsub("old"; "new")`,
	"printf":       `string interpolation, "\(.x)-\(.y)"`,
	"add_duration": `now + SECONDS | todateiso8601`,
	"mul":          "a * b",
	"default":      `.x // "value"`,
	"quote":        "tojson",
	"toJson":       "tojson",
	"dateModify":   `now + SECONDS | todateiso8601`,
}

// goTemplateHint returns a hint, starting with a space, when src pipes into
// one of goTemplateFuncs (or calls name, when not ""), and "" otherwise.
// It is said only for source that jq has already refused.
func goTemplateHint(src, name string) string {
	if jq, ok := goTemplateFuncs[name]; ok {
		return hintFor(name, jq)
	}
	toks := tokenize(src)
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != 'p' || toks[i].text != "|" || toks[i+1].kind != 'i' {
			continue
		}
		if jq, ok := goTemplateFuncs[toks[i+1].text]; ok {
			return hintFor(toks[i+1].text, jq)
		}
	}
	return ""
}

func hintFor(name, jq string) string {
	return fmt.Sprintf(" (%s is Go-template/sprig syntax; templates are jq: write %s)", name, jq)
}
