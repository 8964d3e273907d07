package webhook

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// Probe checks that the receiver can be reached through the channel's
// client, without posting: it asks Options.ProbeURL with HEAD, and with
// GET when the receiver answers HEAD with 405 Method Not Allowed. The
// requests carry no signature and no webhook headers, and are bounded by
// ctx and the channel's timeout together.
//
// Any answer below 500 other than 408 and 429 passes: the receiver is up
// and speaking HTTP, which is all an unsigned request can show. So 401 and
// 403 pass (a receiver may refuse unsigned requests), and so do 404, 410
// and redirects, which are not followed: the probe does not say that the
// receiver will take a post.
//
// Errors: crier.ErrNoProbe without a ProbeURL. Transient for a
// context done before the probe, network failures (DNS, refused
// connection, TLS, timeouts, a lost connection), 408, 429 and 5xx, with
// the receiver's Retry-After.
func (c *Channel) Probe(ctx context.Context) error {
	if c.probeURL == "" {
		return crier.ErrNoProbe
	}
	what := "probe " + c.name
	if err := ctx.Err(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.ask(ctx, http.MethodHead)
	if err == nil && resp.StatusCode == http.StatusMethodNotAllowed {
		closeBody(resp.Body)
		resp, err = c.ask(ctx, http.MethodGet)
	}
	if err != nil {
		// Nothing was posted: no answer is transient, written or not.
		return crier.Transient(fmt.Errorf("%s: %w", what, stripURL(err)), 0)
	}
	defer closeBody(resp.Body)
	code := resp.StatusCode
	if code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptSize))
		err := fmt.Errorf("%s: receiver answered %s %s", what, resp.Request.Method, resp.Status)
		if ex := excerpt(b); ex != "" {
			err = fmt.Errorf("%w: %s", err, ex)
		}
		return crier.Transient(err, retryAfter(resp.Header.Get("Retry-After"), c.clock.Now()))
	}
	c.log.Debug("webhook receiver answered the probe", "endpoint", c.name, "method", resp.Request.Method, "status", code)
	return nil
}

// ask sends one unsigned probe request.
func (c *Channel) ask(ctx context.Context, method string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.probeURL, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", stripURL(err))
	}
	req.Header.Set("User-Agent", "crier")
	return c.client.Do(req)
}

// Addr returns the host and port that sends connect to, e.g.
// "radio.example:443", so that the path to a receiver without a ProbeURL
// can be checked without posting. It never holds the URL's path or query,
// which may carry a token.
func (c *Channel) Addr() string {
	return netpath.URLAddr(c.url)
}
