package secret

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxDotEnvLine bounds one line of a secret file: the largest value, escaped,
// with its name.
const maxDotEnvLine = 2*MaxValueLen + 1024

// DotEnvError reports a bad line of a secret file. Message never quotes the
// line's value.
type DotEnvError struct {
	Line    int
	Message string
}

// Error implements error.
func (e *DotEnvError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// ParseDotEnv reads a secret file in dotenv form, for
// `sluice run --secret-file`:
//
//	# a comment
//	GITHUB_TOKEN=ghp_...
//	export API_KEY = abc123            # unquoted: up to an inline " #" comment, trimmed
//	PASSWORD='literal # $ \n text'     # single quotes: taken as is
//	PEM="line one\nline two"           # double quotes: \n \r \t \\ \" escapes
//
// Blank lines and lines starting with # are skipped; "export " before a
// name is allowed. Names and values are checked like stored secrets
// (ValidateName, ValidateValue), a name may appear once, and values span
// one line (use \n in double quotes for more). Errors are *DotEnvError with
// the line number; they never quote a value.
func ParseDotEnv(r io.Reader) (map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxDotEnvLine)
	out := map[string]string{}
	defined := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		text = strings.TrimLeft(text, " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(text, "export "); ok {
			text = strings.TrimLeft(rest, " \t")
		}
		name, raw, ok := strings.Cut(text, "=")
		if !ok {
			return nil, &DotEnvError{Line: line, Message: "expected NAME=value"}
		}
		name = strings.TrimRight(name, " \t")
		if err := ValidateName(name); err != nil {
			return nil, &DotEnvError{Line: line, Message: "invalid name: " + err.(*InvalidError).Message}
		}
		value, msg := dotEnvValue(raw)
		if msg != "" {
			return nil, &DotEnvError{Line: line, Message: name + ": " + msg}
		}
		if err := ValidateValue(value); err != nil {
			return nil, &DotEnvError{Line: line, Message: name + ": value " + err.(*InvalidError).Message}
		}
		if first, dup := defined[name]; dup {
			return nil, &DotEnvError{Line: line, Message: fmt.Sprintf("%s is already defined on line %d", name, first)}
		}
		defined[name] = line
		out[name] = value
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &DotEnvError{Line: line + 1, Message: fmt.Sprintf("longer than %d bytes", maxDotEnvLine)}
		}
		return nil, fmt.Errorf("read secret file after line %d: %w", line, err)
	}
	return out, nil
}

// dotEnvValue parses what follows "=". It returns the value, or a message
// (without the value) saying what is wrong.
func dotEnvValue(raw string) (value, msg string) {
	raw = strings.TrimLeft(raw, " \t")
	if raw == "" {
		return "", ""
	}
	var rest string
	switch raw[0] {
	case '\'':
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", "unterminated single-quoted value"
		}
		value, rest = raw[1:1+end], raw[2+end:]
	case '"':
		var b strings.Builder
		i, closed := 1, false
	scan:
		for i < len(raw) {
			c := raw[i]
			switch {
			case c == '"':
				closed = true
				i++
				break scan
			case c == '\\' && i+1 < len(raw):
				switch e := raw[i+1]; e {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				case 't':
					b.WriteByte('\t')
				case '\\', '"':
					b.WriteByte(e)
				default:
					b.WriteByte('\\')
					b.WriteByte(e)
				}
				i += 2
			default:
				b.WriteByte(c)
				i++
			}
		}
		if !closed {
			return "", "unterminated double-quoted value"
		}
		value, rest = b.String(), raw[i:]
	default:
		value = raw
		if i := strings.Index(value, " #"); i >= 0 {
			value = value[:i]
		}
		if i := strings.Index(value, "\t#"); i >= 0 {
			value = value[:i]
		}
		return strings.TrimRight(value, " \t"), ""
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest != "" && rest[0] != '#' {
		return "", "unexpected text after the closing quote"
	}
	return value, ""
}
