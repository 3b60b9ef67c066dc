package redact

import (
	"net/url"
	"strings"
)

// percentEncoder describes how one family of encoders percent-encodes: the
// bytes it leaves as they are besides ASCII letters and digits, and whether
// it writes a space as "+".
type percentEncoder struct {
	safe string
	plus bool
}

// percentEncoders are the percent-encodings that common libraries produce
// besides Go's url.QueryEscape and url.PathEscape: JavaScript's
// encodeURIComponent, the WHATWG form encoding (browsers' form posts, Java's
// URLEncoder) and Python's urllib.parse.quote (which keeps "/").
var percentEncoders = []percentEncoder{
	{safe: "-_.!~*'()"},        // encodeURIComponent
	{safe: "*-._", plus: true}, // application/x-www-form-urlencoded, URLEncoder
	{safe: "-_.~/"},            // urllib.parse.quote
}

// percentForms returns v percent-encoded as url.QueryEscape (the query form,
// "+" for a space) and url.PathEscape write it and as percentEncoders do,
// each with upper- and lower-case hex digits ("%2F" and "%2f"). For a value
// of ASCII letters, digits and "-_." every form is v itself.
func percentForms(v string) []string {
	out := []string{url.QueryEscape(v), url.PathEscape(v)}
	for _, e := range percentEncoders {
		out = append(out, percentEncode(v, e))
	}
	for _, f := range out[:len(out):len(out)] {
		if lower := lowerPercentHex(f); lower != f {
			out = append(out, lower)
		}
	}
	return out
}

// percentEncode encodes v as e says, with upper-case hex digits.
func percentEncode(v string, e percentEncoder) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(e.safe, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && e.plus:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(digits[c>>4])
			b.WriteByte(digits[c&0xf])
		}
	}
	return b.String()
}

// lowerPercentHex returns s, a percent-encoded text, with the hex digits of
// every escape in lower case.
func lowerPercentHex(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}

// entityChoices lists, for each character that HTML and XML escapers
// rewrite, the ways they write it: named, decimal (also zero-padded, as PHP
// writes &#039;) and hexadecimal in either case. Characters that only some
// escapers rewrite are also kept as they are.
var entityChoices = [256][]string{
	'&':  {"&amp;", "&#38;", "&#038;", "&#x26;"},
	'<':  {"&lt;", "&#60;", "&#060;", "&#x3c;", "&#x3C;"},
	'>':  {">", "&gt;", "&#62;", "&#062;", "&#x3e;", "&#x3E;"},
	'"':  {`"`, "&quot;", "&#34;", "&#034;", "&#x22;"},
	'\'': {"'", "&#39;", "&#039;", "&apos;", "&#x27;"},
}

// entityProfiles are the escapers whose output entityForms registers when a
// value has too many special characters to register every mix. Each gives
// the replacements of & < > " ' in that order.
var entityProfiles = [][5]string{
	{"&amp;", "&lt;", "&gt;", "&#34;", "&#39;"},   // Go html.EscapeString, encoding/xml; Ruby, lodash
	{"&amp;", "&lt;", "&gt;", "&quot;", "&#039;"}, // PHP htmlspecialchars (ENT_QUOTES)
	{"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}, // XML, PHP with ENT_HTML5 or ENT_XML1
	{"&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"}, // Python html.escape
	{"&amp;", "&lt;", "&gt;", "&quot;", "'"},      // Apache escapeHtml4, PHP ENT_COMPAT
	{"&amp;", "&lt;", "&gt;", `"`, "'"},           // PHP ENT_NOQUOTES, XML text
	{"&amp;", "&lt;", ">", `"`, "'"},              // minimal XML text escaping
	{"&#38;", "&#60;", "&#62;", "&#34;", "&#39;"}, // decimal
	{"&#038;", "&#060;", "&#062;", "&#034;", "&#039;"},
	{"&#x26;", "&#x3c;", "&#x3e;", "&#x22;", "&#x27;"}, // hexadecimal
	{"&#x26;", "&#x3C;", "&#x3E;", "&#x22;", "&#x27;"},
}

// maxEntityMixes bounds how many entity forms a value gets when every mix of
// the ways to write its special characters is registered.
const maxEntityMixes = 256

// entityForms returns v HTML/XML-escaped. A value without any of & < > " '
// gets none. When the ways to write its special characters combine into at
// most maxEntityMixes texts, every mix is returned (escapers differ per
// character: Go writes &#34; next to &lt;, PHP &quot; next to &#039;);
// otherwise the output of each of entityProfiles.
func entityForms(v string) []string {
	mixes := 1
	for i := 0; i < len(v); i++ {
		if c := entityChoices[v[i]]; c != nil {
			mixes *= len(c)
			if mixes > maxEntityMixes {
				break
			}
		}
	}
	if mixes == 1 {
		return nil
	}
	if mixes > maxEntityMixes {
		out := make([]string, 0, len(entityProfiles))
		for _, p := range entityProfiles {
			out = append(out, strings.NewReplacer("&", p[0], "<", p[1], ">", p[2], `"`, p[3], "'", p[4]).Replace(v))
		}
		return out
	}
	out := []string{""}
	start := 0
	for i := 0; i < len(v); i++ {
		c := entityChoices[v[i]]
		if c == nil {
			continue
		}
		next := make([]string, 0, len(out)*len(c))
		for _, o := range out {
			for _, e := range c {
				next = append(next, o+v[start:i]+e)
			}
		}
		out, start = next, i+1
	}
	for i := range out {
		out[i] += v[start:]
	}
	return out
}
