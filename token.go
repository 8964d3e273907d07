package crier

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Tokens signs and verifies the short-lived capability tokens in
// subscriber links (unsubscribe, confirm). A token carries its purpose, the
// town, the address and an expiry, signed with HMAC-SHA256.
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

// Sign returns a URL-safe token.
func (t Tokens) Sign(purpose, town, email string, expires time.Time) string {
	payload := purpose + "\n" + town + "\n" + email + "\n" + strconv.FormatInt(expires.Unix(), 10)
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(t.mac(payload))
}

// Verify checks a token for purpose at now and returns its town and address.
func (t Tokens) Verify(token, purpose string, now time.Time) (town, email string, err error) {
	p, s, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrBadToken
	}
	payload, err1 := b64.DecodeString(p)
	sig, err2 := b64.DecodeString(s)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, t.mac(string(payload))) {
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

func (t Tokens) mac(payload string) []byte {
	m := hmac.New(sha256.New, t.Secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
