package session

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// tokenKey is one configured JWT key. Its algorithm is fixed when it is
// configured: a token naming this key by kid verifies only with alg.
type tokenKey struct {
	kid    string
	alg    string        // "EdDSA", "ES256" or "HS256"
	signer crypto.Signer // EdDSA and ES256
	hmac   []byte        // HS256
	verify any           // what jwt's Verify takes: the public key or the secret
}

// method returns the jwt signing method and the key it signs with.
func (k *tokenKey) method() (jwt.SigningMethod, any) {
	switch k.alg {
	case "EdDSA":
		return jwt.SigningMethodEdDSA, k.signer
	case "ES256":
		if priv, ok := k.signer.(*ecdsa.PrivateKey); ok {
			return jwt.SigningMethodES256, priv
		}
		// jwt signs ES256 only with an *ecdsa.PrivateKey; a key held
		// elsewhere (an HSM, a KMS) is any crypto.Signer.
		return es256Signer{}, k.signer
	default:
		return jwt.SigningMethodHS256, k.hmac
	}
}

// es256Signer signs ES256 with any crypto.Signer holding a P-256 key: the
// signer returns an ASN.1 signature, JWS wants r||s of 32 bytes each.
type es256Signer struct{}

func (es256Signer) Alg() string { return "ES256" }

func (es256Signer) Verify(signing string, sig []byte, key any) error {
	return jwt.SigningMethodES256.Verify(signing, sig, key)
}

func (es256Signer) Sign(signing string, key any) ([]byte, error) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	digest := sha256.Sum256([]byte(signing))
	der, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil ||
		rs.R.Sign() < 0 || rs.S.Sign() < 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("session: ES256 signer returned a malformed signature")
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}
