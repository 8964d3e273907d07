package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	slackapi "github.com/slack-go/slack"

	"github.com/crierhq/crier"
)

// Bounds on reading a webhook's answer.
const (
	excerptSize = 256
	drainSize   = 64 << 10
)

// postWebhook posts ct to the incoming webhook.
//
// It does not use slack-go's PostWebhookCustomHTTPContext: that drops the
// error code of Slack's answer (invalid_payload, channel_not_found, ...)
// and puts the webhook's URL, a secret, into its errors.
func (c *Channel) postWebhook(ctx context.Context, ct *content, what string) (*crier.Receipt, error) {
	body, err := json.Marshal(slackapi.WebhookMessage{Text: ct.text, Blocks: &slackapi.Blocks{BlockSet: ct.blocks}})
	if err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: encode message: %w", what, err))
	}
	if err := c.pace.wait(ctx); err != nil {
		return nil, paceError(what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, cl := withCall(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.webhook, bytes.NewReader(body))
	if err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: build request: %w", what, stripURL(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crier")
	resp, err := doer{c.client}.Do(req)
	if err != nil {
		err = fmt.Errorf("%s: %w", what, stripURL(err))
		if wrote, _, _ := cl.result(); wrote {
			return nil, crier.Unknown(err, false)
		}
		return nil, crier.Transient(err, 0)
	}
	defer closeBody(resp.Body)
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		c.log.Debug("slack webhook message posted", "endpoint", c.name, "key", ct.key)
		return &crier.Receipt{Endpoint: c.name}, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptSize))
	err = fmt.Errorf("%s: slack answered %s", what, resp.Status)
	if ex := excerpt(b); ex != "" {
		err = fmt.Errorf("%s: slack answered %s: %s", what, resp.Status, ex)
	}
	switch {
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, crier.Transient(err, retryAfter(resp.Header.Get("Retry-After"), c.clock.Now()))
	case code >= 300 && code < 400:
		return nil, crier.Permanent(fmt.Errorf("%w; redirects are not followed", err))
	}
	return nil, crier.Permanent(err)
}

// excerpt makes an answer's body fit for an error message: valid UTF-8,
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

// closeBody drains a bounded amount so the connection can be reused, then
// closes the body.
func closeBody(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, drainSize)
	_ = b.Close()
}
