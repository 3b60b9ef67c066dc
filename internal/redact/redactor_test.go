package redact

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		text    string
		want    string
	}{
		{"no secrets", nil, "hello world", "hello world"},
		{"no match", []string{"hunter22"}, "hello world", "hello world"},
		{"empty text", []string{"hunter22"}, "", ""},
		{"whole text", []string{"hunter22"}, "hunter22", Mask},
		{"middle", []string{"hunter22"}, "pw=hunter22;", "pw=" + Mask + ";"},
		{"twice", []string{"hunter22"}, "hunter22 and hunter22", Mask + " and " + Mask},
		{"adjacent copies are one run", []string{"hunter22"}, "hunter22hunter22", Mask},
		{"overlapping secrets", []string{"abcdefgh", "efghijkl"}, "xxabcdefghijklyy", "xx" + Mask + "yy"},
		{"self-overlap", []string{"abab"}, "xababababx", "x" + Mask + "x"},
		{"nested: secret contains another", []string{"password123", "word"}, "my password123 and word!", "my " + Mask + " and " + Mask + "!"},
		{"nested: inner first then outer", []string{"cdef", "abcdefgh"}, "..abcdefgh..cdef", ".." + Mask + ".." + Mask},
		{"outer ends after inner", []string{"bcde", "abcdefgh"}, "abcdefgh", Mask},
		{"prefix of a longer one only", []string{"abcdefgh"}, "abcdefg", "abcdefg"},
		{"touching different secrets", []string{"aaaa1111", "bbbb2222"}, "aaaa1111bbbb2222", Mask},
		{"separated by one byte", []string{"aaaa1111", "bbbb2222"}, "aaaa1111 bbbb2222", Mask + " " + Mask},
		{"short secret not registered", []string{"abc"}, "abc abc", "abc abc"},
		{"url in an error", []string{"tok_9f8e7d6c"}, `Get "https://h/x?token=tok_9f8e7d6c": dial tcp`, `Get "https://h/x?token=` + Mask + `": dial tcp`},
		{"basic auth header", []string{"s3cr3tpass"}, "Authorization: Basic dXNlcjpzM2NyM3RwYXNz", "Authorization: Basic dXNlcjp" + Mask},
		{"hex dump", []string{"hunter22"}, "key=68756E7465723232.", "key=" + Mask + "."},
		{"query form", []string{"a b&c=d"}, "q=a+b%26c%3Dd&x=1", "q=" + Mask + "&x=1"},
		{"path form", []string{"a b/c?d"}, "/v1/a%20b%2Fc%3Fd/x", "/v1/" + Mask + "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for _, s := range tt.secrets {
				r.Add(s)
			}
			if got := r.String(tt.text); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if got := r.Text(tt.text).String(); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if got := naiveRedact(patternsOf(r), tt.text); got != tt.want {
				t.Errorf("oracle disagrees with the table: %q", got)
			}
		})
	}
}

func TestStringUnchangedDoesNotAllocate(t *testing.T) {
	r := New()
	for _, s := range randomSecrets(1, 50, 24) {
		r.Add(s)
	}
	text := strings.Repeat("2024-05-01T12:00:00Z INFO GET /api/v1/items status=200 dur=3ms\n", 50)
	if got := r.String(text); got != text {
		t.Fatal("text without secrets changed")
	}
	allocs := testing.AllocsPerRun(20, func() { _ = r.String(text) })
	if allocs != 0 {
		t.Errorf("String allocated %v times on text without secrets", allocs)
	}
}

func TestManySecrets(t *testing.T) {
	secrets := randomSecrets(2, 1000, 20)
	r := New()
	for _, s := range secrets {
		r.Add(s)
	}
	if r.Len() < 8*len(secrets) {
		t.Fatalf("Len = %d, want at least 8 forms per secret", r.Len())
	}
	var b strings.Builder
	for i, s := range secrets {
		if i%7 != 0 {
			continue
		}
		fmt.Fprintf(&b, "line %d token=%s hex=%x b64=%s\n", i, s, s, base64.StdEncoding.EncodeToString([]byte("u:"+s)))
	}
	text := b.String()
	got := r.String(text)
	assertNoPattern(t, patternsOf(r), got)
	if want := naiveRedact(patternsOf(r), text); got != want {
		t.Errorf("String and the brute-force oracle differ:\n got %q\nwant %q", got[:200], want[:200])
	}
}

func TestLen(t *testing.T) {
	r := New()
	if r.Len() != 0 {
		t.Fatalf("new Redactor has %d patterns", r.Len())
	}
	r.Add("abcdefgh")
	n := r.Len()
	if n < 8 {
		t.Fatalf("Len = %d after one value, want its forms", n)
	}
	r.Add("abcdefgh")
	if r.Len() != n {
		t.Errorf("adding a value twice changed Len from %d to %d", n, r.Len())
	}
	r.Add("")
	if r.Len() != n {
		t.Errorf("adding the empty value changed Len")
	}
}

func TestAddDerived(t *testing.T) {
	tests := []struct {
		value  string
		masked bool
	}{
		{"ab", false},
		{"abc", false},
		{"true", false},
		{"false", false},
		{"null", false},
		{"abcd", true},
		{"dXNlcjpwYXNz", true}, // {{ .secrets.U + ":" + .secrets.P | @base64 }}
	}
	for _, tt := range tests {
		r := New()
		r.AddDerived(tt.value)
		got := r.String("[" + tt.value + "]")
		if masked := got == "["+Mask+"]"; masked != tt.masked {
			t.Errorf("AddDerived(%q): String = %q, masked %v, want %v", tt.value, got, masked, tt.masked)
		}
		if !tt.masked && r.Len() != 0 {
			t.Errorf("AddDerived(%q) registered %d patterns", tt.value, r.Len())
		}
	}
}

func TestError(t *testing.T) {
	r := New()
	r.Add("tok_9f8e7d6c")
	if got := r.Error(nil).String(); got != "" {
		t.Errorf("Error(nil) = %q", got)
	}
	//lint:ignore SA1007 the URL is invalid on purpose: its parse error quotes it
	_, err := url.Parse("https://h/x?token=tok_9f8e7d6c\x7f")
	wrapped := fmt.Errorf("node webhook: %w", err)
	got := r.Error(wrapped).String()
	if strings.Contains(got, "tok_9f8e7d6c") || !strings.Contains(got, Mask) {
		t.Errorf("Error = %q", got)
	}
	if got := r.Error(errors.New("plain failure")).String(); got != "plain failure" {
		t.Errorf("Error without a secret = %q", got)
	}
}

// TestMaskCharacterFixpoint covers patterns that contain the mask character:
// a mask and its neighbours can form them anew, and String must re-scan.
func TestMaskCharacterFixpoint(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		text    string
	}{
		{"star after mask", []string{"x***", "SECRETVAL"}, "xSECRETVAL"},
		{"stars around", []string{"a***b", "SECRETVAL"}, "aSECRETVALb"},
		{"chain to the left", []string{"x***", "SECRETVAL"}, strings.Repeat("x", 20) + "SECRETVAL"},
		{"long chain hits the bound", []string{"x***", "SECRETVAL"}, strings.Repeat("x", 200) + "SECRETVAL"},
		{"only stars", []string{"****"}, strings.Repeat("*", 50)},
		{"star inside the secret", []string{"pa**word"}, "pa**word pa**word"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for _, s := range tt.secrets {
				r.Add(s)
			}
			got := r.String(tt.text)
			assertNoPattern(t, patternsOf(r), got)
			if !strings.Contains(got, Mask) {
				t.Errorf("String(%q) = %q, nothing masked", tt.text, got)
			}
		})
	}
}

func TestAllBytesUsed(t *testing.T) {
	// A value using every byte leaves no class for "unused".
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	r := New()
	r.Add(string(b))
	text := "x" + string(b) + "y"
	if got := r.String(text); got != "x"+Mask+"y" {
		t.Errorf("got %q", got)
	}
	if got := r.String("\x00\x01\x02\x03 plain"); got != "\x00\x01\x02\x03 plain" {
		t.Errorf("text without the value changed: %q", got)
	}
}

// TestConcurrentAdd scans from several goroutines while values are added.
// Run with -race. After Add returns, every scan must mask the value.
func TestConcurrentAdd(t *testing.T) {
	r := New()
	secrets := randomSecrets(3, 40, 16)
	text := "start " + strings.Join(secrets, " ") + " end"
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = r.String(text)
				_, _ = r.JSON(map[string]any{"k": text})
			}
		})
	}
	for _, s := range secrets {
		r.Add(s)
		if got := r.String(s); got != Mask {
			t.Errorf("right after Add, String(%q) = %q", s, got)
		}
	}
	close(stop)
	wg.Wait()
	if got, want := r.String(text), "start "+strings.TrimSuffix(strings.Repeat(Mask+" ", len(secrets)), " ")+" end"; got != want {
		t.Errorf("final String = %q, want %q", got, want)
	}
}
