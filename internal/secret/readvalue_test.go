package secret

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestReadValueFromPipe covers the non-terminal path (a pipe, as in
// `sluice secrets set NAME < file`). The terminal path needs a real TTY.
func TestReadValueFromPipe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"one trailing newline stripped", "ghp_value\n", "ghp_value", ""},
		{"crlf stripped", "ghp_value\r\n", "ghp_value", ""},
		{"only one newline stripped", "multi\nline\n\n", "multi\nline\n", ""},
		{"no newline", "ghp_value", "ghp_value", ""},
		{"empty", "", "", "no secret value given"},
		{"just a newline", "\n", "", "no secret value given"},
		{"too large", strings.Repeat("x", MaxValueLen+1), "", "secretValue: must be at most 64 KiB"},
		{"largest", strings.Repeat("x", MaxValueLen) + "\n", strings.Repeat("x", MaxValueLen), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			go func() {
				_, _ = w.WriteString(tt.in)
				_ = w.Close()
			}()
			got, err := ReadValue(r)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want %q", err, tt.wantErr)
				}
				if tt.wantErr == "secretValue: must be at most 64 KiB" && !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v is not ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %d bytes %.20q; want %.20q", len(got), got, tt.want)
			}
		})
	}
}
