package logship

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Pseudonymizer replaces an attribute's value by a keyed pseudonym:
// "ps:" and the first 128 bits, in hex, of HMAC-SHA256(key, value), the
// key being the one Keys holds for the record's subject.
//
// What it achieves: the same value of the same subject always gives the
// same pseudonym, so records can still be correlated ("all requests of
// this user") without the logs holding the value. Erasing a subject —
// the right to be forgotten on append-only logs and immutable archives —
// is deleting its key from the KeyProvider: the pseudonyms already
// written can then no longer be linked to the value by anyone, including
// the operator, and later records of that subject carry "[ERASED]"
// (whatever error the KeyProvider returns is written as DefaultReplacement
// — fail closed).
//
// What it does not: it protects only the attributes the rule names — the
// same value in the message or in another attribute is not pseudonymised
// (add content rules for that); a value from a small set (a country, a
// four-digit PIN) can be recovered by anyone holding the key, by trying
// every candidate; and it does not remove the records, so other fields
// of an erased subject's records (times, URLs) stay as they were.
type Pseudonymizer struct {
	// Keys holds the per-subject HMAC keys.
	Keys KeyProvider
	// Subject is the key of the attribute whose string value names the
	// subject (a tenant or user id), looked up first among the record's
	// top-level attributes, then among the Handler's WithAttrs. Empty:
	// the value is its own subject (pseudonymising "user.id" with a key
	// per user). A record with no subject gets DefaultReplacement.
	Subject string
}

// KeyProvider holds one secret key per subject.
type KeyProvider interface {
	// SubjectKey returns subject's key, creating it if the provider does
	// so; an error (ErrErased for a subject whose key was deleted) makes
	// the value redacted. It is called for every pseudonymised value, so
	// it should answer from memory.
	SubjectKey(ctx context.Context, subject string) ([]byte, error)
}

// ErasedReplacement replaces a pseudonymised value whose subject was erased.
const ErasedReplacement = "[ERASED]"

// ErrErased is what a KeyProvider returns for an erased subject.
var ErrErased = errors.New("logship: subject erased")

// pseudonym returns the replacement for value under subject's key.
func (p *Pseudonymizer) pseudonym(ctx context.Context, subject, value string) string {
	if ctx == nil {
		ctx = context.Background()
	}
	key, err := p.Keys.SubjectKey(ctx, subject)
	if errors.Is(err, ErrErased) {
		return ErasedReplacement
	}
	if err != nil || len(key) == 0 {
		return DefaultReplacement
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	var sum [sha256.Size]byte
	return "ps:" + hex.EncodeToString(m.Sum(sum[:0])[:16])
}
