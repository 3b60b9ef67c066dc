package credscan

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/sluice-run/sluice/internal/redact"
)

// MinFormLen is the length, in bytes, of the shortest form of a secret
// value that is fingerprinted. Shorter forms would match ordinary words in
// definitions ("prod", "true") and, being few, make the check an oracle for
// guessing short values; secrets of 4 to 7 bytes are found by their longer
// encodings only.
const MinFormLen = 8

// anchorLen is the length of the window whose keyed hash selects the
// candidates at each position of a text: the first MinFormLen bytes of a
// form.
const anchorLen = MinFormLen

// HKDF labels of the two keys derived from a key-ring key. Changing one
// invalidates every stored fingerprint.
const (
	labelMAC    = "sluice credscan fingerprint v1"
	labelAnchor = "sluice credscan anchor v1"
)

// Print is the keyed fingerprint of one form of a secret value: its length,
// an anchor (a keyed 64-bit hash of its first MinFormLen bytes, cheap to
// compute at every position of a text) and its HMAC-SHA256. Neither reveals
// anything about the value without the key.
type Print struct {
	Length int
	Anchor uint64
	Sum    [sha256.Size]byte
}

// Fingerprinter computes Prints with the keys derived (HKDF-SHA256) from
// one key-ring key. It is safe for concurrent use.
type Fingerprinter struct {
	keyID  string
	mac    []byte
	anchor cipher.Block
}

// NewFingerprinter derives the fingerprint keys from the key-ring key
// keyID whose bytes are key. The key itself is not kept.
func NewFingerprinter(keyID string, key []byte) (*Fingerprinter, error) {
	mac, err := hkdf.Key(sha256.New, key, nil, labelMAC, 32)
	if err != nil {
		return nil, fmt.Errorf("credscan: derive the fingerprint key of %s: %w", keyID, err)
	}
	ak, err := hkdf.Key(sha256.New, key, nil, labelAnchor, 16)
	if err != nil {
		return nil, fmt.Errorf("credscan: derive the anchor key of %s: %w", keyID, err)
	}
	block, err := aes.NewCipher(ak)
	clear(ak)
	if err != nil {
		return nil, fmt.Errorf("credscan: anchor cipher of %s: %w", keyID, err)
	}
	return &Fingerprinter{keyID: keyID, mac: mac, anchor: block}, nil
}

// KeyID returns the id of the key-ring key the fingerprints are made with.
func (f *Fingerprinter) KeyID() string { return f.keyID }

// Prints returns the fingerprints of value and of every form the redactor
// registers for it (redact.Forms) that is at least MinFormLen bytes long,
// each distinct form once.
func (f *Fingerprinter) Prints(value string) []Print {
	forms := redact.Forms(value)
	seen := make(map[string]bool, len(forms))
	out := make([]Print, 0, len(forms))
	h := hmac.New(sha256.New, f.mac)
	for _, form := range forms {
		if len(form) < MinFormLen || seen[form] {
			continue
		}
		seen[form] = true
		out = append(out, Print{Length: len(form), Anchor: f.anchorOf(form[:anchorLen]), Sum: f.sum(h, form)})
	}
	return out
}

// anchorOf is the keyed hash of an anchorLen-byte window: the first 8 bytes
// of its AES encryption (zero-padded to a block) under the anchor key. AES
// is a pseudo-random permutation, so this is a keyed PRF, and with AES-NI
// it costs a few nanoseconds, which lets a text be probed at every offset.
func (f *Fingerprinter) anchorOf(w string) uint64 {
	buf := make([]byte, 2*aes.BlockSize)
	return f.anchorInto(buf, w)
}

// anchorInto is anchorOf with a caller's scratch buffer of 2 AES blocks, so
// that probing every offset of a text allocates nothing.
func (f *Fingerprinter) anchorInto(buf []byte, w string) uint64 {
	in, out := buf[:aes.BlockSize], buf[aes.BlockSize:2*aes.BlockSize]
	clear(in)
	copy(in, w)
	f.anchor.Encrypt(out, in)
	return binary.LittleEndian.Uint64(out[:8])
}

// sum is the HMAC-SHA256 of s; h must be an HMAC under f.mac.
func (f *Fingerprinter) sum(h hash.Hash, s string) [sha256.Size]byte {
	h.Reset()
	h.Write([]byte(s))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// Entry is one stored fingerprint: which secret, under which key.
type Entry struct {
	Secret string
	KeyID  string
	Print  Print
}

// Index finds the secrets whose value, or a form of it, occurs in a text,
// from their fingerprints alone. It is immutable and safe for concurrent
// use.
type Index struct {
	keys []*keyIndex
	n    int
}

// keyIndex holds the fingerprints made under one key.
type keyIndex struct {
	fp      *Fingerprinter
	anchors map[uint64][]candidate
	// filter has a bit set for the low filterBits bits of every anchor,
	// so that most offsets are passed over without a map lookup.
	filter []uint64
}

// filterBits sizes keyIndex.filter: 2^20 bits (128 KiB), a few percent
// full with tens of thousands of fingerprints.
const filterBits = 20

func (ki *keyIndex) mayHave(a uint64) bool {
	b := a & (1<<filterBits - 1)
	return ki.filter[b/64]&(1<<(b%64)) != 0
}

// candidate is one form whose first anchorLen bytes hash to an anchor.
type candidate struct {
	length int
	sum    [sha256.Size]byte
	secret string
}

// NewIndex builds an index over entries. fingerprinters maps key ids to
// their Fingerprinter; entries under a key it lacks are left out (they are
// stale: the key was retired) and counted in the second result.
func NewIndex(entries []Entry, fingerprinters map[string]*Fingerprinter) (*Index, int) {
	byKey := map[string]*keyIndex{}
	x := &Index{}
	skipped := 0
	for _, e := range entries {
		fp := fingerprinters[e.KeyID]
		if fp == nil || e.Print.Length < MinFormLen {
			skipped++
			continue
		}
		ki := byKey[e.KeyID]
		if ki == nil {
			ki = &keyIndex{fp: fp, anchors: map[uint64][]candidate{}, filter: make([]uint64, (1<<filterBits)/64)}
			byKey[e.KeyID] = ki
			x.keys = append(x.keys, ki)
		}
		b := e.Print.Anchor & (1<<filterBits - 1)
		ki.filter[b/64] |= 1 << (b % 64)
		ki.anchors[e.Print.Anchor] = append(ki.anchors[e.Print.Anchor], candidate{length: e.Print.Length, sum: e.Print.Sum, secret: e.Secret})
		x.n++
	}
	return x, skipped
}

// Len returns how many fingerprints the index holds.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return x.n
}

// Secrets returns the names of the secrets whose value or a form of it
// occurs in text, each once, in the order they are found. It never returns
// the matched text. A nil Index finds nothing.
//
// It hashes the anchorLen bytes at every offset of text and, only where
// that anchor is one of a stored form's, computes the HMAC of the text of
// that form's length there: a cost linear in the text, whatever the number
// of secrets.
func (x *Index) Secrets(text string) []string {
	if x == nil || len(text) < MinFormLen {
		return nil
	}
	var out []string
	buf := make([]byte, 2*aes.BlockSize)
	for _, ki := range x.keys {
		var h hash.Hash
		for i := 0; i+anchorLen <= len(text); i++ {
			a := ki.fp.anchorInto(buf, text[i:i+anchorLen])
			if !ki.mayHave(a) {
				continue
			}
			cands := ki.anchors[a]
			for _, c := range cands {
				if i+c.length > len(text) || contains(out, c.secret) {
					continue
				}
				if h == nil {
					h = hmac.New(sha256.New, ki.fp.mac)
				}
				sum := ki.fp.sum(h, text[i:i+c.length])
				if hmac.Equal(sum[:], c.sum[:]) {
					out = append(out, c.secret)
				}
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
