package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// baselineDecodeBody is decodeBody as it was before bodies were checked for
// bad text and duplicate keys: a json.Decoder token walk for the syntax,
// then the strict decode. The benchmark measures the check against it.
func baselineDecodeBody(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// benchBodies are a small and a large completion body (the PATCH that
// async receivers send), as the server sees them.
func benchBodies() map[string][]byte {
	small := `{"status": "COMPLETED", "result": "SUCCESS", "output": {"deploymentId": "dep-42", "url": "https://example.com/d/42"}, "logs": [{"level": "INFO", "message": "deployed"}]}`
	var out, logs strings.Builder
	for i := range 100 {
		if i > 0 {
			out.WriteString(", ")
			logs.WriteString(", ")
		}
		fmt.Fprintf(&out, `"key%d": {"name": "service-%d", "tags": ["a", "b", "ç"], "replicas": %d, "ok": true}`, i, i, i)
		fmt.Fprintf(&logs, `{"level": "INFO", "message": "step %d of 100: rolled out service-%d — ok"}`, i, i)
	}
	large := `{"status": "COMPLETED", "result": "SUCCESS", "output": {` + out.String() + `}, "logs": [` + logs.String() + `]}`
	return map[string][]byte{"small": []byte(small), "large": []byte(large)}
}

func BenchmarkDecodeBody(b *testing.B) {
	for name, data := range benchBodies() {
		for _, impl := range []struct {
			name   string
			decode func([]byte, any) error
		}{
			{"baseline", baselineDecodeBody},
			{"checked", decodeBody},
		} {
			b.Run(name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					var body completionBody
					if err := impl.decode(data, &body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
