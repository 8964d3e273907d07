package mastodon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/crierhq/crier"
)

const (
	// verifyPath is the cheapest request that proves a token: it reads the
	// token's own account and changes nothing.
	verifyPath = "api/v1/accounts/verify_credentials"
	// errOutsideScopes is Mastodon's text for a valid token that lacks
	// the scope a request needs.
	errOutsideScopes = "This action is outside the authorized scopes"
)

// Probe checks, without posting, that the instance can be reached through
// the channel's client and that it accepts the channel's token: it asks
// GET /api/v1/accounts/verify_credentials with the token, one request
// bounded by ctx and the channel's timeout. The public instance document
// would only show that the instance answers; this one request shows that
// and the token at once.
//
// A probe that passes then learns the instance's rules for a status from
// GET /api/v2/instance (public, without the token, bounded likewise) when
// none are known or those known are an hour old, and keeps them in the
// channel's Instances for Check and the sends. A failed fetch keeps what
// is known, does not fail the probe, and is tried again five minutes
// later.
//
// That request counts against the account's budget of 300 requests per 5
// minutes, which the channel keeps (a probe every 30 seconds takes 10 of
// them), but not against the status budget. When the request budget is
// used up, or the instance has said it refuses the account's requests
// until some time, Probe fails as transient with RetryAfter set, without
// a request.
//
// The token needs the write:statuses scope only, and Mastodon answers such
// a token 403 "This action is outside the authorized scopes" here. Mastodon
// checks the token before its scopes, so that answer still proves the
// token valid and Probe returns nil; so it does for 2xx.
//
// Errors: transient for a context done before the request, a refused
// connection, a DNS or TLS failure, a timeout, 408, 429 (RetryAfter from
// the answer) and 5xx. Permanent, with the instance's own explanation,
// for 401 (an invalid or revoked token), any other 403 (a disabled,
// unconfirmed or unapproved account) and every other answer, redirects
// included.
func (ch *Channel) Probe(ctx context.Context) error {
	op := "probe " + ch.name
	if err := ctx.Err(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", op, err), 0)
	}
	if _, err := ch.reserve(op, request); err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(ctx, ch.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(withCall(vctx, &call{kind: request}), http.MethodGet,
		ch.server.JoinPath(verifyPath).String(), nil)
	if err != nil {
		return crier.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Authorization", "Bearer "+ch.api.Config.AccessToken)
	resp, err := ch.http.Do(req)
	if err != nil {
		// Nothing was posted, so an answer that never came is transient,
		// whether or not the request was written.
		var rl *rateLimited
		if errors.As(err, &rl) {
			return crier.Transient(fmt.Errorf("%s: %w", op, rl), rl.wait)
		}
		return crier.Transient(fmt.Errorf("%s: %w", op, stripURL(err)), 0)
	}
	defer closeBody(resp.Body)
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		ch.refreshRules(ctx)
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, excerptSize))
	r := &refusal{status: status, text: serverText(b)}
	e := fmt.Errorf("%s: %w", op, r)
	now := ch.clock.Now()
	switch {
	case status == http.StatusForbidden && r.text == errOutsideScopes:
		ch.log.Debug("token is valid but may not read its account; probe passes",
			"endpoint", ch.name)
		ch.refreshRules(ctx)
		return nil
	case status == http.StatusTooManyRequests: // the transport turns these into *rateLimited; in case one slips through
		return crier.Transient(e, rateLimitWait(resp.Header, now))
	case status >= 500 || status == http.StatusRequestTimeout:
		return crier.Transient(e, retryAfter(resp.Header.Get("Retry-After"), now))
	}
	return crier.Permanent(e)
}
