package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// ReadValue reads a secret value for `sluice secrets set` from f (standard
// input), so that it never lands in shell history or the process list. When
// f is a terminal it prompts on standard error and reads without echo;
// otherwise it reads f to the end. One trailing newline ("\n" or "\r\n") is
// stripped. An empty value or one over 64 KiB is refused; the caller checks
// the rest with ValidateValue (Service.Create does).
func ReadValue(f *os.File) ([]byte, error) {
	var b []byte
	var err error
	if fd := int(f.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(os.Stderr, "Secret value (input is hidden): ")
		b, err = term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read secret value from the terminal: %w", err)
		}
	} else {
		b, err = io.ReadAll(io.LimitReader(f, MaxValueLen+3))
		if err != nil {
			return nil, fmt.Errorf("read secret value from %s: %w", f.Name(), err)
		}
	}
	if bytes.HasSuffix(b, []byte("\r\n")) {
		b = b[:len(b)-2]
	} else if bytes.HasSuffix(b, []byte("\n")) {
		b = b[:len(b)-1]
	}
	switch {
	case len(b) == 0:
		return nil, errors.New("no secret value given: pipe it to standard input (sluice secrets set NAME < file) or type it at the prompt")
	case len(b) > MaxValueLen:
		clear(b)
		return nil, &InvalidError{Field: "secretValue", Message: "must be at most 64 KiB"}
	}
	return b, nil
}
