package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sluice-run/sluice/internal/redact"
)

// TagListStrings returns tags kept as a list as plain strings; nil stays nil.
func TagListStrings(tags []redact.Text) []string {
	if tags == nil {
		return nil
	}
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.String()
	}
	return out
}

// EncodeTags returns the JSON kept in a log's tags column: the list when
// TagList is set, else the object when Tags has any, else nil (no tags).
func EncodeTags(l Log) ([]byte, error) {
	switch {
	case l.TagList != nil:
		return json.Marshal(TagListStrings(l.TagList))
	case len(l.Tags) > 0:
		return json.Marshal(TagStrings(l.Tags))
	}
	return nil, nil
}

// DecodeTags sets l's tags from a tags column written by EncodeTags: an
// array into TagList, an object into Tags. The text was redacted when it
// was written, so it is trusted.
func DecodeTags(l *Log, data []byte) error {
	if b := bytes.TrimSpace(data); len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("decode tags: %w", err)
		}
		l.TagList = make([]redact.Text, len(list))
		for i, t := range list {
			l.TagList[i] = redact.TrustedText(t)
		}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("decode tags: %w", err)
	}
	l.Tags = make(map[redact.Text]redact.Text, len(m))
	for k, v := range m {
		l.Tags[redact.TrustedText(k)] = redact.TrustedText(v)
	}
	return nil
}
