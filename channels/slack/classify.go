package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/crierhq/crier"
)

// maxRetryAfter caps the delay Slack can ask for.
const maxRetryAfter = crier.MaxRetryAfter

// call records what became of one HTTP request: whether it was written,
// and the answer's status and header. slack-go keeps neither.
type call struct {
	mu     sync.Mutex
	wrote  bool
	status int
	header http.Header
}

type callKey struct{}

// withCall returns a context that makes doer record the request made with
// it in the returned call.
func withCall(ctx context.Context) (context.Context, *call) {
	cl := &call{}
	return context.WithValue(ctx, callKey{}, cl), cl
}

func (cl *call) result() (wrote bool, status int, header http.Header) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.wrote, cl.status, cl.header
}

// doer is the HTTP client handed to slack-go. It sends through the
// channel's client and records the request in the context's call.
type doer struct{ client *http.Client }

// Do sends req.
func (d doer) Do(req *http.Request) (*http.Response, error) {
	cl, _ := req.Context().Value(callKey{}).(*call)
	if cl == nil {
		return d.client.Do(req)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				cl.mu.Lock()
				cl.wrote = true
				cl.mu.Unlock()
			}
		},
	}))
	resp, err := d.client.Do(req)
	if resp != nil {
		cl.mu.Lock()
		cl.status, cl.header = resp.StatusCode, resp.Header
		cl.mu.Unlock()
	}
	return resp, err
}

// classify turns slack-go's error for a call into a crier error. what
// names the call ("post to slack #krisenstab"). repeatable says whether
// repeating the call is harmless (chat.update, chat.delete), which makes
// unknown outcomes retryable.
//
// slack-go v0.35.0 reports, for a call that got an answer: a
// *RateLimitedError for HTTP 429 with a Retry-After in seconds; the
// strconv error for 429 with any other Retry-After; a StatusCodeError for
// any other status but 200; a SlackErrorResponse for {"ok":false,
// "error":code}; and the JSON decoder's error for a body it cannot read.
// For a call that got no answer it returns the HTTP client's error.
func (c *Channel) classify(what string, err error, cl *call, repeatable bool) error {
	wrote, status, header := cl.result()
	var (
		rl *slackapi.RateLimitedError
		se slackapi.SlackErrorResponse
	)
	switch {
	case errors.As(err, &rl):
		return crier.Transient(fmt.Errorf("%s: slack answered 429 Too Many Requests", what), min(max(rl.RetryAfter, 0), maxRetryAfter))
	case errors.As(err, &se):
		return c.classifyCode(what, se, header, repeatable)
	case status != 0 && status != http.StatusOK:
		err := fmt.Errorf("%s: slack answered %d %s", what, status, http.StatusText(status))
		if status == http.StatusTooManyRequests || status >= 500 {
			return crier.Transient(err, retryAfter(header.Get("Retry-After"), c.clock.Now()))
		}
		return crier.Permanent(err)
	}
	err = fmt.Errorf("%s: %w", what, err)
	if !wrote {
		return crier.Transient(err, 0)
	}
	// Written, and no answer or one that cannot be read: Slack may have
	// acted on it.
	return crier.Unknown(err, repeatable)
}

// classifyCode classifies Slack's {"ok":false,"error":code} answer.
func (c *Channel) classifyCode(what string, se slackapi.SlackErrorResponse, header http.Header, repeatable bool) error {
	code := se.Err
	hint := hints[code]
	if code == "missing_scope" && se.Needed != "" {
		hint = "the token needs the " + se.Needed + " scope"
	}
	if hint != "" {
		hint = " (" + hint + ")"
	}
	err := fmt.Errorf("%s: slack answered %w%s", what, se, hint)
	switch code {
	case "ratelimited", "rate_limited", "service_unavailable", "request_timeout":
		return crier.Transient(err, retryAfter(header.Get("Retry-After"), c.clock.Now()))
	case "internal_error", "fatal_error":
		// Slack documents that part of the operation may have succeeded.
		return crier.Unknown(err, repeatable)
	}
	return crier.Permanent(err)
}

// hints explain Slack's most common refusals to the operator.
var hints = map[string]string{
	"not_authed":          "no token was sent",
	"invalid_auth":        "the token is not valid",
	"token_revoked":       "the token was revoked; create a new one",
	"token_expired":       "the token expired; create a new one",
	"account_inactive":    "the token's account or app was deactivated",
	"channel_not_found":   "check the channel's name, and invite the bot if the channel is private",
	"not_in_channel":      "invite the bot to the channel",
	"is_archived":         "the channel is archived",
	"msg_too_long":        "the text is too long",
	"invalid_blocks":      "the blocks break one of Slack's limits",
	"no_text":             "the message is empty",
	"restricted_action":   "the workspace does not allow the bot to post there",
	"message_not_found":   "the message is gone",
	"cant_update_message": "the message was not posted with this token",
	"cant_delete_message": "the message was not posted with this token",
}

// paceError classifies a failed wait for a post's turn: nothing was sent,
// and nothing failed: crier's own pacing held the post back
// (crier.Deferred), so that it waits for its turn on the same endpoint.
func paceError(what string, err error) error {
	var wait *turnError
	if errors.As(err, &wait) {
		return crier.Deferred(fmt.Errorf("%s: %w", what, err), wait.after)
	}
	return crier.Deferred(fmt.Errorf("%s: wait for the channel's pace: %w", what, err), 0)
}

// retryAfter reads a Retry-After header value; see crier.ParseRetryAfter.
func retryAfter(v string, now time.Time) time.Duration { return crier.ParseRetryAfter(v, now) }

// stripURL drops the URL that net/http puts into its errors: a webhook's
// URL is a secret, and error texts end up in the delivery history shown
// to people.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
