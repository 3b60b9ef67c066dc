package view

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// legacyMarshalJSON is Log.MarshalJSON as it was: tags encoded on their
// own, then the line through logJSON. MarshalJSON must write its bytes.
func legacyMarshalJSON(l Log) ([]byte, error) {
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
		return nil, err
	}
	return json.Marshal(logJSON{LogLevel: l.LogLevel, Log: l.Log, Tags: tags, CreatedAt: l.CreatedAt})
}

// TestLogMarshalJSONBytes: a log line is encoded with the bytes it had
// before, alone and inside a run's view, for every shape of tags and text
// that encoding/json escapes.
func TestLogMarshalJSONBytes(t *testing.T) {
	utc := time.Date(2026, time.November, 29, 10, 0, 0, 123_456_789, time.UTC)
	odd := "quote \" backslash \\ <b>&amp; \x00\x01\x1f\x7f \b\f\n\r\t é ✓ \u2028\u2029 bad \xff\xfe\xc3 end"
	tests := []struct {
		name string
		log  Log
	}{
		{"no tags", Log{LogLevel: "INFO", Log: "hello", CreatedAt: utc}},
		{"empty object", Log{LogLevel: "INFO", Log: "hello", Tags: map[string]string{}, CreatedAt: utc}},
		{"object", Log{LogLevel: "WARN", Log: "x", Tags: map[string]string{"step": "build", "b": "2", "a": "", "": "empty key", "Z": "upper"}, CreatedAt: utc}},
		{"list", Log{LogLevel: "DEBUG", Log: "x", TagList: []string{"workflow_completion", "***", ""}, CreatedAt: utc}},
		{"empty list", Log{LogLevel: "ERROR", Log: "x", TagList: []string{}, CreatedAt: utc}},
		{"list wins over object", Log{LogLevel: "INFO", Log: "x", Tags: map[string]string{"a": "b"}, TagList: []string{"c"}, CreatedAt: utc}},
		{"text to escape", Log{LogLevel: odd, Log: odd, Tags: map[string]string{odd: odd, "<": ">"}, CreatedAt: utc}},
		{"list to escape", Log{LogLevel: "INFO", Log: odd, TagList: []string{odd, "\u2028"}, CreatedAt: utc}},
		{"whole seconds", Log{LogLevel: "INFO", Log: "x", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"zero time", Log{LogLevel: "INFO", Log: "x"}},
		{"another zone", Log{LogLevel: "INFO", Log: "x", CreatedAt: utc.In(time.FixedZone("x", 5*3600+30*60))}},
		{"empty", Log{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := legacyMarshalJSON(tc.log)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.log.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("MarshalJSON:\n got %s\nwant %s", got, want)
			}
			// Inside a view, where encoding/json takes the line as it is.
			inView, err := json.Marshal(NodeRun{NodeRunLogs: []Log{tc.log}})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(inView, want) {
				t.Errorf("the view does not hold the line as before:\n%s\nwant within it %s", inView, want)
			}
			var back Log
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("the line does not decode: %v", err)
			}
		})
	}
}

// TestLogMarshalJSONBadTime: a time that encoding/json refuses is an error
// naming it, as before.
func TestLogMarshalJSONBadTime(t *testing.T) {
	l := Log{LogLevel: "INFO", Log: "x", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := legacyMarshalJSON(l); err == nil {
		t.Fatal("the former encoder accepted year 10000")
	}
	if _, err := l.MarshalJSON(); err == nil {
		t.Fatal("MarshalJSON accepted year 10000")
	}
}

// FuzzLogMarshalJSON: for any text, MarshalJSON writes what the former
// encoder wrote.
func FuzzLogMarshalJSON(f *testing.F) {
	f.Add("INFO", "hello", "step", "build", "workflow_completion", int64(0), false)
	f.Add("\x00<>&\u2028", "\xff\xfe", "\"\\", "\t\n", "é✓", int64(1764410400123456789), true)
	f.Fuzz(func(t *testing.T, level, msg, key, value, item string, nanos int64, list bool) {
		l := Log{LogLevel: level, Log: msg, Tags: map[string]string{key: value, value: key}, CreatedAt: time.Unix(0, nanos).UTC()}
		if list {
			l.TagList = []string{item, key}
		}
		want, werr := legacyMarshalJSON(l)
		got, err := l.MarshalJSON()
		if (err != nil) != (werr != nil) {
			t.Fatalf("error %v, former encoder's %v", err, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("MarshalJSON:\n got %s\nwant %s", got, want)
		}
	})
}
