package crier_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
)

var (
	tokenNow    = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tokenSecret = []byte("0123456789abcdef0123456789abcdef")
)

const tokenAddr = "anna.beispiel@buerger.example"

func TestTokenRoundTrip(t *testing.T) {
	tokens := crier.Tokens{Secret: tokenSecret}
	for _, purpose := range []string{crier.PurposeUnsubscribe, crier.PurposeConfirm} {
		tok := tokens.Sign(purpose, "bad-sassendorf", tokenAddr, tokenNow.Add(time.Hour))
		town, email, err := tokens.Verify(tok, purpose, tokenNow.Add(time.Hour))
		got := []string{town, email}
		if err != nil || !cmp.Equal(got, []string{"bad-sassendorf", tokenAddr}) {
			t.Errorf("%s: Verify = %q, %v", purpose, got, err)
		}
	}
}

// TestTokenHidesAddress checks that a link's token says nothing of whom
// it is for: neither the address nor the town is in its text, in the
// clear or in base64 at any alignment, and the text is URL-safe and short.
func TestTokenHidesAddress(t *testing.T) {
	tokens := crier.Tokens{Secret: tokenSecret}
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for _, purpose := range []string{crier.PurposeUnsubscribe, crier.PurposeConfirm} {
		tok := tokens.Sign(purpose, "soest", tokenAddr, tokenNow.Add(400*24*time.Hour))
		if !urlSafe.MatchString(tok) || len(tok) > 100 {
			t.Errorf("%s token %q: want at most 100 characters of base64url", purpose, tok)
		}
		for _, secret := range []string{tokenAddr, "anna.beispiel", "buerger.example", "soest"} {
			for _, shown := range base64Forms(secret) {
				if strings.Contains(tok, shown) {
					t.Errorf("%s token %q shows %q as %q", purpose, tok, secret, shown)
				}
			}
		}
	}
}

// base64Forms returns s and the parts of its base64 encodings (standard
// and URL alphabet) that any encoding of a text containing s contains,
// whatever the offset of s in that text.
func base64Forms(s string) []string {
	forms := []string{s}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for pad := range 3 {
			e := enc.EncodeToString([]byte(strings.Repeat("\x00", pad) + s))
			// Only the characters whose six bits all come from s: the
			// first may mix in what comes before s, the last what
			// comes after it.
			bits := 8 * (pad + len(s))
			forms = append(forms, e[(8*pad+5)/6:bits/6])
		}
	}
	return forms
}

func TestTokenRefused(t *testing.T) {
	tokens := crier.Tokens{Secret: tokenSecret}
	valid := tokens.Sign(crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow.Add(time.Hour))
	raw, err := base64.RawURLEncoding.DecodeString(valid)
	if err != nil {
		t.Fatal(err)
	}
	flipped := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for name, tok := range map[string]string{
		"empty":          "",
		"expired":        tokens.Sign(crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow.Add(-time.Second)),
		"other purpose":  tokens.Sign(crier.PurposeConfirm, "soest", tokenAddr, tokenNow.Add(time.Hour)),
		"other secret":   crier.Tokens{Secret: []byte("another secret, another instance")}.Sign(crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow.Add(time.Hour)),
		"version":        flipped(0),
		"nonce":          flipped(5),
		"ciphertext":     flipped(20),
		"tag":            flipped(len(raw) - 1),
		"truncated":      valid[:len(valid)-4],
		"extended":       valid + "AAAA",
		"not base64":     valid[:10] + "!" + valid[11:],
		"long":           strings.Repeat("A", 4096),
		"legacy confirm": legacyToken(tokenSecret, crier.PurposeConfirm, "soest", tokenAddr, tokenNow.Add(time.Hour)),
		"legacy forged":  legacyToken([]byte("another secret, another instance"), crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow.Add(time.Hour)),
		"legacy expired": legacyToken(tokenSecret, crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow.Add(-time.Second)),
		"legacy spliced": spliced(
			legacyToken(tokenSecret, crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow.Add(time.Hour)),
			legacyToken(tokenSecret, crier.PurposeUnsubscribe, "werl", tokenAddr, tokenNow.Add(time.Hour))),
	} {
		town, email, err := tokens.Verify(tok, crier.PurposeUnsubscribe, tokenNow)
		if err != crier.ErrBadToken || town != "" || email != "" {
			t.Errorf("%s: Verify = %q, %q, %v; want %v", name, town, email, err, crier.ErrBadToken)
		}
	}
}

// TestTokenLegacyUnsubscribe checks that unsubscribe links mailed before
// tokens were sealed still unsubscribe until they expire.
func TestTokenLegacyUnsubscribe(t *testing.T) {
	tokens := crier.Tokens{Secret: tokenSecret}
	expires := tokenNow.Add(400 * 24 * time.Hour)
	tok := legacyToken(tokenSecret, crier.PurposeUnsubscribe, "soest", tokenAddr, expires)
	town, email, err := tokens.Verify(tok, crier.PurposeUnsubscribe, expires)
	if got := []string{town, email}; err != nil || !cmp.Equal(got, []string{"soest", tokenAddr}) {
		t.Errorf("Verify = %q, %v", got, err)
	}
	if _, _, err := tokens.Verify(tok, crier.PurposeUnsubscribe, expires.Add(time.Second)); err != crier.ErrBadToken {
		t.Errorf("a second after expiry: %v, want %v", err, crier.ErrBadToken)
	}
}

// spliced is the payload of legacy token a with the signature of b.
func spliced(a, b string) string {
	payload, _, _ := strings.Cut(a, ".")
	_, sig, _ := strings.Cut(b, ".")
	return payload + "." + sig
}

func TestTokensDiffer(t *testing.T) {
	tokens := crier.Tokens{Secret: tokenSecret}
	a := tokens.Sign(crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow)
	b := tokens.Sign(crier.PurposeUnsubscribe, "soest", tokenAddr, tokenNow)
	if a == b {
		t.Errorf("two tokens for one subscriber are the same: %s", a)
	}
}

// legacyToken is a token as crier mailed them before they were sealed:
// base64 of purpose, town, address and expiry, a dot, and their
// HMAC-SHA256.
func legacyToken(secret []byte, purpose, town, email string, expires time.Time) string {
	payload := purpose + "\n" + town + "\n" + email + "\n" + strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	b64 := base64.RawURLEncoding
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(m.Sum(nil))
}
