// Package mastodontest runs a fake Mastodon instance in the test process,
// on an httptest server. It speaks the part of Mastodon's REST API that
// crier uses, with Mastodon's own rules: bearer tokens, one account per
// token; statuses created, replied to, edited and deleted; Idempotency-Key
// deduplication per account for an hour; the character limit counted as
// Mastodon counts it; GET /api/v2/instance; GET
// /api/v1/accounts/verify_credentials; tokens revoked while the instance
// runs; and X-RateLimit headers on
// every answer, with 429 once an account's requests in a five-minute window
// exceed the configured limit. Its answers can also be set by the test:
// any status with any headers, never, or a connection lost mid-answer.
//
// The channel tests of package mastodon and crier's end-to-end tests use
// the same fake, so that both test against one model of the instance.
package mastodontest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon"
)

// Mastodon's rules, as the fake applies them.
const (
	// KeyLifetime is how long the instance remembers an Idempotency-Key
	// after the status it created.
	KeyLifetime = time.Hour
	// RateWindow is the span of the request limit (Options.RateLimit).
	RateWindow = 5 * time.Minute
	// DefaultRateLimit is the limit the X-RateLimit headers report when
	// Options.RateLimit is zero; the fake then never refuses.
	DefaultRateLimit = 300
)

// Error texts of the instance, as Mastodon words them.
const (
	ErrInvalidToken  = "The access token is invalid"
	ErrRevokedToken  = "The access token was revoked"
	ErrOutsideScopes = "This action is outside the authorized scopes"
	ErrNotFound      = "Record not found"
	ErrReplyNotFound = "The post you are trying to reply to does not appear to exist."
	ErrTooMany       = "Too many requests"
	ErrBlank         = "Validation failed: Text can't be blank"
	ErrVisibility    = "Validation failed: Visibility is not included in the list"
)

// Options configure a Server.
type Options struct {
	// MaxCharacters is configuration.statuses.max_characters; default
	// mastodon.DefaultMaxCharacters.
	MaxCharacters int
	// Tokens are the accepted bearer tokens, each one account; empty means
	// any non-empty token, each one account.
	Tokens []string
	// ReadOnlyTokens are accepted for reading but lack write:statuses:
	// posting, editing and deleting with one is refused with 403.
	ReadOnlyTokens []string
	// WriteOnlyTokens are accepted for posting but lack the read and
	// profile scopes, as a token with write:statuses only does:
	// GET /api/v1/accounts/verify_credentials with one is refused with 403
	// ErrOutsideScopes.
	WriteOnlyTokens []string
	// Clock is the reference for idempotency keys and rate limits;
	// default crier.SystemClock.
	Clock crier.Clock
	// RateLimit is how many requests an account (or, without a token, the
	// client) may make per RateWindow before it is answered 429; zero
	// means unlimited.
	RateLimit int
}

// Status is a status the instance created.
type Status struct {
	ID, URL, Text, SpoilerText, Visibility, Language, InReplyToID string
	// IdempotencyKey is the Idempotency-Key of the request that created it.
	IdempotencyKey string
	// Token is the account's token.
	Token     string
	Sensitive bool
	Deleted   bool
	// Edits are the texts the status was given by edits, in order; the
	// last one is Text.
	Edits []string
	// CreatedAt and EditedAt are times on the instance's clock; EditedAt
	// is zero until the first edit.
	CreatedAt, EditedAt time.Time
}

func (s *Status) clone() *Status {
	c := *s
	c.Edits = slices.Clone(s.Edits)
	return &c
}

// Request is one request the instance got.
type Request struct {
	Method, Path string
	// Token is the bearer token, "" without one.
	Token          string
	IdempotencyKey string
	Header         http.Header
	// Form holds the parameters of the body, form-encoded or JSON.
	Form url.Values
	// Answer is the status code of the answer, 0 when none was given
	// (Hang, Drop).
	Answer int
}

// Server is a fake Mastodon instance. Its methods are safe for concurrent
// use.
type Server struct {
	opts    Options
	clock   crier.Clock
	srv     *httptest.Server
	release chan struct{} // closed at shutdown: ends every hang
	waiting chan struct{}

	mu       sync.Mutex
	mode     mode
	onCreate func(*Status)
	statuses []*Status
	byID     map[string]*Status
	keys     map[string]*Status // account token + "\n" + Idempotency-Key
	accounts map[string]int     // token → account number, from 1
	revoked  map[string]bool
	requests []*Request
	counts   map[string]int // requests per rate-limit bucket and window
	nextID   int64
}

// mode is how the instance treats the following requests.
type mode struct {
	kind   modeKind
	status int
	header http.Header
	text   string
}

type modeKind int

const (
	normal  modeKind = iota
	refuse           // answer with a set status without carrying the request out
	hang             // carry it out, never answer
	drop             // carry it out, lose the connection mid-answer
	headers          // carry it out, answer with extra headers
)

var (
	_ channeltest.Remote = (*Server)(nil)
	_ http.Handler       = (*Server)(nil)
)

// NewServer starts an instance. It shuts down when tb and its subtests
// have finished: hangs end without an answer, and the cleanup returns only
// after every request has been handled.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.MaxCharacters <= 0 {
		opts.MaxCharacters = mastodon.DefaultMaxCharacters
	}
	s := &Server{
		opts:     opts,
		clock:    opts.Clock,
		release:  make(chan struct{}),
		waiting:  make(chan struct{}, 1),
		byID:     map[string]*Status{},
		keys:     map[string]*Status{},
		accounts: map[string]int{},
		revoked:  map[string]bool{},
		counts:   map[string]int{},
		nextID:   110_000_000_000_000_000,
	}
	if s.clock == nil {
		s.clock = crier.SystemClock{}
	}
	for _, t := range slices.Concat(opts.Tokens, opts.ReadOnlyTokens, opts.WriteOnlyTokens) {
		s.account(t)
	}
	s.srv = httptest.NewServer(s)
	tb.Cleanup(func() {
		close(s.release)
		s.srv.Close()
	})
	return s
}

// URL returns the instance's base URL, e.g. "http://127.0.0.1:40123".
func (s *Server) URL() string { return s.srv.URL }

// Statuses returns every status created, in order; a request repeating an
// Idempotency-Key creates none. The statuses are copies.
func (s *Server) Statuses() []*Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Status, len(s.statuses))
	for i, st := range s.statuses {
		out[i] = st.clone()
	}
	return out
}

// StatusesOf returns the statuses of the account with token, in order.
func (s *Server) StatusesOf(token string) []*Status {
	var out []*Status
	for _, st := range s.Statuses() {
		if st.Token == token {
			out = append(out, st)
		}
	}
	return out
}

// Requests returns every request the instance got, in order.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Accepted returns the Idempotency-Keys of the statuses created, in order,
// for the conformance suite of package channeltest. Statuses created
// without a key are left out.
func (s *Server) Accepted() []string {
	var keys []string
	for _, st := range s.Statuses() {
		if st.IdempotencyKey != "" {
			keys = append(keys, st.IdempotencyKey)
		}
	}
	return keys
}

// Respond sets how the instance answers the following requests. A status
// of 400 or more refuses each request without carrying it out, with
// header and a Mastodon error body: 500, 503, 429 with Retry-After or
// X-RateLimit-Reset, and so on. A status below 300 carries requests out
// as usual and adds header to the answers, e.g. X-RateLimit-Remaining: 0.
// Respond(0, nil) returns to normal. Respond panics on a 3xx status.
func (s *Server) Respond(status int, header http.Header) {
	s.RespondError(status, header, "")
}

// RespondError is Respond with the text of the error body; "" stands for
// Mastodon's text for a 429 and for the status's standard text otherwise.
func (s *Server) RespondError(status int, header http.Header, text string) {
	switch {
	case status == 0:
		s.set(mode{kind: normal})
	case status >= 200 && status < 300:
		s.set(mode{kind: headers, header: header.Clone()})
	case status >= 400 && status <= 599:
		switch {
		case text == "" && status == http.StatusTooManyRequests:
			text = ErrTooMany
		case text == "":
			text = http.StatusText(status)
		}
		s.set(mode{kind: refuse, status: status, header: header.Clone(), text: text})
	default:
		panic(fmt.Sprintf("mastodontest: Respond with status %d, want 0, 2xx, 4xx or 5xx", status))
	}
}

// Hang makes the instance carry out each following request and never
// answer, as when the answer is lost: a status is created, the client
// does not learn of it. The request ends when the client gives up, or when
// the instance shuts down, which closes the connection without an answer.
func (s *Server) Hang() { s.set(mode{kind: hang}) }

// Drop makes the instance carry out each following request, write the
// start of its answer and close the connection.
func (s *Server) Drop() { s.set(mode{kind: drop}) }

// SetMaxCharacters changes configuration.statuses.max_characters, as an
// instance's administrator may, for the instance document and for the
// statuses that follow.
func (s *Server) SetMaxCharacters(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.MaxCharacters = n
}

// Accept makes the instance answer normally again.
func (s *Server) Accept() { s.set(mode{kind: normal}) }

// Set makes the instance answer as b says, for the conformance suite of
// package channeltest: Reject is 422, Unavailable 503, RateLimited 429
// with X-RateLimit-Reset b.RetryAfter ahead, as Mastodon sends it.
func (s *Server) Set(b channeltest.Behavior) {
	switch b.Kind {
	case channeltest.Accept:
		s.Accept()
	case channeltest.Reject:
		s.RespondError(http.StatusUnprocessableEntity, nil, ErrBlank)
	case channeltest.Unavailable:
		s.Respond(http.StatusServiceUnavailable, nil)
	case channeltest.RateLimited:
		s.RespondError(http.StatusTooManyRequests, http.Header{
			"X-RateLimit-Remaining": {"0"},
			"X-RateLimit-Reset":     {FormatReset(s.clock.Now().Add(b.RetryAfter))},
		}, ErrTooMany)
	case channeltest.Hang:
		s.Hang()
	case channeltest.Drop:
		s.Drop()
	default:
		panic(fmt.Sprintf("mastodontest: unknown behavior %v", b.Kind))
	}
}

// Revoke revokes token, as the account's owner does under Preferences,
// Account, Authorized apps: every later request with it is answered 401
// ErrRevokedToken.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[token] = true
}

// Waiting returns a channel that receives a value when a request starts
// hanging. It keeps one value.
func (s *Server) Waiting() <-chan struct{} { return s.waiting }

// OnCreate sets a hook called with a copy of every status created from
// then on, before the answer is written, so that a test can stop the
// client in the window in which the outcome is unknown to it. It runs on
// the request's goroutine; the answer waits for it. nil removes it.
func (s *Server) OnCreate(f func(*Status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCreate = f
}

// FormatReset formats t as Mastodon's X-RateLimit-Reset does.
func FormatReset(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func (s *Server) set(m mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// account returns the number and username of token's account, making one
// up on first sight.
func (s *Server) account(token string) (int, string) {
	n, ok := s.accounts[token]
	if !ok {
		n = len(s.accounts) + 1
		s.accounts[token] = n
	}
	return n, "account" + strconv.Itoa(n)
}

// answer is an answer before it is written.
type answer struct {
	status int
	header http.Header
	body   any
}

func errorAnswer(status int, text string) answer {
	return answer{status: status, body: map[string]string{"error": text}}
}

// ServeHTTP handles one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	q := &Request{
		Method:         r.Method,
		Path:           r.URL.Path,
		Header:         r.Header.Clone(),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		q.Token = strings.TrimSpace(t)
	}
	q.Form = params(r, body)

	a, m, created, hook := s.handle(q)
	if hook != nil && created != nil {
		hook(created)
	}
	switch m.kind {
	case hang:
		select {
		case s.waiting <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-s.release:
			panic(http.ErrAbortHandler) // returning would send an empty 200
		}
		return
	case drop:
		dropAnswer(w)
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

// handle records q, decides the answer and carries the request out, all
// under the lock, so that requests are processed one at a time as they
// would be serialized by Mastodon's database. It returns the status
// created, if any, and the hook to call with it.
func (s *Server) handle(q *Request) (answer, mode, *Status, func(*Status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mode
	now := s.clock.Now()
	s.requests = append(s.requests, q)
	limit, remaining, reset, over := s.count(q, now)
	var a answer
	var created *Status
	switch {
	case m.kind == refuse:
		a = errorAnswer(m.status, m.text)
	case over:
		a = errorAnswer(http.StatusTooManyRequests, ErrTooMany)
	default:
		a, created = s.route(q, now)
	}
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", FormatReset(reset))
	maps.Copy(h, a.header)
	if m.kind == refuse || m.kind == headers {
		maps.Copy(h, m.header)
	}
	a.header = h
	if m.kind != hang && m.kind != drop {
		q.Answer = a.status
	}
	if created != nil {
		created = created.clone()
	}
	return a, m, created, s.onCreate
}

// count counts q against its rate-limit bucket: the account, or the
// client's address for requests without a valid token. Windows are fixed,
// aligned to RateWindow, as Mastodon's are.
func (s *Server) count(q *Request, now time.Time) (limit, remaining int, reset time.Time, over bool) {
	bucket := "address"
	if s.valid(q.Token) {
		bucket = "account " + q.Token
	}
	start := now.Truncate(RateWindow)
	key := bucket + "@" + strconv.FormatInt(start.UnixNano(), 10)
	s.counts[key]++
	n := s.counts[key]
	limit = s.opts.RateLimit
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	return limit, max(limit-n, 0), start.Add(RateWindow), s.opts.RateLimit > 0 && n > s.opts.RateLimit
}

// valid reports whether token is a token of the instance that has not been
// revoked.
func (s *Server) valid(token string) bool {
	if token == "" || s.revoked[token] {
		return false
	}
	o := s.opts
	if len(o.Tokens) == 0 && len(o.ReadOnlyTokens) == 0 && len(o.WriteOnlyTokens) == 0 {
		return true
	}
	return slices.Contains(o.Tokens, token) || slices.Contains(o.ReadOnlyTokens, token) ||
		slices.Contains(o.WriteOnlyTokens, token)
}

// authenticate checks that q carries a valid token, as Doorkeeper does
// before it looks at scopes.
func (s *Server) authenticate(q *Request) (answer, bool) {
	switch {
	case s.revoked[q.Token]:
		return errorAnswer(http.StatusUnauthorized, ErrRevokedToken), false
	case !s.valid(q.Token):
		return errorAnswer(http.StatusUnauthorized, ErrInvalidToken), false
	}
	return answer{}, true
}

// authorize checks that q may write statuses.
func (s *Server) authorize(q *Request) (answer, bool) {
	if a, ok := s.authenticate(q); !ok {
		return a, false
	}
	if slices.Contains(s.opts.ReadOnlyTokens, q.Token) {
		return errorAnswer(http.StatusForbidden, ErrOutsideScopes), false
	}
	return answer{}, true
}

// verifyCredentials returns the token's account, as
// GET /api/v1/accounts/verify_credentials does for a token with the read,
// read:accounts or profile scope.
func (s *Server) verifyCredentials(q *Request) answer {
	if a, ok := s.authenticate(q); !ok {
		return a
	}
	if slices.Contains(s.opts.WriteOnlyTokens, q.Token) {
		return errorAnswer(http.StatusForbidden, ErrOutsideScopes)
	}
	return answer{status: http.StatusOK, body: s.renderAccount(q.Token)}
}

// route carries out q.
func (s *Server) route(q *Request, now time.Time) (answer, *Status) {
	const statuses = "/api/v1/statuses"
	id, hasID := strings.CutPrefix(q.Path, statuses+"/")
	switch {
	case q.Method == http.MethodGet && q.Path == "/api/v2/instance":
		return answer{status: http.StatusOK, body: s.instance()}, nil
	case q.Method == http.MethodGet && q.Path == "/api/v1/accounts/verify_credentials":
		return s.verifyCredentials(q), nil
	case q.Method == http.MethodPost && q.Path == statuses:
		return s.create(q, now)
	case q.Method == http.MethodGet && hasID:
		st := s.byID[id]
		if st == nil || st.Deleted {
			return errorAnswer(http.StatusNotFound, ErrNotFound), nil
		}
		return answer{status: http.StatusOK, body: s.render(st, false)}, nil
	case q.Method == http.MethodPut && hasID:
		return s.edit(q, id, now), nil
	case q.Method == http.MethodDelete && hasID:
		return s.delete(q, id), nil
	}
	return errorAnswer(http.StatusNotFound, ErrNotFound), nil
}

// create posts a status, or returns the one an earlier request with the
// same Idempotency-Key created.
func (s *Server) create(q *Request, now time.Time) (answer, *Status) {
	if a, ok := s.authorize(q); !ok {
		return a, nil
	}
	f := q.Form
	var parent *Status
	if id := f.Get("in_reply_to_id"); id != "" {
		parent = s.byID[id]
		if parent == nil || parent.Deleted || !s.visibleTo(parent, q.Token) {
			return errorAnswer(http.StatusNotFound, ErrReplyNotFound), nil
		}
	}
	key := q.Token + "\n" + q.IdempotencyKey
	if q.IdempotencyKey != "" {
		if st := s.keys[key]; st != nil && now.Sub(st.CreatedAt) < KeyLifetime {
			if st.Deleted {
				return errorAnswer(http.StatusNotFound, ErrNotFound), nil
			}
			return answer{status: http.StatusOK, body: s.render(st, false)}, nil
		}
	}
	text, spoiler := f.Get("status"), f.Get("spoiler_text")
	if strings.TrimSpace(text) == "" && strings.TrimSpace(spoiler) != "" {
		text, spoiler = spoiler, "" // Mastodon makes a lone content warning the text
	}
	vis := f.Get("visibility")
	if vis == "" {
		vis = mastodon.Public
	}
	if a, ok := s.validate(text, spoiler, vis); !ok {
		return a, nil
	}
	s.nextID++
	id := strconv.FormatInt(s.nextID, 10)
	_, user := s.account(q.Token)
	st := &Status{
		ID:             id,
		URL:            s.URL() + "/@" + user + "/" + id,
		Text:           text,
		SpoilerText:    spoiler,
		Visibility:     vis,
		Language:       f.Get("language"),
		IdempotencyKey: q.IdempotencyKey,
		Token:          q.Token,
		Sensitive:      truthy(f.Get("sensitive")) || spoiler != "",
		CreatedAt:      now,
	}
	if parent != nil {
		st.InReplyToID = parent.ID
	}
	s.statuses = append(s.statuses, st)
	s.byID[id] = st
	if q.IdempotencyKey != "" {
		s.keys[key] = st
	}
	return answer{status: http.StatusOK, body: s.render(st, false)}, st
}

// edit changes a status of the account, as PUT /api/v1/statuses/:id does:
// parameters left out are cleared, except the language, which is kept.
func (s *Server) edit(q *Request, id string, now time.Time) answer {
	if a, ok := s.authorize(q); !ok {
		return a
	}
	st := s.byID[id]
	if st == nil || st.Deleted || st.Token != q.Token {
		// Mastodon looks the status up among the account's own.
		return errorAnswer(http.StatusNotFound, ErrNotFound)
	}
	f := q.Form
	text, spoiler := f.Get("status"), f.Get("spoiler_text")
	if strings.TrimSpace(text) == "" && spoiler != "" {
		text, spoiler = spoiler, ""
	}
	if a, ok := s.validate(text, spoiler, st.Visibility); !ok {
		return a
	}
	st.Text, st.SpoilerText = text, spoiler
	st.Sensitive = truthy(f.Get("sensitive")) || spoiler != ""
	if l := f.Get("language"); l != "" {
		st.Language = l
	}
	st.Edits = append(st.Edits, text)
	st.EditedAt = now
	return answer{status: http.StatusOK, body: s.render(st, false)}
}

// delete deletes a status of the account and returns it with its source
// text, as Mastodon does.
func (s *Server) delete(q *Request, id string) answer {
	if a, ok := s.authorize(q); !ok {
		return a
	}
	st := s.byID[id]
	if st == nil || st.Deleted || st.Token != q.Token {
		return errorAnswer(http.StatusNotFound, ErrNotFound)
	}
	st.Deleted = true
	return answer{status: http.StatusOK, body: s.render(st, true)}
}

// validate applies Mastodon's validations of a status.
func (s *Server) validate(text, spoiler, visibility string) (answer, bool) {
	switch {
	case strings.TrimSpace(text) == "":
		return errorAnswer(http.StatusUnprocessableEntity, ErrBlank), false
	case !slices.Contains([]string{mastodon.Public, mastodon.Unlisted, mastodon.Private, mastodon.Direct}, visibility):
		return errorAnswer(http.StatusUnprocessableEntity, ErrVisibility), false
	case mastodon.Length(text, spoiler, mastodon.DefaultCharactersPerURL) > s.opts.MaxCharacters:
		return errorAnswer(http.StatusUnprocessableEntity,
			fmt.Sprintf("Validation failed: Text character limit of %d exceeded", s.opts.MaxCharacters)), false
	}
	return answer{}, true
}

// visibleTo reports whether the account with token can see st.
func (s *Server) visibleTo(st *Status, token string) bool {
	return st.Token == token || st.Visibility == mastodon.Public || st.Visibility == mastodon.Unlisted
}

// renderAccount returns the account of token as Mastodon's Account entity.
func (s *Server) renderAccount(token string) map[string]any {
	n, user := s.account(token)
	return map[string]any{
		"id":           strconv.Itoa(n),
		"username":     user,
		"acct":         user,
		"display_name": user,
		"url":          s.URL() + "/@" + user,
	}
}

// render returns st as Mastodon's Status entity.
func (s *Server) render(st *Status, source bool) map[string]any {
	_, user := s.account(st.Token)
	var reply any
	if st.InReplyToID != "" {
		reply = st.InReplyToID
	}
	var edited any
	if !st.EditedAt.IsZero() {
		edited = st.EditedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	var lang any
	if st.Language != "" {
		lang = st.Language
	}
	out := map[string]any{
		"id":                     st.ID,
		"created_at":             st.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"edited_at":              edited,
		"in_reply_to_id":         reply,
		"in_reply_to_account_id": nil,
		"sensitive":              st.Sensitive,
		"spoiler_text":           st.SpoilerText,
		"visibility":             st.Visibility,
		"language":               lang,
		"uri":                    s.URL() + "/users/" + user + "/statuses/" + st.ID,
		"url":                    st.URL,
		"replies_count":          0,
		"reblogs_count":          0,
		"favourites_count":       0,
		"content":                "<p>" + strings.ReplaceAll(html.EscapeString(st.Text), "\n", "<br />") + "</p>",
		"reblog":                 nil,
		"application":            map[string]any{"name": "crier", "website": nil},
		"account":                s.renderAccount(st.Token),
		"media_attachments":      []any{},
		"mentions":               []any{},
		"tags":                   []any{},
		"emojis":                 []any{},
		"card":                   nil,
		"poll":                   nil,
	}
	if source {
		out["text"] = st.Text
	}
	return out
}

// instance returns the instance document of GET /api/v2/instance.
func (s *Server) instance() map[string]any {
	u, _ := url.Parse(s.URL())
	return map[string]any{
		"domain":      u.Host,
		"title":       "Mastodon test instance",
		"version":     "4.3.0",
		"source_url":  "https://github.com/mastodon/mastodon",
		"description": "A fake instance for tests.",
		"languages":   []string{"de", "en"},
		"configuration": map[string]any{
			"urls":     map[string]any{"streaming": "ws://" + u.Host},
			"accounts": map[string]any{"max_featured_tags": 10, "max_pinned_statuses": 5},
			"statuses": map[string]any{
				"max_characters":              s.opts.MaxCharacters,
				"max_media_attachments":       4,
				"characters_reserved_per_url": mastodon.DefaultCharactersPerURL,
			},
			"polls":       map[string]any{"max_options": 4, "max_characters_per_option": 50},
			"translation": map[string]any{"enabled": false},
		},
		"registrations": map[string]any{"enabled": false, "approval_required": false, "message": nil},
		"contact":       map[string]any{"email": "", "account": nil},
		"rules":         []any{},
	}
}

// params returns a request's parameters: the query, then the body,
// form-encoded or JSON.
func params(r *http.Request, body []byte) url.Values {
	v := r.URL.Query()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			for k, x := range m {
				switch x := x.(type) {
				case nil:
				case string:
					v.Set(k, x)
				default:
					v.Set(k, fmt.Sprint(x))
				}
			}
		}
	case "application/x-www-form-urlencoded":
		if f, err := url.ParseQuery(string(body)); err == nil {
			for k, xs := range f {
				v[k] = append(v[k], xs...)
			}
		}
	}
	return v
}

// truthy casts a parameter to a boolean as Rails does.
func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "f", "false", "off":
		return false
	}
	return true
}

// dropAnswer writes the status line and some headers of an answer and
// closes the connection before the header ends.
func dropAnswer(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 512\r\n")
	_ = buf.Flush()
}
