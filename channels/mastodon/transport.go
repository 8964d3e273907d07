package mastodon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier"
)

// Limits on reading answers.
const (
	// excerptSize bounds how much of a refusal's body is kept in the error.
	excerptSize = 512
	// drainSize bounds how much of a body is read so that the connection
	// can be reused.
	drainSize = 64 << 10
)

// call follows one API request through the transport: what to add to it,
// whether it was written, and what the instance answered.
type call struct {
	kind kind
	// key is sent as Idempotency-Key when the request is a POST.
	key   string
	wrote atomic.Bool

	mu     sync.Mutex
	status int // 0 until an answer's header arrived
	header http.Header
}

// answer returns the status code and header of the instance's answer, or
// 0 and nil when none arrived.
func (c *call) answer() (int, http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.header
}

func (c *call) answered(resp *http.Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status, c.header = resp.StatusCode, resp.Header
}

type callKey struct{}

// withCall returns a context that carries c to the transport and records
// in c when the request has been written.
func withCall(ctx context.Context, c *call) context.Context {
	ctx = context.WithValue(ctx, callKey{}, c)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				c.wrote.Store(true)
			}
		},
	})
}

// transport is the http.RoundTripper between go-mastodon and the network.
// It adds the Idempotency-Key header, which go-mastodon has no way to set;
// it feeds the X-RateLimit headers of every answer to the account's limits;
// and it turns a 429 answer into a *rateLimited error, so that go-mastodon
// never sees the status code and never enters its own retry loop, which
// sleeps and repeats the request for hours unless the context ends.
type transport struct {
	base   http.RoundTripper
	clock  crier.Clock
	limits *limits
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, _ := req.Context().Value(callKey{}).(*call)
	if c == nil {
		c = &call{kind: request}
	}
	if c.key != "" && req.Method == http.MethodPost {
		req = req.Clone(req.Context()) // a RoundTripper must not change its request
		req.Header.Set("Idempotency-Key", c.key)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c.answered(resp)
	now := t.clock.Now()
	t.limits.observe(c.kind, resp.Header, now)
	if resp.StatusCode != http.StatusTooManyRequests {
		return resp, nil
	}
	wait := rateLimitWait(resp.Header, now)
	t.limits.hold(c.kind, now.Add(wait))
	b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptSize))
	closeBody(resp.Body)
	return nil, &rateLimited{wait: wait, text: serverText(b)}
}

// rateLimited is a 429 answer.
type rateLimited struct {
	wait time.Duration
	text string
}

func (e *rateLimited) Error() string {
	s := "429 Too Many Requests"
	if e.text != "" && !strings.EqualFold(e.text, http.StatusText(http.StatusTooManyRequests)) {
		s += ": " + e.text
	}
	if e.wait > 0 {
		s += fmt.Sprintf(" (retry in %v)", e.wait)
	}
	return s
}

// closeBody drains a bounded amount so the connection can be reused, then
// closes the body.
func closeBody(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, drainSize)
	_ = b.Close()
}
