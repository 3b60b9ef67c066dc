package tmpl

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// part is one piece of a compiled template string: literal text, or a
// compiled {{ jq }} expression.
type part struct {
	lit    string
	expr   *expr // nil for literal text
	offset int   // byte offset of "{{" (expressions) or of the text (literals)
}

// splitTemplate cuts src into literal text and the sources of its {{ }}
// parts. The end of a {{ is found with a jq-aware scan: "}}" inside a jq
// string literal (including string interpolations) or closing a nested
// object construction does not end the expression, so {{ {a: {b: 1}} }} and
// {{ "}}" }} work. jq comments (#) are not recognized by this scan.
//
// Each returned rawPart has the byte offsets of its "{{" and of the
// expression source.
func splitTemplate(src string) ([]rawPart, *Error) {
	var parts []rawPart
	lit := 0
	for i := 0; i < len(src); {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			break
		}
		open := i + j
		start := open + 2
		end := scanExpr(src, start)
		if end < 0 {
			return nil, &Error{Offset: open, Msg: "unterminated {{: no matching }}"}
		}
		if open > lit {
			parts = append(parts, rawPart{text: src[lit:open], offset: lit})
		}
		parts = append(parts, rawPart{text: src[start:end], offset: open, exprOffset: start, isExpr: true})
		i = end + 2
		lit = i
	}
	if lit < len(src) || len(parts) == 0 {
		parts = append(parts, rawPart{text: src[lit:], offset: lit})
	}
	return parts, nil
}

// rawPart is a part before compilation.
type rawPart struct {
	text       string
	offset     int
	exprOffset int
	isExpr     bool
}

// scanExpr returns the offset of the "}}" that ends the expression starting at
// i, or -1 when there is none.
func scanExpr(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch s[i] {
		case '"':
			i = skipString(s, i)
			if i < 0 {
				return -1
			}
			continue
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if i+1 < len(s) && s[i+1] == '}' {
					return i
				}
			} else {
				depth--
			}
		}
		i++
	}
	return -1
}

// skipString returns the offset just after the jq string literal that starts
// with the quote at s[i], or -1 when it is unterminated. Interpolations
// \( ... ) are skipped as jq code, so nested strings are handled.
func skipString(s string, i int) int {
	i++ // opening quote
	for i < len(s) {
		switch s[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 < len(s) && s[i+1] == '(' {
				i = skipParens(s, i+2)
				if i < 0 {
					return -1
				}
				continue
			}
			i += 2
			continue
		}
		i++
	}
	return -1
}

// skipParens skips jq code up to and including the ')' that closes an
// interpolation opened just before i; it returns -1 when there is none.
func skipParens(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch s[i] {
		case '"':
			i = skipString(s, i)
			if i < 0 {
				return -1
			}
			continue
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return i + 1
			}
			depth--
		}
		i++
	}
	return -1
}

// token is a lexical token of a jq expression, used only to find the byte
// offset of a construct that the sandbox or the analysis rejects (gojq's
// syntax tree carries no positions).
type token struct {
	kind byte   // 'i' identifier or keyword, 'v' $variable, 's' string, 'p' punctuation
	text string // identifier, variable (with $), decoded string, or punctuation
	off  int
}

// tokenize splits jq source into tokens. It is lenient: it never fails, and
// tokens inside string interpolations are included in source order.
func tokenize(s string) []token {
	var toks []token
	var lex func(i int, stopAtParen bool) int
	lex = func(i int, stopAtParen bool) int {
		depth := 0
		for i < len(s) {
			c := s[i]
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				i++
			case c == '#':
				for i < len(s) && s[i] != '\n' {
					i++
				}
			case c == '"':
				start := i
				i++
				plain := true
				for i < len(s) && s[i] != '"' {
					if s[i] == '\\' && i+1 < len(s) && s[i+1] == '(' {
						plain = false
						i = lex(i+2, true)
						continue
					}
					if s[i] == '\\' {
						i += 2
						continue
					}
					i++
				}
				end := min(i+1, len(s))
				text := ""
				if plain {
					var v string
					if json.Unmarshal([]byte(s[start:end]), &v) == nil {
						text = v
					}
				}
				toks = append(toks, token{kind: 's', text: text, off: start})
				i = end
			case c == '$' || c == '_' || isLetter(c):
				start := i
				i++
				for i < len(s) && (s[i] == '_' || isLetter(s[i]) || isDigit(s[i]) || (s[i] == ':' && i+1 < len(s) && s[i+1] == ':')) {
					if s[i] == ':' {
						i++
					}
					i++
				}
				kind := byte('i')
				if c == '$' {
					kind = 'v'
				}
				toks = append(toks, token{kind: kind, text: s[start:i], off: start})
			default:
				if stopAtParen {
					if c == '(' {
						depth++
					} else if c == ')' {
						if depth == 0 {
							return i + 1
						}
						depth--
					}
				}
				toks = append(toks, token{kind: 'p', text: string(c), off: i})
				i++
			}
		}
		return i
	}
	lex(0, false)
	// Tokens of an interpolation are appended before the string holding it.
	sort.SliceStable(toks, func(a, b int) bool { return toks[a].off < toks[b].off })
	return toks
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// findCall returns the offset of the first use of name (a function or a
// $variable) in toks, skipping field accesses (.name), object keys (name:)
// and definitions (def name), or -1.
func findCall(toks []token, name string) int {
	for i, t := range toks {
		if (t.kind != 'i' && t.kind != 'v') || t.text != name {
			continue
		}
		if i > 0 && toks[i-1].kind == 'p' && toks[i-1].text == "." {
			continue
		}
		if i > 0 && toks[i-1].kind == 'i' && (toks[i-1].text == "def" || toks[i-1].text == "as") {
			continue
		}
		if t.kind == 'i' && i+1 < len(toks) && toks[i+1].kind == 'p' && toks[i+1].text == ":" {
			continue
		}
		return t.off
	}
	return -1
}

// findSecretsMisuse returns the offset of the first .secrets access that is not
// followed by a literal name (.NAME, ."NAME" or ["NAME"]), or of the first
// .secrets access when every one looks literal, or -1.
func findSecretsMisuse(toks []token) int {
	first := -1
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != 'p' || toks[i].text != "." {
			continue
		}
		j := i + 1
		if toks[j].kind == 'p' && toks[j].text == "[" && j+2 < len(toks) &&
			toks[j+1].kind == 's' && toks[j+2].kind == 'p' && toks[j+2].text == "]" {
			j++
		}
		if (toks[j].kind != 'i' && toks[j].kind != 's') || toks[j].text != "secrets" {
			continue
		}
		if first < 0 {
			first = toks[i].off
		}
		k := j + 1
		if toks[j].kind == 's' && k < len(toks) && toks[k].text == "]" {
			k++
		}
		for k < len(toks) && toks[k].kind == 'p' && toks[k].text == "?" {
			k++
		}
		literal := false
		if k+1 < len(toks) && toks[k].kind == 'p' && toks[k].text == "." &&
			(toks[k+1].kind == 'i' || toks[k+1].kind == 's') {
			literal = true
		}
		if k+2 < len(toks) && toks[k].kind == 'p' && toks[k].text == "[" &&
			toks[k+1].kind == 's' && toks[k+2].kind == 'p' && toks[k+2].text == "]" {
			literal = true
		}
		if !literal {
			return toks[i].off
		}
	}
	return first
}

// findDef returns the offset of the definition of the function name, or -1.
func findDef(toks []token, name string) int {
	for i := 1; i < len(toks); i++ {
		if toks[i].kind == 'i' && toks[i].text == name && toks[i-1].kind == 'i' && toks[i-1].text == "def" {
			return toks[i-1].off
		}
	}
	return -1
}

// findPunct returns a finder of the first punctuation p (one or more
// characters, matched as consecutive tokens), or -1.
func findPunct(p string) func([]token) int {
	return func(toks []token) int {
		for i := range toks {
			j := 0
			for j < len(p) && i+j < len(toks) && toks[i+j].kind == 'p' && toks[i+j].text == p[j:j+1] {
				j++
			}
			if j == len(p) {
				return toks[i].off
			}
		}
		return -1
	}
}

// dashedKeyHint explains the jq error "function not defined: name/0" when it
// comes from a field access with a dash, which jq reads as a subtraction:
// .secrets.my-secret is .secrets.my - secret. It returns the offset of the
// access and a hint to quote the key (use .secrets["my-secret"]), or "" when
// name is not the word after such a dash.
func dashedKeyHint(src string, toks []token, name string) (int, string) {
	adjacent := func(a, b token) bool { return a.off+len(a.text) == b.off }
	for i := 0; i+3 < len(toks); i++ {
		dot, key := toks[i], toks[i+1]
		if dot.kind != 'p' || dot.text != "." || key.kind != 'i' || !adjacent(dot, key) {
			continue
		}
		// The dashed key: key-word-word..., written without spaces.
		end, found, last := key.off+len(key.text), false, key
		for j := i + 2; j+1 < len(toks) && toks[j].kind == 'p' && toks[j].text == "-" && adjacent(last, toks[j]) &&
			toks[j+1].kind == 'i' && adjacent(toks[j], toks[j+1]); j += 2 {
			last = toks[j+1]
			end = last.off + len(last.text)
			found = found || last.text == name
		}
		if !found {
			continue
		}
		// The path before it: .a.b written as adjacent .name tokens.
		start := dot.off
		for j := i; j >= 2 && toks[j-1].kind == 'i' && toks[j-2].kind == 'p' && toks[j-2].text == "." &&
			adjacent(toks[j-2], toks[j-1]) && adjacent(toks[j-1], toks[j]); j -= 2 {
			start = toks[j-2].off
		}
		quoted, _ := json.Marshal(src[key.off:end])
		prefix := src[start:dot.off]
		if prefix == "" {
			prefix = "."
		}
		return start, fmt.Sprintf(" (jq reads %s as a subtraction; a key with a dash must be quoted: use %s[%s])",
			src[start:end], prefix, quoted)
	}
	return -1, ""
}

// findWord returns a finder of the first identifier or keyword w, or -1.
func findWord(w string) func([]token) int {
	return func(toks []token) int {
		for _, t := range toks {
			if t.kind == 'i' && t.text == w {
				return t.off
			}
		}
		return -1
	}
}
