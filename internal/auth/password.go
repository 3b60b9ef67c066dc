package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new password hashes: RFC 9106's second
// recommended option (64 MiB, 3 passes), with 2 lanes for small servers.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password length limits, in bytes: short ones are guessable, very long
// ones only cost hashing time.
const (
	MinPasswordBytes = 12
	MaxPasswordBytes = 1024
)

// ErrWrongPassword is returned by CheckPassword for a password that does
// not match.
var ErrWrongPassword = errors.New("auth: wrong password")

// CheckPasswordRules returns an *InvalidError (field "password") when p is
// too short, too long or not valid UTF-8.
func CheckPasswordRules(p string) error {
	switch {
	case !utf8.ValidString(p):
		return invalidf("password", "must be valid UTF-8 text")
	case len(p) < MinPasswordBytes:
		return invalidf("password", "must be at least %d bytes long", MinPasswordBytes)
	case len(p) > MaxPasswordBytes:
		return invalidf("password", "must be at most %d bytes long", MaxPasswordBytes)
	}
	return nil
}

// HashPassword returns the argon2id hash of p as a PHC string
// ($argon2id$v=19$m=65536,t=3,p=2$salt$key), after CheckPasswordRules.
func HashPassword(p string) (string, error) {
	if err := CheckPasswordRules(p); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	return phc(salt, argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)), nil
}

// phc formats a salt and a derived key with the parameters of new hashes.
func phc(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether p matches hash (a HashPassword result):
// nil when it does, ErrWrongPassword when it does not, another error for a
// hash it cannot read. The comparison takes constant time.
func CheckPassword(hash, p string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return errors.New("auth: not an argon2id password hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("auth: unsupported argon2 version in password hash")
	}
	var mem, t uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &threads); err != nil || mem == 0 || t == 0 || threads == 0 || mem > 4<<20 || t > 100 {
		return errors.New("auth: bad argon2 parameters in password hash")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return errors.New("auth: bad salt in password hash")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return errors.New("auth: bad key in password hash")
	}
	got := argon2.IDKey([]byte(p), salt, t, mem, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrWrongPassword
	}
	return nil
}

// DummyPasswordHash is a hash with the parameters of new hashes, to
// compare against when a sign-in names an unknown account or one without a
// password, so that the answer takes as long as for a wrong password:
// CheckPassword derives a key with the parameters the hash names, whatever
// it is compared with. Its key is random bytes, not derived from any
// password (no password matches it but with probability 2^-256), so making
// it costs no derivation: deriving one took 64 MiB and about 0.1 s of CPU
// at every start of the web UI, and that memory stayed in the process's
// footprint (RSS 110 MiB on an idle start, 49 MiB after the collector
// returned it).
func DummyPasswordHash() string {
	salt := make([]byte, argonSaltLen)
	key := make([]byte, argonKeyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return phc(salt, key)
}
