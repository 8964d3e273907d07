package crier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Tokens seals and opens the capability tokens in subscriber links
// (unsubscribe, confirm). A token carries the town, the address and an
// expiry, encrypted and authenticated with AES-256-GCM under a key derived
// from Secret, and bound to its purpose: nothing in its text names the
// subscriber, so a link that ends up in a log, a proxy's history or a
// forwarded mail does not give the address away.
type Tokens struct {
	Secret []byte
}

// Token purposes.
const (
	PurposeUnsubscribe = "unsub"
	PurposeConfirm     = "confirm"
)

// ErrBadToken is returned for a token that is malformed, forged or expired.
var ErrBadToken = errors.New("invalid or expired token")

var b64 = base64.RawURLEncoding

const (
	// sealedVersion is the first byte of a sealed token; a new key or
	// layout gets a new one.
	sealedVersion = 1
	// maxToken bounds the token text Verify decodes at all.
	maxToken = 1024
)

// Sign returns a URL-safe token for purpose that Verify accepts until
// expires. Each call seals with a fresh random nonce, so two tokens for the
// same subscriber differ.
func (t Tokens) Sign(purpose, town, email string, expires time.Time) string {
	plain := binary.AppendVarint(nil, expires.Unix())
	plain = append(plain, town...)
	plain = append(plain, 0)
	plain = append(plain, email...)
	raw := t.aead().Seal([]byte{sealedVersion}, nil, plain, additional(purpose))
	return b64.EncodeToString(raw)
}

// Verify checks a token for purpose at now and returns its town and address.
// Any failure is ErrBadToken, whatever its cause.
//
// Unsubscribe links mailed before tokens were sealed (the address in
// base64, then an HMAC) are still accepted until they expire, so that a
// citizen can leave a list from any mail they kept; their signature is
// checked as before. Old confirmation links are not: they lasted a week,
// and subscribing again sends a new one.
func (t Tokens) Verify(token, purpose string, now time.Time) (town, email string, err error) {
	if len(token) > maxToken {
		return "", "", ErrBadToken
	}
	if strings.Contains(token, ".") {
		if purpose != PurposeUnsubscribe {
			return "", "", ErrBadToken
		}
		return t.verifyLegacy(token, purpose, now)
	}
	raw, err := b64.DecodeString(token)
	if err != nil || len(raw) < 1 || raw[0] != sealedVersion {
		return "", "", ErrBadToken
	}
	plain, err := t.aead().Open(nil, nil, raw[1:], additional(purpose))
	if err != nil {
		return "", "", ErrBadToken
	}
	exp, n := binary.Varint(plain)
	if n <= 0 || now.Unix() > exp {
		return "", "", ErrBadToken
	}
	town, email, ok := strings.Cut(string(plain[n:]), "\x00")
	if !ok {
		return "", "", ErrBadToken
	}
	return town, email, nil
}

// aead is the cipher tokens are sealed with: AES-256-GCM, a random nonce
// in front of each ciphertext, under a key derived from Secret, so that
// the HMAC key of the links mailed before is never used for anything else.
func (t Tokens) aead() cipher.AEAD {
	key, err := hkdf.Key(sha256.New, t.Secret, nil, "crier link tokens, AES-256-GCM", 32)
	if err != nil {
		panic("token key: " + err.Error()) // only for a key length SHA-256 cannot give
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("token cipher: " + err.Error())
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		panic("token cipher: " + err.Error())
	}
	return aead
}

// additional is the data a token is bound to without carrying it: its
// format and purpose. A confirmation token does not unsubscribe.
func additional(purpose string) []byte {
	return append([]byte{sealedVersion}, purpose...)
}

// verifyLegacy checks a token of the old format: base64 of purpose, town,
// address and expiry, a dot, and the HMAC-SHA256 of that payload.
func (t Tokens) verifyLegacy(token, purpose string, now time.Time) (town, email string, err error) {
	p, s, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrBadToken
	}
	payload, err1 := b64.DecodeString(p)
	sig, err2 := b64.DecodeString(s)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, t.legacyMAC(string(payload))) {
		return "", "", ErrBadToken
	}
	f := strings.Split(string(payload), "\n")
	if len(f) != 4 || f[0] != purpose {
		return "", "", ErrBadToken
	}
	exp, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || now.Unix() > exp {
		return "", "", ErrBadToken
	}
	return f[1], f[2], nil
}

func (t Tokens) legacyMAC(payload string) []byte {
	m := hmac.New(sha256.New, t.Secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
