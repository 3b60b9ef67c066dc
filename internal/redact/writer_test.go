package redact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestWriterSplitEverywhere writes a text in two writes split at every
// position and checks the stream equals String of the whole text.
func TestWriterSplitEverywhere(t *testing.T) {
	r := New()
	r.Add("hunter2-s3cr3t")
	r.Add("abcdefgh")
	texts := []string{
		"user=alice password=hunter2-s3cr3t ok\n",
		"auth: Basic " + "YWxpY2U6aHVudGVyMi1zM2NyM3Q=" + "\n",
		"abcdefghunter2-s3cr3tabcdefgh",
		"hunter2-s3cr3",   // a prefix only: must come out whole on Close
		"no secrets here", // nothing held back
	}
	for _, text := range texts {
		want := r.String(text)
		for i := 0; i <= len(text); i++ {
			var out bytes.Buffer
			w := r.NewWriter(&out)
			for _, part := range []string{text[:i], text[i:]} {
				if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("split %q at %d: got %q, want %q", text, i, out.String(), want)
			}
		}
	}
}

func TestWriterByteByByte(t *testing.T) {
	r := New()
	secrets := randomSecrets(4, 30, 12)
	for _, s := range secrets {
		r.Add(s)
	}
	text := "a " + strings.Join(secrets, ", b ") + secrets[0] + secrets[1] + " end"
	var out bytes.Buffer
	w := r.NewWriter(&out)
	for i := range len(text) {
		if _, err := w.Write([]byte{text[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := r.String(text); out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	assertNoPattern(t, patternsOf(r), out.String())
}

// TestWriterWritesSafeTextAtOnce: bytes that cannot begin a secret are not
// held back, so complete log lines appear immediately.
func TestWriterWritesSafeTextAtOnce(t *testing.T) {
	r := New()
	r.Add("hunter2-s3cr3t")
	var out bytes.Buffer
	w := r.NewWriter(&out)
	steps := []struct{ write, seen string }{
		{"line one\n", "line one\n"},
		{"pw=hunt", "line one\npw="},
		{"er2-s3cr3t", "line one\npw="}, // a match may still grow or touch
		{"\n", "line one\npw=***\n"},
	}
	for _, s := range steps {
		if _, err := w.Write([]byte(s.write)); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != s.seen {
			t.Errorf("after %q: written %q, want %q", s.write, out.String(), s.seen)
		}
	}
}

func TestWriterSlog(t *testing.T) {
	const secret = "tok_9f8e7d6c5b4a"
	r := New()
	r.Add(secret)
	var out bytes.Buffer
	w := r.NewWriter(&out)
	log := slog.New(slog.NewJSONHandler(w, nil))
	log.Info("calling webhook", "url", "https://h/x?token="+secret, "header", "Bearer "+secret)
	log.Error("failed", "err", errors.New(`Get "https://h/x?token=`+secret+`": refused`))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	lines := 0
	for sc.Scan() {
		lines++
		if !json.Valid(sc.Bytes()) {
			t.Errorf("log line %s is not valid JSON", sc.Bytes())
		}
		if strings.Contains(sc.Text(), secret) || !strings.Contains(sc.Text(), Mask) {
			t.Errorf("log line %s", sc.Bytes())
		}
	}
	if lines != 2 {
		t.Errorf("%d log lines, want 2", lines)
	}
}

// TestWriterBoundedHold: an endless run of matches must not make the Writer
// hold everything.
func TestWriterBoundedHold(t *testing.T) {
	r := New()
	r.Add("aaaa")
	var out bytes.Buffer
	w := r.NewWriter(&out)
	chunk := []byte(strings.Repeat("a", 4096))
	for range 64 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if len(w.buf) > holdLimit+len(chunk) {
			t.Fatalf("holding %d bytes", len(w.buf))
		}
	}
	if _, err := w.Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != Mask+"b" {
		t.Errorf("got %q, want one mask", out.String())
	}
}

func TestWriterAddDuringStream(t *testing.T) {
	r := New()
	var out bytes.Buffer
	w := r.NewWriter(&out)
	if _, err := w.Write([]byte("before ")); err != nil {
		t.Fatal(err)
	}
	r.Add("late-s3cr3t")
	if _, err := w.Write([]byte("value=late-s3cr3t\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "before value=***\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterErrors(t *testing.T) {
	r := New()
	boom := errors.New("disk full")
	w := r.NewWriter(failWriter{boom})
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, boom) {
		t.Errorf("Write error = %v, want %v", err, boom)
	}
	if _, err := w.Write([]byte("y\n")); !errors.Is(err, boom) {
		t.Errorf("second Write error = %v, want the first one", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close error = %v", err)
	}

	var out bytes.Buffer
	w = r.NewWriter(&out)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}

// TestWriterMaskCharacter: with a pattern that contains the mask character a
// stream may show that pattern formed by a Mask and its neighbour (see
// NewWriter), but never the secret's own bytes.
func TestWriterMaskCharacter(t *testing.T) {
	r := New()
	r.Add("x***")
	r.Add("SECRETVAL")
	var out bytes.Buffer
	w := r.NewWriter(&out)
	for _, part := range []string{"xxxx", "SECRET", "VAL x*", "** end"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// "xxxx***" holds the pattern x*** formed by the Mask (String would
	// re-scan it away); the real occurrence of x*** is masked.
	if want := "xxxx*** *** end"; out.String() != want {
		t.Errorf("stream %q, want %q", out.String(), want)
	}
}
