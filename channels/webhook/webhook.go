// Package webhook delivers messages as signed HTTP POST requests following
// the Standard Webhooks specification (standardwebhooks.com): every request
// carries webhook-id (the message's idempotency key), webhook-timestamp and
// an HMAC-SHA256 webhook-signature, so that receivers can authenticate it,
// reject replays and drop repeats.
//
// Because receivers deduplicate on webhook-id, a send whose request was
// written but never answered is an unknown outcome that may be retried.
// Receivers verify requests with Verify.
//
// A webhook cannot be tested without posting to it. With Options.ProbeURL,
// Probe asks that URL instead, without a signature, to show that the
// receiver can be reached.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// Defaults.
const (
	DefaultTimeout = 15 * time.Second
	// excerptSize bounds how much of a refusal's body is kept in the error.
	excerptSize = 512
	// drainSize bounds how much of a response body is read so that the
	// connection can be reused; a longer body closes the connection instead.
	drainSize = 64 << 10
)

// Options configure a Channel.
type Options struct {
	// URL is the receiver's absolute http or https URL. Required.
	URL string
	// Secret is the shared signing secret, "whsec_" followed by the base64
	// key. Required.
	Secret string
	// ProbeURL is an absolute http or https URL of the receiver that
	// answers HEAD or GET, such as its health check, for Probe. Optional:
	// without it Probe returns crier.ErrNoProbe. Like URL, it may carry a
	// token and never appears in errors or logs.
	ProbeURL string
	// Client sends the requests; it carries the endpoint's network.
	// Default: a client with connect and TLS handshake timeouts. Redirects
	// are never followed, whatever the client says: a signed POST is not
	// repeated to another address.
	Client *http.Client
	// Timeout bounds one send, in addition to the context's deadline.
	// Default DefaultTimeout.
	Timeout time.Duration
	// Clock supplies the signature timestamp and the reference for
	// Retry-After dates. Default crier.SystemClock.
	Clock crier.Clock
	// Logger receives warnings; default: discard.
	Logger *slog.Logger
	// Name labels the endpoint in receipts and logs; default: the URL's host.
	Name string
}

// Channel sends messages to one webhook receiver. It is safe for
// concurrent use.
type Channel struct {
	url      string
	probeURL string
	key      []byte
	client   *http.Client
	owned    bool // the client was built here and may be closed here
	timeout  time.Duration
	clock    crier.Clock
	log      *slog.Logger
	name     string
}

var (
	_ crier.Channel = (*Channel)(nil)
	_ crier.Checker = (*Channel)(nil)
	_ crier.Closer  = (*Channel)(nil)
	_ crier.Prober  = (*Channel)(nil)
)

// New returns a channel for the receiver described by o. It returns an
// error naming the problem when the URL or a probe URL that is set is not
// an absolute http or https URL, or the secret is missing or malformed.
// The errors never contain the URLs.
func New(o Options) (*Channel, error) {
	if o.URL == "" {
		return nil, errors.New("webhook: url is missing")
	}
	u, err := parseURL("url", o.URL)
	if err != nil {
		return nil, err
	}
	if o.ProbeURL != "" {
		if _, err := parseURL("probe url", o.ProbeURL); err != nil {
			return nil, err
		}
	}
	key, err := parseSecret(o.Secret)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	c := &Channel{
		url:      o.URL,
		probeURL: o.ProbeURL,
		key:      key,
		timeout:  o.Timeout,
		clock:    o.Clock,
		log:      o.Logger,
		name:     o.Name,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.clock == nil {
		c.clock = crier.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.name == "" {
		c.name = u.Host
	}
	if o.Client != nil {
		cl := *o.Client
		c.client = &cl
	} else {
		c.client, c.owned = netpath.DefaultNetwork().HTTPClient(c.timeout), true
	}
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// parseURL checks that raw, the option named field, is an absolute http or
// https URL.
func parseURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("webhook: %s is malformed", field)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("webhook: %s scheme is %q, want http or https", field, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("webhook: %s has no host", field)
	}
	return u, nil
}

// Close releases idle connections of the default client.
func (c *Channel) Close() error {
	if c.owned {
		c.client.CloseIdleConnections()
	}
	return nil
}

// Check reports a rendered payload that is not valid JSON.
func (c *Channel) Check(_ context.Context, m *crier.Message) []crier.Problem {
	return CheckMessage(m)
}

// CheckMessage reports what Check reports, without a channel: it needs no
// secret, so that an endpoint that cannot be built (an exercise without
// its secret) still has its messages checked as the real run would.
func CheckMessage(m *crier.Message) []crier.Problem {
	if len(m.Payload) > 0 && !json.Valid(m.Payload) {
		return []crier.Problem{crier.Problemf("payload", "webhook.invalid_json", "is not valid JSON")}
	}
	return nil
}

// Send posts m to the receiver, signed, with webhook-id set to m.Key.
//
// A 2xx answer returns a receipt whose RemoteID is the key. A 410 Gone
// answer fails permanently and is marked crier.Gone: the receiver says
// that this address no longer takes posts, and a chain of endpoints stops
// sending to it until a person has looked. Other 4xx
// answers except 408 and 429 fail permanently with the status and the
// start of the answer's body. 408, 429 and 5xx answers, a context done
// before the send, and network failures before the request was written
// (DNS, refused connection, TLS, timeout) are transient; RetryAfter
// carries the receiver's Retry-After. A timeout or a lost connection after
// the request was written is an unknown outcome that may be retried,
// because receivers drop repeated webhook-ids.
func (c *Channel) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("post to %s: %w", c.name, err), 0)
	}
	if err := validKey(m.Key); err != nil {
		return nil, crier.Permanent(err)
	}
	now := c.clock.Now()
	b, err := body(m, now)
	if err != nil {
		return nil, crier.Permanent(fmt.Errorf("encode payload: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b))
	if err != nil {
		return nil, crier.Permanent(fmt.Errorf("build request: %w", err))
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crier")
	req.Header.Set(HeaderID, m.Key)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sign(c.key, m.Key, ts, b))

	resp, err := c.client.Do(req)
	if err != nil {
		err = fmt.Errorf("post to %s: %w", c.name, stripURL(err))
		if wrote.Load() {
			return nil, crier.Unknown(err, true)
		}
		return nil, crier.Transient(err, 0)
	}
	defer closeBody(resp.Body)
	return c.classify(resp, m.Key)
}

// classify turns the receiver's answer into a receipt or a classified error.
func (c *Channel) classify(resp *http.Response, key string) (*crier.Receipt, error) {
	code := resp.StatusCode
	c.log.Debug("webhook answered", "endpoint", c.name, "key", key, "status", code)
	switch {
	case code >= 200 && code < 300:
		return &crier.Receipt{RemoteID: key, Endpoint: c.name}, nil
	case code == http.StatusGone:
		return nil, crier.Gone(c.refusal(resp))
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return nil, crier.Transient(c.refusal(resp), retryAfter(resp.Header.Get("Retry-After"), c.clock.Now()))
	case code >= 300 && code < 400:
		return nil, crier.Permanent(fmt.Errorf("post to %s: receiver redirected to %q; redirects are not followed", c.name, resp.Header.Get("Location")))
	}
	return nil, crier.Permanent(c.refusal(resp))
}

// refusal describes a non-2xx answer with the start of its body.
func (c *Channel) refusal(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptSize))
	if ex := excerpt(b); ex != "" {
		return fmt.Errorf("post to %s: receiver answered %s: %s", c.name, resp.Status, ex)
	}
	return fmt.Errorf("post to %s: receiver answered %s", c.name, resp.Status)
}

// excerpt makes a response body fit for an error message: valid UTF-8,
// one line, control characters replaced.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// retryAfter reads a Retry-After header value; see crier.ParseRetryAfter.
func retryAfter(v string, now time.Time) time.Duration { return crier.ParseRetryAfter(v, now) }

// validKey checks that an idempotency key can travel in a header.
func validKey(k string) error {
	if k == "" {
		return errors.New("message has no idempotency key")
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f {
			return fmt.Errorf("idempotency key %q contains characters not allowed in a header", k)
		}
	}
	return nil
}

// stripURL drops the URL that net/http puts into its errors: a receiver's
// URL may carry a token in its path or query, and error texts end up in the
// delivery history shown to people.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// closeBody drains a bounded amount so the connection can be reused, then
// closes the body.
func closeBody(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, drainSize)
	_ = b.Close()
}
