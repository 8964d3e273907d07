package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// Defaults.
const (
	// DefaultAPIURL is the base of Slack's Web API.
	DefaultAPIURL = slackapi.APIURL
	// DefaultTimeout bounds one call to Slack.
	DefaultTimeout = 15 * time.Second
)

// Options configure a Channel: either Token and Channel (a bot) or
// WebhookURL (an incoming webhook), not both.
type Options struct {
	// Token is a bot token with the chat:write scope. It is a secret.
	Token string
	// Channel is where the bot posts: a name such as "#krisenstab" or an
	// id such as "C0123ABCDEF". The bot must be a member of it.
	Channel string
	// WebhookURL is an incoming webhook, an absolute https URL (http only
	// to a loopback address). It is a secret.
	WebhookURL string
	// APIURL is the base of the Web API; default DefaultAPIURL. Like the
	// webhook URL, it must be https unless it points to a loopback address.
	APIURL string
	// Client sends the requests; it carries the endpoint's network.
	// Default: a client with connect and TLS handshake timeouts. Redirects
	// are never followed, whatever the client says.
	Client *http.Client
	// Timeout bounds one call to Slack, in addition to the context's
	// deadline. Default DefaultTimeout.
	Timeout time.Duration
	// Clock paces the posts and dates Retry-After answers. Default
	// crier.SystemClock.
	Clock crier.Clock
	// Sleep waits for d, returning early with ctx's error when ctx is
	// done; pacing uses it. Default: a timer. Tests replace it with a
	// function that moves their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives warnings and debug records; default: discard.
	// Tokens and webhook URLs are never logged.
	Logger *slog.Logger
	// Name labels the endpoint in receipts, errors and logs; default
	// "slack <channel>" or "slack webhook".
	Name string
}

// Channel posts messages to one Slack channel. It is safe for concurrent
// use.
type Channel struct {
	api     *slackapi.Client // nil with an incoming webhook
	channel string
	webhook string // the incoming webhook's URL; a secret
	client  *http.Client
	owned   bool // the client was built here and may be closed here
	timeout time.Duration
	clock   crier.Clock
	pace    *pacer
	log     *slog.Logger
	name    string
}

var (
	_ crier.Channel = (*Channel)(nil)
	_ crier.Checker = (*Channel)(nil)
	_ crier.Editor  = (*Channel)(nil)
	_ crier.Deleter = (*Channel)(nil)
	_ crier.Replier = (*Channel)(nil)
	_ crier.Closer  = (*Channel)(nil)
	_ crier.Prober  = (*Channel)(nil)
	_ crier.Limiter = (*Channel)(nil)
)

// errWebhook refuses what an incoming webhook cannot do.
var errWebhook = errors.New("not possible with an incoming webhook")

// New returns a channel for the bot or webhook described by o. It returns
// an error naming the problem when neither or both forms are given, when
// the bot's token or channel is missing, or when a URL is not an absolute
// https URL. The error never contains the token or the webhook URL.
func New(o Options) (*Channel, error) {
	bot := o.Token != "" || o.Channel != ""
	switch {
	case bot && o.WebhookURL != "":
		return nil, errors.New("slack: set either token and channel (a bot) or webhook url (an incoming webhook), not both")
	case !bot && o.WebhookURL == "":
		return nil, errors.New("slack: set token and channel (a bot) or webhook url (an incoming webhook)")
	case bot && o.Token == "":
		return nil, errors.New("slack: token is missing")
	case bot && o.Channel == "":
		return nil, errors.New("slack: channel is missing")
	case !bot && o.APIURL != "":
		return nil, errors.New("slack: api url goes with a token, not with a webhook url")
	}
	c := &Channel{
		channel: o.Channel,
		webhook: o.WebhookURL,
		timeout: o.Timeout,
		clock:   o.Clock,
		log:     o.Logger,
		name:    o.Name,
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
	sleep := o.Sleep
	if sleep == nil {
		sleep = sleepTimer
	}
	c.pace = &pacer{clock: c.clock, sleep: sleep}
	if o.Client != nil {
		cl := *o.Client
		c.client = &cl
	} else {
		c.client, c.owned = netpath.DefaultNetwork().HTTPClient(c.timeout), true
	}
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	if !bot {
		if err := checkURL(o.WebhookURL); err != nil {
			return nil, fmt.Errorf("slack: webhook url %w", err)
		}
		if c.name == "" {
			c.name = "slack webhook"
		}
		return c, nil
	}
	api := o.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	if err := checkURL(api); err != nil {
		return nil, fmt.Errorf("slack: api url %w", err)
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	if c.name == "" {
		c.name = "slack " + o.Channel
	}
	// No slackapi.OptionRetry: crier's queue retries, honouring the
	// context; the library must answer once per call.
	c.api = slackapi.New(o.Token, slackapi.OptionAPIURL(api), slackapi.OptionHTTPClient(doer{c.client}))
	return c, nil
}

// checkURL accepts an absolute https URL, or an http URL to a loopback
// address. Its errors do not repeat the URL, which may be a secret.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is malformed")
	case u.Host == "":
		return errors.New("is not an absolute URL")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return errors.New("must be an https URL")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close releases idle connections of the default client.
func (c *Channel) Close() error {
	if c.owned {
		c.client.CloseIdleConnections()
	}
	return nil
}

// Check reports a message that Slack would refuse: no subject and no text,
// or a text longer than a section allows once escaped (Field "text").
// Subjects longer than a header allows are cut, not refused.
func (c *Channel) Check(_ context.Context, m *crier.Message) []crier.Problem {
	return CheckMessage(m)
}

// CheckMessage reports what Check reports, without a channel: it needs no
// token, so that an endpoint that cannot be built (an exercise without
// one) still has its messages checked as the real run would.
func CheckMessage(m *crier.Message) []crier.Problem {
	_, problems := render(m)
	return problems
}

// Send posts m and returns a receipt. With a bot token its RemoteID is
// "<channel id>/<ts>", which Edit, Delete and Reply take; with a webhook it
// is empty.
//
// A message that Check refuses fails permanently without a request. A
// context done before the post, a post that would have to wait more than
// a second for its turn (see the package doc), network failures before
// the request was written (DNS, refused connection, TLS, timeout), HTTP
// 429 and 5xx answers and Slack's ratelimited, service_unavailable and
// request_timeout errors are transient; RetryAfter carries Slack's
// Retry-After. Slack's other errors (invalid_auth, channel_not_found,
// not_in_channel, is_archived, ...) and other HTTP answers fail
// permanently and name Slack's error code. A timeout or a lost connection
// after the request was written, an answer that cannot be read, and
// Slack's internal_error and fatal_error are unknown outcomes that are not
// retryable: Slack does not deduplicate.
func (c *Channel) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	what := "post to " + c.name
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	ct, err := c.content(m, what)
	if err != nil {
		return nil, err
	}
	if c.api == nil {
		return c.postWebhook(ctx, ct, what)
	}
	return c.post(ctx, ct, c.channel, "", what)
}

// Reply posts m in the thread of the message remoteID names, so that a
// correction appears under the original. When the original is gone, Slack
// posts the reply outside any thread; Reply logs a warning then. Errors are
// classified as for Send; with a webhook Reply fails permanently without a
// request.
func (c *Channel) Reply(ctx context.Context, remoteID string, m *crier.Message) (*crier.Receipt, error) {
	what := "reply to " + remoteID + " on " + c.name
	if c.api == nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", what, errWebhook))
	}
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	channel, ts, err := parseRemoteID(remoteID)
	if err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	ct, err := c.content(m, what)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, ct, channel, ts, what)
}

// post calls chat.postMessage, in the thread of threadTS when it is set.
func (c *Channel) post(ctx context.Context, ct *content, channel, threadTS, what string) (*crier.Receipt, error) {
	if err := c.pace.wait(ctx); err != nil {
		return nil, paceError(what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, cl := withCall(ctx)
	opts := ct.options()
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	ch, ts, msg, err := c.api.PostMessageWithResponseContext(ctx, channel, opts...)
	if err != nil {
		return nil, c.classify(what, err, cl, false)
	}
	if ch == "" || ts == "" {
		// Slack's answer said neither ok nor which error: slack-go
		// reports {"ok":false} without an error code as success.
		return nil, crier.Unknown(fmt.Errorf("%s: slack answered without a message timestamp", what), false)
	}
	if threadTS != "" && msg.ThreadTimestamp == "" {
		c.log.Warn("slack posted the reply outside the thread; the original message is gone",
			"endpoint", c.name, "channel", ch, "ts", ts, "original", threadTS)
	}
	c.log.Debug("slack message posted", "endpoint", c.name, "key", ct.key, "channel", ch, "ts", ts)
	return &crier.Receipt{RemoteID: ch + "/" + ts, Endpoint: c.name}, nil
}

// Edit replaces the text and blocks of the message remoteID names with m's
// (chat.update) and returns a receipt with the same RemoteID. Errors are
// classified as for Send, except that Slack's message_not_found and
// cant_update_message fail permanently and that an unknown outcome is
// retryable: a repeated update changes nothing. With a webhook Edit fails
// permanently without a request.
func (c *Channel) Edit(ctx context.Context, remoteID string, m *crier.Message) (*crier.Receipt, error) {
	what := "update " + remoteID + " on " + c.name
	if c.api == nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", what, errWebhook))
	}
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	channel, ts, err := parseRemoteID(remoteID)
	if err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	ct, err := c.content(m, what)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, cl := withCall(ctx)
	ch, newTS, _, err := c.api.UpdateMessageContext(ctx, channel, ts, ct.options()...)
	if err != nil {
		return nil, c.classify(what, err, cl, true)
	}
	if ch == "" || newTS == "" {
		ch, newTS = channel, ts
	}
	return &crier.Receipt{RemoteID: ch + "/" + newTS, Endpoint: c.name}, nil
}

// Delete withdraws the message remoteID names (chat.delete). A message
// that is already gone (message_not_found) counts as deleted. Errors are
// classified as for Edit; with a webhook Delete fails permanently without
// a request.
func (c *Channel) Delete(ctx context.Context, remoteID string) error {
	what := "delete " + remoteID + " on " + c.name
	if c.api == nil {
		return crier.Permanent(fmt.Errorf("%s: %w", what, errWebhook))
	}
	if err := ctx.Err(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", what, err), 0)
	}
	channel, ts, err := parseRemoteID(remoteID)
	if err != nil {
		return crier.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ctx, cl := withCall(ctx)
	_, _, err = c.api.DeleteMessageContext(ctx, channel, ts)
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "message_not_found" {
		c.log.Debug("slack message already gone", "endpoint", c.name, "channel", channel, "ts", ts)
		return nil
	}
	if err != nil {
		return c.classify(what, err, cl, true)
	}
	return nil
}

// parseRemoteID splits a receipt's RemoteID into channel id and timestamp.
func parseRemoteID(id string) (channel, ts string, err error) {
	channel, ts, ok := strings.Cut(id, "/")
	if !ok || channel == "" || ts == "" || strings.Contains(ts, "/") {
		return "", "", fmt.Errorf("remote id %q is not <channel id>/<ts>", id)
	}
	return channel, ts, nil
}
