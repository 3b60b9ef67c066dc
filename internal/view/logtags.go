package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// logJSON is Log as JSON; Tags is an object or a list of strings.
type logJSON struct {
	LogLevel  string          `json:"logLevel"`
	Log       string          `json:"log"`
	Tags      json.RawMessage `json:"tags"`
	CreatedAt time.Time       `json:"createdAt"`
}

// MarshalJSON shows tags as they were sent: a list when TagList is set,
// else the object (empty when there are none), as Port shows them.
func (l Log) MarshalJSON() ([]byte, error) {
	var (
		tags []byte
		err  error
	)
	switch {
	case l.TagList != nil:
		tags, err = json.Marshal(l.TagList)
	case l.Tags == nil:
		tags = []byte("{}")
	default:
		tags, err = json.Marshal(l.Tags)
	}
	if err != nil {
		return nil, fmt.Errorf("encode log tags: %w", err)
	}
	return json.Marshal(logJSON{LogLevel: l.LogLevel, Log: l.Log, Tags: tags, CreatedAt: l.CreatedAt})
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
