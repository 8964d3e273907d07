package mastodon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/mattn/go-mastodon"

	"github.com/crierhq/crier"
)

// keyWindow is how long after a delivery's first attempt a post whose
// outcome is unknown may still be repeated with the same Idempotency-Key.
// Mastodon keeps a key for an hour after the status was created, which
// cannot have been before the first attempt; the rest of the hour is a
// margin for the retry's own delay.
const keyWindow = 55 * time.Minute

// refusal is an answer other than 2xx or 429, with the instance's own words
// from its {"error": "..."} body.
type refusal struct {
	status int
	text   string
	err    error // go-mastodon's error
}

func (r *refusal) Error() string {
	s := fmt.Sprintf("%d %s", r.status, http.StatusText(r.status))
	if r.text != "" && !strings.EqualFold(r.text, http.StatusText(r.status)) {
		s += ": " + r.text
	}
	return s
}

func (r *refusal) Unwrap() error { return r.err }

// classify turns the error of an API call into a transient, permanent or
// unknown outcome. It relies on what the transport saw rather than on
// go-mastodon's error texts: a *rateLimited error is a 429; an answer's
// status code is in c; no status code means no answer arrived, and then
// whether the request had been written decides between transient and
// unknown. retryable says whether an unknown outcome may be retried.
func (ch *Channel) classify(op string, c *call, err error, retryable bool) error {
	var rl *rateLimited
	if errors.As(err, &rl) {
		return crier.Transient(fmt.Errorf("%s: %w", op, rl), rl.wait)
	}
	status, header := c.answer()
	if status == 0 {
		err = fmt.Errorf("%s: %w", op, stripURL(err))
		if c.wrote.Load() {
			return crier.Unknown(err, retryable)
		}
		return crier.Transient(err, 0)
	}
	if status >= 200 && status < 300 {
		// The instance carried the request out, but its answer was lost on
		// the way or could not be read.
		return crier.Unknown(fmt.Errorf("%s: reading the answer (%d %s): %w", op, status, http.StatusText(status), stripURL(err)), retryable)
	}
	r := &refusal{status: status, err: err}
	var ae *mastodon.APIError
	if errors.As(err, &ae) {
		r.text = excerpt(ae.Message)
	}
	e := fmt.Errorf("%s: %w", op, r)
	switch {
	case status == http.StatusTooManyRequests: // the transport turns these into *rateLimited; in case one slips through
		return crier.Transient(e, rateLimitWait(header, ch.clock.Now()))
	case status >= 500 || status == http.StatusRequestTimeout:
		return crier.Transient(e, retryAfter(header.Get("Retry-After"), ch.clock.Now()))
	}
	return crier.Permanent(e)
}

// mayRepeat reports whether a status post of m whose outcome is unknown
// may be repeated: only while the instance still knows its Idempotency-Key.
// A message without a first attempt's time may not. The same rule decides
// whether a delivery with an earlier unknown outcome (m.Ambiguous) may be
// sent at all.
func (ch *Channel) mayRepeat(m *crier.Message) bool {
	return !m.FirstAttempt.IsZero() && ch.clock.Now().Sub(m.FirstAttempt) < keyWindow
}

// serverText returns the "error" of a Mastodon error body, or an excerpt of
// any other body.
func serverText(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return excerpt(e.Error)
	}
	return excerpt(string(b))
}

// excerpt makes a text fit for an error message: valid UTF-8, one line,
// control characters replaced, bounded.
func excerpt(s string) string {
	if len(s) > excerptSize {
		s = s[:excerptSize]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// stripURL drops the URL that net/http puts into its errors, keeping error
// texts short; the URL names the instance, which the operation already does.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
