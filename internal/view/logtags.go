package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-run/sluice/internal/jsontext"
)

// logJSON is Log as JSON; Tags is an object or a list of strings.
type logJSON struct {
	LogLevel  string          `json:"logLevel"`
	Log       string          `json:"log"`
	Tags      json.RawMessage `json:"tags"`
	CreatedAt time.Time       `json:"createdAt"`
}

// MarshalJSON shows tags as they were sent: a list when TagList is set,
// else the object (empty when there are none, keys sorted), as Port shows
// them. It writes the line in one pass, with the bytes encoding/json
// writes for logJSON (strings escaped as it escapes them, HTML characters
// included; TestLogMarshalJSONBytes, FuzzLogMarshalJSON): a run page shows
// hundreds of lines, each encoded afresh on every refresh.
func (l Log) MarshalJSON() ([]byte, error) {
	n := 64 + len(l.LogLevel) + len(l.Log)
	for _, t := range l.TagList {
		n += len(t) + 3
	}
	for k, v := range l.Tags {
		n += len(k) + len(v) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, `{"logLevel":`...)
	b = jsontext.AppendString(b, l.LogLevel, true)
	b = append(b, `,"log":`...)
	b = jsontext.AppendString(b, l.Log, true)
	b = append(b, `,"tags":`...)
	switch {
	case l.TagList != nil:
		b = append(b, '[')
		for i, t := range l.TagList {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, t, true)
		}
		b = append(b, ']')
	default:
		var small [8]string // the keys of most lines' tags, without an allocation
		keys := small[:0]
		for k := range l.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, k, true)
			b = append(b, ':')
			b = jsontext.AppendString(b, l.Tags[k], true)
		}
		b = append(b, '}')
	}
	b = append(b, `,"createdAt":`...)
	if y := l.CreatedAt.Year(); l.CreatedAt.Location() == time.UTC && y >= 0 && y <= 9999 {
		b = append(b, '"')
		b = l.CreatedAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	} else {
		// Another zone or a year time.Time refuses to encode: its own
		// encoder, for its checks and its error.
		t, err := l.CreatedAt.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encode log time: %w", err)
		}
		b = append(b, t...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes: tags given as a list go to
// TagList, an object to Tags.
func (l *Log) UnmarshalJSON(data []byte) error {
	var j logJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*l = Log{LogLevel: j.LogLevel, Log: j.Log, CreatedAt: j.CreatedAt}
	switch b := bytes.TrimSpace(j.Tags); {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
	case b[0] == '[':
		if err := json.Unmarshal(b, &l.TagList); err != nil {
			return fmt.Errorf("log tags: %w", err)
		}
	default:
		if err := json.Unmarshal(b, &l.Tags); err != nil {
			return fmt.Errorf("log tags: %w", err)
		}
	}
	return nil
}
