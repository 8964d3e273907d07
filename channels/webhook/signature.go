package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const secretPrefix = "whsec_"

// Errors returned by Verify. Missing or malformed headers and secrets are
// reported with errors of their own.
var (
	ErrSignature = errors.New("no matching signature")
	ErrTimestamp = errors.New("timestamp outside the tolerance")
)

// parseSecret returns the signing key of a "whsec_<base64>" secret.
func parseSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("secret is missing")
	}
	enc, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("secret does not start with %q", secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// Some generators drop the padding.
		key, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		return nil, errors.New("secret is not valid base64 after the whsec_ prefix")
	}
	if len(key) == 0 {
		return nil, errors.New("secret is empty after the whsec_ prefix")
	}
	return key, nil
}

// sign returns the value of the webhook-signature header for a message:
// "v1," followed by the base64 HMAC-SHA256 of "id.timestamp.body".
func sign(key []byte, id string, timestamp int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp, body))
}

func mac(key []byte, id string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Standard Webhooks request as a receiver would: header
// carries webhook-id, webhook-timestamp and webhook-signature, body is the
// raw request body, secret is the shared "whsec_<base64>" secret.
//
// It returns nil when one of the space-separated v1 signatures matches and
// the timestamp lies within tolerance of now in either direction (a
// replayed or pre-dated request fails). It returns ErrTimestamp for a
// timestamp outside the tolerance, ErrSignature when no signature matches,
// and other errors for a malformed secret or missing or malformed headers.
// A receiver should also drop requests whose webhook-id it has seen.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := parseSecret(secret)
	if err != nil {
		return err
	}
	id := header.Get(HeaderID)
	ts := header.Get(HeaderTimestamp)
	sigs := header.Get(HeaderSignature)
	switch {
	case id == "":
		return fmt.Errorf("missing %s header", HeaderID)
	case ts == "":
		return fmt.Errorf("missing %s header", HeaderTimestamp)
	case sigs == "":
		return fmt.Errorf("missing %s header", HeaderSignature)
	}
	timestamp, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("malformed %s header", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(timestamp, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(key, id, timestamp, body)
	for _, s := range strings.Fields(sigs) {
		version, enc, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
