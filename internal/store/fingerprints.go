package store

import (
	"context"
	"time"
)

// SecretFingerprint is a keyed fingerprint of one form of a secret's value
// (package credscan makes them): never the value, and nothing that reveals
// it without the key, which is not stored.
type SecretFingerprint struct {
	Secret string // the secret's name
	// KeyID names the key-ring key the fingerprint keys were derived from.
	KeyID string
	// SecretUpdatedAt is the UpdatedAt of the secret the fingerprint was
	// made from; a fingerprint of an older version is stale.
	SecretUpdatedAt time.Time
	Length          int
	Anchor          uint64
	Sum             []byte
}

// FingerprintStore keeps the fingerprints of secret values. It is part of
// Store; its methods are grouped here because they change together.
type FingerprintStore interface {
	// ReplaceSecretFingerprints replaces every fingerprint of the named
	// secret with fps (each with SecretUpdatedAt set to ifUpdatedAt), in one
	// transaction, but only while the secret's UpdatedAt still equals
	// ifUpdatedAt: otherwise ErrConflict and nothing changes. ErrNotFound
	// when the secret is missing. Deleting a secret deletes its
	// fingerprints.
	ReplaceSecretFingerprints(ctx context.Context, name string, ifUpdatedAt time.Time, fps []SecretFingerprint) error
	// ListSecretFingerprints returns the current fingerprints: those whose
	// SecretUpdatedAt equals their secret's UpdatedAt, ordered by secret
	// name.
	ListSecretFingerprints(ctx context.Context) ([]SecretFingerprint, error)
	// SecretsStamp returns a short string that changes whenever a secret
	// or a fingerprint is added, changed or removed, so that a cache of
	// fingerprints knows when to reload.
	SecretsStamp(ctx context.Context) (string, error)
}
