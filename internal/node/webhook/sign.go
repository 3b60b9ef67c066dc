package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// signaturePrefix versions the signature scheme.
const signaturePrefix = "v1="

// Errors of Verify.
var (
	// ErrNoSignature: the request carries no X-Sluice-Signature or
	// X-Sluice-Timestamp header.
	ErrNoSignature = errors.New("webhook signature: missing X-Sluice-Signature or X-Sluice-Timestamp")
	// ErrBadSignature: no signature in X-Sluice-Signature matches.
	ErrBadSignature = errors.New("webhook signature: does not match")
	// ErrStaleTimestamp: X-Sluice-Timestamp is malformed or too far from now.
	ErrStaleTimestamp = errors.New("webhook signature: timestamp is malformed or outside the tolerance")
)

// Sign returns the X-Sluice-Signature value of a request whose
// X-Sluice-Timestamp is timestamp (decimal unix seconds) and whose body is
// body: "v1=" + hex(HMAC-SHA256(key, timestamp + "." + body)).
func Sign(key []byte, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(key, timestamp, body))
}

// mac computes HMAC-SHA256(key, timestamp + "." + body).
func mac(key []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks the signature of a request a receiver got from sluice: h is
// the request's header, body its raw body (before any parsing), now the
// receiver's clock and tolerance how far the timestamp may be from it (5
// minutes is usual; it bounds replays). X-Sluice-Signature may hold several
// comma-separated "v1=" values, so that a key can be rotated; one matching is
// enough. The comparison is constant-time.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sigs == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStaleTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStaleTimestamp
	}
	want := mac(key, ts, body)
	for sig := range strings.SplitSeq(sigs, ",") {
		hexSig, ok := strings.CutPrefix(strings.TrimSpace(sig), signaturePrefix)
		if !ok {
			continue
		}
		got, err := hex.DecodeString(hexSig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}
