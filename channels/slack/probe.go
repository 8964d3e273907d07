package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// Probe checks, without posting, that Slack can be reached through the
// channel's client and accepts the bot's token: it calls auth.test, one
// request bounded by ctx and the channel's timeout and not paced like
// posts. auth.test proves the token, not the channel: that the bot may
// still post there shows only when it posts.
//
// An incoming webhook has no such call: posting is the only way to test
// one, and that sends a message. Probe returns crier.ErrNoProbe for it.
//
// Errors: transient for a context done before the call, network failures
// (DNS, refused connection, TLS, timeouts, also after the request was
// written, since nothing was posted), HTTP 429 and 5xx with Slack's
// Retry-After, and Slack's ratelimited, service_unavailable,
// request_timeout, internal_error and fatal_error; also for an answer that
// cannot be read or that names no user. Permanent for Slack's other error
// codes, named with a hint (invalid_auth, token_revoked, token_expired,
// account_inactive, not_authed, ...), and for other HTTP answers.
func (c *Channel) Probe(ctx context.Context) error {
	if c.api == nil {
		return crier.ErrNoProbe
	}
	// The call's name, not a guess at the cause: a refused connection
	// has nothing to do with the token. Slack's refusals of the token
	// carry their own hint (classifyCode).
	what := "probe " + c.name + " (auth.test)"
	if err := ctx.Err(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, cl := withCall(ctx)
	resp, err := c.api.AuthTestContext(ctx)
	if err != nil {
		err = c.classify(what, err, cl, true)
		var e *crier.Error
		if errors.As(err, &e) && e.Code == crier.EUNKNOWN {
			// An outcome is unknown only for something that may have been
			// done; auth.test does nothing.
			return crier.Transient(e.Err, 0)
		}
		return err
	}
	if resp.UserID == "" {
		// slack-go takes {"ok":false} without an error code for success.
		return crier.Transient(fmt.Errorf("%s: slack answered auth.test without naming the token's user", what), 0)
	}
	c.log.Debug("slack token works", "endpoint", c.name, "team", resp.TeamID, "user", resp.UserID)
	return nil
}

// Addr returns the host and port an incoming webhook posts to, e.g.
// "hooks.slack.com:443", so that the path to it can be checked without
// posting (it has no probe); never any part of its URL's secret path. It
// returns "" for a bot, which Probe checks with auth.test.
func (c *Channel) Addr() string {
	if c.api != nil {
		return ""
	}
	return netpath.URLAddr(c.webhook)
}
