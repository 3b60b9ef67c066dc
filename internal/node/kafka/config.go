package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-run/sluice/internal/jsontext"
)

// Bounds and values of the node's config.
const (
	// DefaultTopic is the topic of a node without config.topic when the
	// server names none (--kafka-topic).
	DefaultTopic = "sluice.runs"
	// DefaultPublishTimeout bounds the publish of a node without
	// timeoutSeconds.
	DefaultPublishTimeout = 30 * time.Second
	// MaxTimeout bounds config.timeoutSeconds.
	MaxTimeout = 7 * 24 * time.Hour
	// maxTopicLen is Kafka's limit on a topic name.
	maxTopicLen = 249

	OnTimeoutFail     = "fail"
	OnTimeoutContinue = "continue"
)

// config is a KAFKA node's rendered config, decoded and checked.
type config struct {
	payload    any
	topic      string // "" means the executor's default topic
	timeout    time.Duration
	hasTimeout bool // timeoutSeconds was given: the wait has a deadline
	onTimeout  string
}

// decodeConfig decodes the rendered config strictly. Errors name the JSON
// path and the type found, never a value: the payload may hold a secret.
func decodeConfig(m map[string]any) (*config, error) {
	c := &config{onTimeout: OnTimeoutFail, timeout: DefaultPublishTimeout}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case "type", "onFailure":
			// The engine checks and applies these.
		case "payload", "topic", "timeoutSeconds", "onTimeout":
		default:
			return nil, fmt.Errorf("config.%s: unknown field", k)
		}
	}
	switch p := m["payload"].(type) {
	case map[string]any, []any:
		c.payload = p
	case nil:
		return nil, fmt.Errorf("config.payload: required (an object or an array)")
	default:
		return nil, fmt.Errorf("config.payload: must be an object or an array, got %s", jsontext.TypeName(p))
	}
	if raw, ok := m["topic"]; ok && raw != nil {
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("config.topic: must be a string, got %s", jsontext.TypeName(raw))
		}
		if err := checkTopic(s); err != nil {
			return nil, fmt.Errorf("config.topic: %w", err)
		}
		c.topic = s
	}
	if raw, ok := m["onTimeout"]; ok && raw != nil {
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("config.onTimeout: must be a string, got %s", jsontext.TypeName(raw))
		}
		if s != OnTimeoutFail && s != OnTimeoutContinue {
			return nil, fmt.Errorf("config.onTimeout: must be %q or %q", OnTimeoutFail, OnTimeoutContinue)
		}
		c.onTimeout = s
	}
	if raw, ok := m["timeoutSeconds"]; ok && raw != nil {
		f, err := asNumber(raw)
		if err != nil {
			return nil, fmt.Errorf("config.timeoutSeconds: %w", err)
		}
		if !(f > 0) || f > MaxTimeout.Seconds() {
			return nil, fmt.Errorf("config.timeoutSeconds: must be greater than 0 and at most %d", int(MaxTimeout.Seconds()))
		}
		c.timeout = time.Duration(f * float64(time.Second))
		if c.timeout <= 0 {
			return nil, fmt.Errorf("config.timeoutSeconds: must be at least 1ns")
		}
		c.hasTimeout = true
	}
	return c, nil
}

// checkTopic applies Kafka's rules for topic names: 1 to 249 characters of
// ASCII letters, digits, '.', '_' and '-', and neither "." nor "..". The
// name is never quoted in the error.
func checkTopic(s string) error {
	if s == "" || len(s) > maxTopicLen {
		return fmt.Errorf("must be 1 to %d characters", maxTopicLen)
	}
	if s == "." || s == ".." {
		return errors.New(`must not be "." or ".." alone`)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("may hold only ASCII letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

// asNumber returns a decoded JSON number as a finite float64.
func asNumber(v any) (float64, error) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil {
			return 0, fmt.Errorf("is not a valid number")
		}
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, fmt.Errorf("must be a number, got %s", jsontext.TypeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("is not a finite number")
	}
	return f, nil
}
