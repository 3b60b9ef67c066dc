package secret

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-run/sluice/internal/store"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalid is matched by every *InvalidError.
	ErrInvalid = errors.New("invalid secret")
	// ErrNotFound reports a secret that does not exist. It wraps
	// store.ErrNotFound, so errors.Is(err, store.ErrNotFound) holds too.
	ErrNotFound = fmt.Errorf("secret %w", store.ErrNotFound)
	// ErrExists reports a secret name that is taken. It wraps
	// store.ErrExists.
	ErrExists = fmt.Errorf("secret %w", store.ErrExists)
	// ErrConflict reports a secret that other writers kept changing while
	// Update or a key rotation tried to change it; trying again may work. It
	// wraps store.ErrConflict.
	ErrConflict = fmt.Errorf("secret %w", store.ErrConflict)
	// ErrNotDefined is matched by every *NotDefinedError.
	ErrNotDefined = errors.New("secret is not defined")
	// ErrDecrypt is matched by every *DecryptError.
	ErrDecrypt = errors.New("secret cannot be decrypted")
	// ErrRotate reports a key ring that cannot be rotated in place (an
	// environment key); the error text tells the operator what to do.
	ErrRotate = errors.New("key ring cannot be rotated")
	// ErrKeyFileDamaged reports a key file that exists but cannot be read
	// (not JSON, a key that is not base64 or not 32 bytes, empty): it has
	// to be restored from the backup.
	ErrKeyFileDamaged = errors.New("the key file is damaged")
	// ErrKeyMismatch is matched by every *KeyMismatchError.
	ErrKeyMismatch = errors.New("the key ring is not the one the secrets were written with")
)

// InvalidError reports a field that failed validation. Field is the field's
// name as in Port's API (secretName, secretValue, description). Message never
// quotes a value.
type InvalidError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// NotDefinedError reports a secret that a run references but that no source
// defines.
type NotDefinedError struct {
	Name string
}

// Error implements error.
func (e *NotDefinedError) Error() string { return "secret " + e.Name + " is not defined" }

// Is makes errors.Is(err, ErrNotDefined) true.
func (e *NotDefinedError) Is(target error) bool { return target == ErrNotDefined }

// DecryptError reports a secret whose ciphertext could not be decrypted,
// naming the secret and the key id it was encrypted with.
type DecryptError struct {
	Name   string
	KeyID  string
	Reason string

	// keyMissing says the key was not in the ring (after a reread of the
	// key file), rather than that it did not open the ciphertext.
	keyMissing bool
}

// Error implements error.
func (e *DecryptError) Error() string {
	return "secret " + e.Name + " cannot be decrypted: " + e.Reason
}

// Is makes errors.Is(err, ErrDecrypt) true.
func (e *DecryptError) Is(target error) bool { return target == ErrDecrypt }

// KeyMissing reports that the key was not in the ring, even after a reread
// of the key file, rather than that it did not open the ciphertext: a
// rotation may have moved the data to a new key since it was read, so a
// caller may read it again.
func (e *DecryptError) KeyMissing() bool { return e.keyMissing }

// KeyProblem is one key that the store's secrets were written with and that
// the key ring cannot decrypt them with.
type KeyProblem struct {
	// KeyID is the key the secrets were written with.
	KeyID string
	// Reason is "not in this key ring" or "fingerprint mismatch" (the ring
	// holds a key with that id that is not the recorded key), or, for a
	// secret from before key records, "does not decrypt its secrets".
	Reason string
	// Secrets names (never values) up to three of the secrets written with
	// the key; Count is how many there are.
	Secrets []string
	Count   int
}

// KeyMismatchError reports a key ring that does not hold every key the
// store's secrets were written with. Nothing was read or written. Its
// message names the keys (by id) and says what to do, according to where
// the ring came from.
type KeyMismatchError struct {
	Problems []KeyProblem
	// Advice tells the operator what to do.
	Advice string
}

// Error implements error.
func (e *KeyMismatchError) Error() string {
	var b strings.Builder
	b.WriteString("the store's secrets were written with ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString(", and with ")
		}
		fmt.Fprintf(&b, "key %s (%s; %d secret(s): %s", p.KeyID, p.Reason, p.Count, strings.Join(p.Secrets, ", "))
		if p.Count > len(p.Secrets) {
			b.WriteString(", ...")
		}
		b.WriteString(")")
	}
	b.WriteString("; ")
	b.WriteString(e.Advice)
	return b.String()
}

// Is makes errors.Is(err, ErrKeyMismatch) true.
func (e *KeyMismatchError) Is(target error) bool { return target == ErrKeyMismatch }
