package mastodon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// DefaultTimeout bounds one API call unless Options say otherwise.
const DefaultTimeout = 15 * time.Second

const userAgent = "crier"

// Visibilities of a status.
const (
	Public   = "public"
	Unlisted = "unlisted"
	Private  = "private" // followers only
	Direct   = "direct"  // mentioned accounts only
)

// Options configure a Channel.
type Options struct {
	// Server is the instance's absolute https or http URL, e.g.
	// "https://social.example". Required.
	Server string
	// Token is the account's access token. It needs the write:statuses
	// scope only. Required.
	Token string
	// Visibility of the statuses: Public (default), Unlisted, Private or
	// Direct.
	Visibility string
	// Client sends the requests; it carries the endpoint's network. The
	// channel wraps its Transport and never follows redirects. Default: a
	// client with connect and TLS handshake timeouts.
	Client *http.Client
	// Timeout bounds every API call, in addition to the context's
	// deadline. Default DefaultTimeout.
	Timeout time.Duration
	// Clock is the reference for rate limits and the age of idempotency
	// keys. Default crier.SystemClock.
	Clock crier.Clock
	// Logger receives warnings; default: discard.
	Logger *slog.Logger
	// Name labels the endpoint in receipts and logs; default: the
	// instance's host.
	Name string
	// Instances keeps what is known of the instance's rules, shared with
	// every channel on the same instance and, once loaded from a store,
	// across restarts. Default: a set of this channel's own, in memory.
	Instances *Instances
}

// Channel posts to one Mastodon account. It is safe for concurrent use.
type Channel struct {
	server     *url.URL
	host       string
	visibility string
	api        *mastodon.Client
	http       *http.Client // the client inside api, for requests go-mastodon cannot make
	owned      bool         // the client was built here and may be closed here
	timeout    time.Duration
	clock      crier.Clock
	log        *slog.Logger
	name       string
	limits     *limits
	inst       *instance
}

var (
	_ crier.Channel = (*Channel)(nil)
	_ crier.Checker = (*Channel)(nil)
	_ crier.Editor  = (*Channel)(nil)
	_ crier.Deleter = (*Channel)(nil)
	_ crier.Replier = (*Channel)(nil)
	_ crier.Closer  = (*Channel)(nil)
	_ crier.Prober  = (*Channel)(nil)
	_ crier.Noter   = (*Channel)(nil)
	_ crier.Limiter = (*Channel)(nil)
)

// New returns a channel for the account described by o. It returns an
// error naming the problem when the server URL is not an absolute http or
// https URL, the token is missing or cannot travel in a header, or the
// visibility is unknown. Errors never contain the token.
func New(o Options) (*Channel, error) {
	u, err := parseServer(o.Server)
	if err != nil {
		return nil, err
	}
	if err := validToken(o.Token); err != nil {
		return nil, fmt.Errorf("mastodon: %w", err)
	}
	vis := o.Visibility
	switch vis {
	case "":
		vis = Public
	case Public, Unlisted, Private, Direct:
	default:
		return nil, fmt.Errorf("mastodon: visibility is %q, want public, unlisted, private or direct", vis)
	}
	ch := &Channel{
		server:     u,
		host:       u.Host,
		visibility: vis,
		timeout:    o.Timeout,
		clock:      o.Clock,
		log:        o.Logger,
		name:       o.Name,
		limits:     newLimits(),
	}
	if ch.timeout <= 0 {
		ch.timeout = DefaultTimeout
	}
	if ch.clock == nil {
		ch.clock = crier.SystemClock{}
	}
	if ch.log == nil {
		ch.log = slog.New(slog.DiscardHandler)
	}
	if ch.name == "" {
		ch.name = u.Host
	}
	is := o.Instances
	if is == nil {
		is = NewInstances(ch.log)
	}
	ch.inst = is.instance(instanceKey(u))
	var hc http.Client
	if o.Client != nil {
		hc = *o.Client
	} else {
		hc, ch.owned = *netpath.DefaultNetwork().HTTPClient(ch.timeout), true
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &transport{base: base, clock: ch.clock, limits: ch.limits}
	// A redirect would carry the token to another address, or turn a post
	// into a GET.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ch.api = &mastodon.Client{
		Client:    hc,
		Config:    &mastodon.Config{Server: u.String(), AccessToken: o.Token},
		UserAgent: userAgent,
	}
	ch.http = &ch.api.Client
	return ch, nil
}

// parseServer checks an instance's URL.
func parseServer(server string) (*url.URL, error) {
	u, err := url.Parse(server)
	switch {
	case server == "":
		return nil, errors.New("mastodon: server is missing")
	case err != nil:
		return nil, errors.New("mastodon: server url is malformed")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("mastodon: server url scheme is %q, want https or http", u.Scheme)
	case u.Host == "":
		return nil, errors.New("mastodon: server url has no host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("mastodon: server url must not have user info, a query or a fragment")
	}
	return u, nil
}

// Checker checks messages against one instance's rules as a Channel's
// Check does, and gives its Notes, without an account and without a
// request: for an endpoint that cannot be built, such as one whose token
// an exercise does not have, so that lengths are still checked as the
// real run would check them.
type Checker struct {
	host string
	inst *instance
}

var (
	_ crier.Checker = (*Checker)(nil)
	_ crier.Noter   = (*Checker)(nil)
	_ crier.Limiter = (*Checker)(nil)
)

// NewChecker returns a Checker for the instance at server, sharing what
// instances (nil: a set of its own) know of it. It returns an error when
// the server URL is not an absolute http or https URL.
func NewChecker(server string, instances *Instances) (*Checker, error) {
	u, err := parseServer(server)
	if err != nil {
		return nil, err
	}
	if instances == nil {
		instances = NewInstances(nil)
	}
	return &Checker{host: u.Host, inst: instances.instance(instanceKey(u))}, nil
}

// Check reports what Channel.Check would.
func (c *Checker) Check(ctx context.Context, m *crier.Message) []crier.Problem {
	ch := &Channel{host: c.host, inst: c.inst}
	return ch.Check(ctx, m)
}

// Notes reports what Channel.Notes would.
func (c *Checker) Notes() []crier.Note {
	ch := &Channel{host: c.host, inst: c.inst}
	return ch.Notes()
}

// TextLimit reports what Channel.TextLimit would.
func (c *Checker) TextLimit() crier.Limit {
	ch := &Channel{host: c.host, inst: c.inst}
	return ch.TextLimit()
}

// Close releases idle connections of the default client.
func (ch *Channel) Close() error {
	if ch.owned {
		ch.http.CloseIdleConnections()
	}
	return nil
}

// Check reports a message Mastodon would refuse: one without text, or one
// longer, as Mastodon counts (see Length), than the instance allows. It
// never makes a request: the limit is the instance's own as a probe
// learned it (see Instances), or, while none is known,
// DefaultMaxCharacters with DefaultCharactersPerURL for each link, and
// Notes says so.
func (ch *Channel) Check(ctx context.Context, m *crier.Message) []crier.Problem {
	if p := ch.problem(m, ch.rules(), ch.knownRules() != nil); p != nil {
		return []crier.Problem{*p}
	}
	return nil
}

// TextLimit returns the limit Check counts against: the instance's
// characters per status as a probe learned them or, while none is known,
// DefaultMaxCharacters; Length counts as Length does, with the instance's
// characters per link, the content warning included. It makes no request.
func (ch *Channel) TextLimit() crier.Limit {
	r := ch.rules()
	return crier.Limit{Max: r.MaxCharacters, Length: func(m *crier.Message) int {
		return Length(m.Text, m.SpoilerText, r.CharactersPerURL)
	}}
}

// problem returns what is wrong with m under rules, if anything; known
// says whether rules are the instance's own or Mastodon's defaults.
func (ch *Channel) problem(m *crier.Message, r statusRules, known bool) *crier.Problem {
	if strings.TrimSpace(m.Text) == "" && strings.TrimSpace(m.SpoilerText) == "" {
		return new(crier.Problemf("text", "mastodon.empty", "is empty; Mastodon refuses a status without text"))
	}
	n := Length(m.Text, m.SpoilerText, r.CharactersPerURL)
	switch {
	case n <= r.MaxCharacters:
		return nil
	case known:
		return new(crier.Problemf("text", "mastodon.too_long",
			"is %v characters long as Mastodon counts them (content warning included, each link as %v); %v allows %v",
			n, r.CharactersPerURL, ch.host, r.MaxCharacters))
	}
	return new(crier.Problemf("text", "mastodon.too_long_default",
		"is %v characters long as Mastodon counts them (content warning included, each link as %v); the limit of %v is not known yet, and Mastodon's default allows %v",
		n, r.CharactersPerURL, ch.host, r.MaxCharacters))
}

// refuse returns a permanent error when m breaks the instance's rules as
// far as they are known without a request; the instance itself is the
// judge when they are not.
func (ch *Channel) refuse(op string, m *crier.Message) error {
	r := ch.knownRules()
	if r == nil {
		r = &statusRules{MaxCharacters: 1 << 30, CharactersPerURL: DefaultCharactersPerURL}
	}
	if p := ch.problem(m, *r, true); p != nil {
		return crier.Permanent(fmt.Errorf("%s: %s %s", op, p.Field, p.Message))
	}
	return nil
}

// Send posts m as a status: m.Text, with m.SpoilerText as its content
// warning, m.Sensitive, m.Language and the channel's visibility, and m.Key
// as its Idempotency-Key. It returns a receipt with the status's id and URL.
//
// Failures are classified as crier.Channel says. Transient: a context done
// before the call, a refused connection, a DNS or TLS failure or a timeout
// before the request was written, 5xx, and 429, or a rate limit the channel
// knows is used up (RetryAfter says until when; no request is made then).
// Permanent: 401, 403, 404, 422 and other 4xx answers, with the instance's
// own explanation, a message without a key, and a text the instance is
// known to refuse as too long (no request is made then). Unknown: a
// timeout or lost connection after the request was written, or an answer
// that could not be read; retryable while less than 55 minutes have passed
// since m.FirstAttempt, so that the instance still knows the key.
func (ch *Channel) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	return ch.post(ctx, "post status to "+ch.name, "", m)
}

// Reply posts m as a status answering the status remoteID, with the same
// fields, key and classification as Send. A status that no longer exists
// cannot be answered: the instance refuses with 404, a permanent failure.
func (ch *Channel) Reply(ctx context.Context, remoteID string, m *crier.Message) (*crier.Receipt, error) {
	op := fmt.Sprintf("reply to status %s on %s", remoteID, ch.name)
	if err := validID(remoteID); err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	return ch.post(ctx, op, remoteID, m)
}

func (ch *Channel) post(ctx context.Context, op, replyTo string, m *crier.Message) (*crier.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("%s: %w", op, err), 0)
	}
	if err := validKey(m.Key); err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	if err := ch.refuse(op, m); err != nil {
		return nil, err
	}
	if m.Ambiguous && !ch.mayRepeat(m) {
		// An earlier try may have posted the status, and the instance no
		// longer remembers its key: a repeat could post it twice.
		return nil, crier.Unknown(fmt.Errorf("%s: an earlier attempt may have posted it, and %s no longer remembers its Idempotency-Key", op, ch.name), false)
	}
	release, err := ch.reserve(op, status)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ch.timeout)
	defer cancel()
	c := &call{kind: status, key: m.Key}
	st, err := ch.api.PostStatus(withCall(ctx, c), &mastodon.Toot{
		Status:      m.Text,
		InReplyToID: mastodon.ID(replyTo),
		Sensitive:   m.Sensitive,
		SpoilerText: m.SpoilerText,
		Visibility:  ch.visibility,
		Language:    m.Language,
	})
	if err == nil {
		return ch.receipt(op, st, ch.mayRepeat(m))
	}
	err = ch.classify(op, c, err, ch.mayRepeat(m))
	if crier.ErrorCode(err) != crier.EUNKNOWN {
		release()
	}
	return nil, err
}

// Edit replaces the text, content warning, sensitive flag and language of
// the status remoteID with those of m (PUT /api/v1/statuses/:id). The
// instance keeps the earlier versions in the status's history. It returns
// a receipt for the edited status. Failures are classified as for Send,
// except that an unknown outcome is always retryable: repeating an edit
// changes nothing. A status that is gone, or belongs to another account,
// is refused with 404, a permanent failure.
func (ch *Channel) Edit(ctx context.Context, remoteID string, m *crier.Message) (*crier.Receipt, error) {
	op := fmt.Sprintf("edit status %s on %s", remoteID, ch.name)
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("%s: %w", op, err), 0)
	}
	if err := validID(remoteID); err != nil {
		return nil, crier.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	if err := ch.refuse(op, m); err != nil {
		return nil, err
	}
	release, err := ch.reserve(op, status)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ch.timeout)
	defer cancel()
	c := &call{kind: status}
	// go-mastodon sends sensitive and spoiler_text only when set; Mastodon
	// takes a missing one as false or empty, which is what an edit to a
	// message without them means.
	st, err := ch.api.UpdateStatus(withCall(ctx, c), &mastodon.Toot{
		Status:      m.Text,
		Sensitive:   m.Sensitive,
		SpoilerText: m.SpoilerText,
		Language:    m.Language,
	}, mastodon.ID(remoteID))
	if err == nil {
		return ch.receipt(op, st, true)
	}
	err = ch.classify(op, c, err, true)
	if crier.ErrorCode(err) != crier.EUNKNOWN {
		release()
	}
	return nil, err
}

// Delete deletes the status remoteID. A status that is already gone
// (404) counts as deleted; so does, since Mastodon cannot tell them apart,
// a status of another account. Failures are classified as for Send, except
// that an unknown outcome is always retryable: deleting twice deletes once.
func (ch *Channel) Delete(ctx context.Context, remoteID string) error {
	op := fmt.Sprintf("delete status %s on %s", remoteID, ch.name)
	if err := ctx.Err(); err != nil {
		return crier.Transient(fmt.Errorf("%s: %w", op, err), 0)
	}
	if err := validID(remoteID); err != nil {
		return crier.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	// Mastodon counts every deletion request, carried out or not, so the
	// slot is never given back.
	if _, err := ch.reserve(op, deletion); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, ch.timeout)
	defer cancel()
	c := &call{kind: deletion}
	err := ch.api.DeleteStatus(withCall(ctx, c), mastodon.ID(remoteID))
	if err == nil {
		return nil
	}
	if st, _ := c.answer(); st == http.StatusNotFound {
		ch.log.Debug("status to delete is gone already", "endpoint", ch.name, "status", remoteID)
		return nil
	}
	return ch.classify(op, c, err, true)
}

// reserve takes a slot in the account's rate limits for a request of kind
// k, or returns a crier.Deferred error saying how long to wait: crier's
// own keeping of the account's budget is no failure of the instance.
func (ch *Channel) reserve(op string, k kind) (release func(), err error) {
	release, wait, why := ch.limits.reserve(k, ch.clock.Now())
	if wait > 0 {
		return nil, crier.Deferred(fmt.Errorf("%s: held back: %w", op, why), wait)
	}
	return release, nil
}

// receipt describes a status the instance returned. An answer without an
// id is an unknown outcome: the status may exist.
func (ch *Channel) receipt(op string, st *mastodon.Status, retryable bool) (*crier.Receipt, error) {
	if st == nil || st.ID == "" {
		return nil, crier.Unknown(fmt.Errorf("%s: the answer names no status", op), retryable)
	}
	u := st.URL
	if u == "" {
		u = st.URI
	}
	return &crier.Receipt{RemoteID: string(st.ID), URL: u, Endpoint: ch.name}, nil
}

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

// validToken checks that a token is present and can travel in a header. Its
// errors do not repeat it.
func validToken(t string) error {
	if t == "" {
		return errors.New("token is missing")
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return errors.New("token contains characters not allowed in a header")
		}
	}
	return nil
}

// validID checks a status id before it becomes part of a URL path.
// Mastodon's ids are decimal; other servers speaking its API use letters
// and digits.
func validID(id string) error {
	if id == "" {
		return errors.New("status id is missing")
	}
	for _, r := range id {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '-' || r == '_') {
			return fmt.Errorf("status id %q is malformed", id)
		}
	}
	return nil
}
