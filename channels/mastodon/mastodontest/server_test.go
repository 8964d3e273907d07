package mastodontest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
)

const (
	soest = "soest-token"
	werl  = "werl-token"
)

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// client talks to a fake instance with plain HTTP requests.
type client struct {
	t     *testing.T
	base  string
	token string
}

type result struct {
	status int
	header http.Header
	body   []byte
}

// error returns the "error" of the body.
func (r result) error() string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// status decodes the body as go-mastodon does.
func (r result) decode(t *testing.T) *gomastodon.Status {
	t.Helper()
	var st gomastodon.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("decode status: %v\n%s", err, r.body)
	}
	return &st
}

func (c client) do(method, path string, form url.Values, header http.Header) result {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c client) post(text, key string) result {
	c.t.Helper()
	var h http.Header
	if key != "" {
		h = http.Header{"Idempotency-Key": {key}}
	}
	return c.do(http.MethodPost, "/api/v1/statuses", url.Values{"status": {text}}, h)
}

func setup(t *testing.T, opts mastodontest.Options) (*mastodontest.Server, *channeltest.Clock, client) {
	t.Helper()
	clock := channeltest.NewClock(epoch)
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.Tokens == nil {
		opts.Tokens = []string{soest, werl}
	}
	s := mastodontest.NewServer(t, opts)
	return s, clock, client{t: t, base: s.URL(), token: soest}
}

func TestAuth(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{ReadOnlyTokens: []string{"reader"}})
	for _, tok := range []string{"", "wrong"} {
		c.token = tok
		r := c.post("Rathaus geschlossen", "")
		if r.status != http.StatusUnauthorized || r.error() != mastodontest.ErrInvalidToken {
			t.Errorf("token %q: %d %q, want 401 %q", tok, r.status, r.error(), mastodontest.ErrInvalidToken)
		}
	}
	c.token = "reader"
	if r := c.post("Rathaus geschlossen", ""); r.status != http.StatusForbidden || r.error() != mastodontest.ErrOutsideScopes {
		t.Errorf("read-only token: %d %q, want 403", r.status, r.error())
	}
	if n := len(s.Statuses()); n != 0 {
		t.Errorf("%d statuses created, want 0", n)
	}
	// The instance document is public.
	c.token = ""
	if r := c.do(http.MethodGet, "/api/v2/instance", nil, nil); r.status != http.StatusOK {
		t.Errorf("GET /api/v2/instance without a token: %d", r.status)
	}
}

func TestVerifyCredentials(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{
		ReadOnlyTokens:  []string{"reader"},
		WriteOnlyTokens: []string{"poster"},
	})
	const path = "/api/v1/accounts/verify_credentials"
	for _, tc := range []struct {
		token  string
		status int
		error  string
	}{
		{soest, http.StatusOK, ""},
		{"reader", http.StatusOK, ""},
		{"poster", http.StatusForbidden, mastodontest.ErrOutsideScopes},
		{"wrong", http.StatusUnauthorized, mastodontest.ErrInvalidToken},
		{"", http.StatusUnauthorized, mastodontest.ErrInvalidToken},
	} {
		c.token = tc.token
		r := c.do(http.MethodGet, path, nil, nil)
		if r.status != tc.status || r.error() != tc.error {
			t.Errorf("token %q: %d %q, want %d %q", tc.token, r.status, r.error(), tc.status, tc.error)
		}
	}
	c.token = soest
	var acct gomastodon.Account
	if err := json.Unmarshal(c.do(http.MethodGet, path, nil, nil).body, &acct); err != nil {
		t.Fatal(err)
	}
	if acct.ID != "1" || acct.Username != "account1" {
		t.Errorf("account = %+v, want id 1, username account1", acct)
	}
	// A token with write:statuses only can post.
	c.token = "poster"
	if r := c.post("Rathaus geschlossen", ""); r.status != http.StatusOK {
		t.Errorf("post with a write-only token: %d %s", r.status, r.body)
	}
	if n := len(s.Statuses()); n != 1 {
		t.Errorf("%d statuses created, want 1", n)
	}
}

func TestRevoke(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{})
	s.Revoke(soest)
	for _, r := range []result{
		c.do(http.MethodGet, "/api/v1/accounts/verify_credentials", nil, nil),
		c.post("Rathaus geschlossen", ""),
	} {
		if r.status != http.StatusUnauthorized || r.error() != mastodontest.ErrRevokedToken {
			t.Errorf("revoked token: %d %q, want 401 %q", r.status, r.error(), mastodontest.ErrRevokedToken)
		}
	}
	c.token = werl
	if r := c.post("Rathaus geschlossen", ""); r.status != http.StatusOK {
		t.Errorf("another account's token: %d %s", r.status, r.body)
	}
}

func TestAnyToken(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{Tokens: []string{}})
	c.token = "whatever"
	if r := c.post("Hallo", ""); r.status != http.StatusOK {
		t.Fatalf("post with any token: %d %s", r.status, r.body)
	}
	if got := s.StatusesOf("whatever"); len(got) != 1 {
		t.Errorf("StatusesOf = %d statuses, want 1", len(got))
	}
}

func TestPostStatus(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{})
	r := c.do(http.MethodPost, "/api/v1/statuses", url.Values{
		"status": {"Rathaus geschlossen"}, "visibility": {"unlisted"}, "language": {"de"},
		"spoiler_text": {"IT-Ausfall"},
	}, http.Header{"Idempotency-Key": {"k1"}})
	if r.status != http.StatusOK {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	st := r.decode(t)
	if st.ID == "" || st.URL != s.URL()+"/@account1/"+string(st.ID) || st.Visibility != "unlisted" ||
		st.Language != "de" || st.SpoilerText != "IT-Ausfall" || !st.Sensitive || st.Content != "<p>Rathaus geschlossen</p>" {
		t.Errorf("status = %+v", st)
	}
	if !st.CreatedAt.Equal(epoch) {
		t.Errorf("created_at = %v, want %v", st.CreatedAt, epoch)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Errorf("answer has no %s header", h)
		}
	}
	if got := s.Accepted(); len(got) != 1 || got[0] != "k1" {
		t.Errorf("Accepted() = %q, want [k1]", got)
	}
}

func TestJSONBody(t *testing.T) {
	s, _, _ := setup(t, mastodontest.Options{})
	body, _ := json.Marshal(map[string]any{"status": "Hallo", "sensitive": true, "visibility": "private", "language": "en"})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/api/v1/statuses", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+soest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JSON post: %d", resp.StatusCode)
	}
	st := s.Statuses()[0]
	if st.Text != "Hallo" || !st.Sensitive || st.Visibility != "private" || st.Language != "en" {
		t.Errorf("status = %+v", st)
	}
}

func TestIdempotency(t *testing.T) {
	s, clock, c := setup(t, mastodontest.Options{})
	first := c.post("Rathaus geschlossen", "key-1").decode(t)
	clock.Advance(59 * time.Minute)
	again := c.post("Rathaus geschlossen", "key-1")
	if again.status != http.StatusOK || again.decode(t).ID != first.ID {
		t.Errorf("same key within the hour: %d, status %s; want 200 and %s", again.status, again.decode(t).ID, first.ID)
	}
	// Keys belong to an account.
	w := c
	w.token = werl
	if other := w.post("Rathaus geschlossen", "key-1").decode(t); other.ID == first.ID {
		t.Error("another account's post with the same key returned the first account's status")
	}
	if n := len(s.StatusesOf(soest)); n != 1 {
		t.Errorf("account has %d statuses after a repeat within the hour, want 1", n)
	}
	clock.Advance(time.Minute) // an hour after the status was created
	if later := c.post("Rathaus geschlossen", "key-1").decode(t); later.ID == first.ID {
		t.Error("same key after an hour returned the old status, want a new one")
	}
	if n := len(s.StatusesOf(soest)); n != 2 {
		t.Errorf("account has %d statuses, want 2", n)
	}
	if got := s.Accepted(); len(got) != 3 {
		t.Errorf("Accepted() = %q, want three entries", got)
	}
	// Without a key, every post is a new status.
	c.post("ohne Schlüssel", "")
	c.post("ohne Schlüssel", "")
	if n := len(s.StatusesOf(soest)); n != 4 {
		t.Errorf("account has %d statuses, want 4", n)
	}
}

func TestIdempotencyDeleted(t *testing.T) {
	_, _, c := setup(t, mastodontest.Options{})
	st := c.post("Rathaus geschlossen", "key-1").decode(t)
	if r := c.do(http.MethodDelete, "/api/v1/statuses/"+string(st.ID), nil, nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d", r.status)
	}
	if r := c.post("Rathaus geschlossen", "key-1"); r.status != http.StatusNotFound {
		t.Errorf("repeat of a deleted status's key: %d, want 404", r.status)
	}
}

func TestCharacterLimit(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{MaxCharacters: 30})
	if r := c.post(strings.Repeat("ü", 30), ""); r.status != http.StatusOK {
		t.Errorf("30 characters: %d %q", r.status, r.error())
	}
	r := c.post(strings.Repeat("ü", 31), "")
	if want := "Validation failed: Text character limit of 30 exceeded"; r.status != http.StatusUnprocessableEntity || r.error() != want {
		t.Errorf("31 characters: %d %q, want 422 %q", r.status, r.error(), want)
	}
	long := "https://soest.de/" + strings.Repeat("x", 100)
	if r := c.post("Info "+long, ""); r.status != http.StatusOK {
		t.Errorf("5 + 23 characters: %d %q", r.status, r.error())
	}
	if r := c.post("Info Soest "+long, ""); r.status != http.StatusUnprocessableEntity {
		t.Errorf("11 + 23 characters: %d, want 422", r.status)
	}
	if r := c.post("", ""); r.status != http.StatusUnprocessableEntity || r.error() != mastodontest.ErrBlank {
		t.Errorf("empty: %d %q, want 422 blank", r.status, r.error())
	}
	if n := len(s.Statuses()); n != 2 {
		t.Errorf("%d statuses, want 2", n)
	}
}

func TestInstance(t *testing.T) {
	_, _, c := setup(t, mastodontest.Options{MaxCharacters: 1000})
	r := c.do(http.MethodGet, "/api/v2/instance", nil, nil)
	var doc struct {
		Domain        string `json:"domain"`
		Configuration struct {
			Statuses struct {
				MaxCharacters    int `json:"max_characters"`
				CharactersPerURL int `json:"characters_reserved_per_url"`
			} `json:"statuses"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Configuration.Statuses.MaxCharacters != 1000 || doc.Configuration.Statuses.CharactersPerURL != 23 || doc.Domain == "" {
		t.Errorf("instance = %s", r.body)
	}
}

func TestRateLimit(t *testing.T) {
	_, clock, c := setup(t, mastodontest.Options{RateLimit: 3})
	clock.Set(epoch.Add(time.Minute))
	for i := range 3 {
		r := c.post("Hallo "+strconv.Itoa(i), "")
		if r.status != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Errorf("request %d: X-RateLimit-Remaining = %s, want %d", i+1, got, 2-i)
		}
	}
	r := c.post("Hallo", "")
	if r.status != http.StatusTooManyRequests || r.error() != mastodontest.ErrTooMany {
		t.Errorf("request 4: %d %q, want 429", r.status, r.error())
	}
	if got, want := r.header.Get("X-RateLimit-Reset"), "2023-10-30T06:05:00.000000Z"; got != want {
		t.Errorf("X-RateLimit-Reset = %q, want %q", got, want)
	}
	// Another account has its own budget.
	w := c
	w.token = werl
	if r := w.post("Hallo", ""); r.status != http.StatusOK {
		t.Errorf("another account: %d", r.status)
	}
	clock.Set(epoch.Add(5 * time.Minute))
	if r := c.post("Hallo", ""); r.status != http.StatusOK || r.header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("next window: %d, remaining %s", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
}

func TestEditDeleteReply(t *testing.T) {
	s, clock, c := setup(t, mastodontest.Options{})
	st := c.post("Rathaus geschlossen", "k").decode(t)
	path := "/api/v1/statuses/" + string(st.ID)
	clock.Advance(time.Minute)

	// Edits clear what they leave out, except the language.
	r := c.do(http.MethodPut, path, url.Values{"status": {"Rathaus ab 10 Uhr offen"}, "spoiler_text": {"Update"}, "language": {"de"}}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if e := r.decode(t); e.EditedAt.IsZero() || !e.Sensitive {
		t.Errorf("edited status: edited_at %v, sensitive %v", e.EditedAt, e.Sensitive)
	}
	c.do(http.MethodPut, path, url.Values{"status": {"Rathaus ab 11 Uhr offen"}}, nil)
	got := s.Statuses()[0]
	if got.Text != "Rathaus ab 11 Uhr offen" || got.SpoilerText != "" || got.Sensitive || got.Language != "de" ||
		len(got.Edits) != 2 || !got.EditedAt.Equal(epoch.Add(time.Minute)) {
		t.Errorf("status after two edits = %+v", got)
	}

	w := c
	w.token = werl
	if r := w.do(http.MethodPut, path, url.Values{"status": {"fremd"}}, nil); r.status != http.StatusNotFound {
		t.Errorf("edit by another account: %d, want 404", r.status)
	}
	if r := w.do(http.MethodDelete, path, nil, nil); r.status != http.StatusNotFound {
		t.Errorf("delete by another account: %d, want 404", r.status)
	}
	// Anyone may answer a public status.
	r = w.do(http.MethodPost, "/api/v1/statuses", url.Values{"status": {"Danke"}, "in_reply_to_id": {string(st.ID)}}, nil)
	if r.status != http.StatusOK || r.decode(t).InReplyToID != string(st.ID) {
		t.Errorf("reply: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodPost, "/api/v1/statuses", url.Values{"status": {"?"}, "in_reply_to_id": {"4242"}}, nil); r.status != http.StatusNotFound || r.error() != mastodontest.ErrReplyNotFound {
		t.Errorf("reply to an unknown status: %d %q", r.status, r.error())
	}

	r = c.do(http.MethodDelete, path, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("delete: %d", r.status)
	}
	var deleted struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(r.body, &deleted)
	if deleted.Text != "Rathaus ab 11 Uhr offen" {
		t.Errorf("deleted status's text = %q, want its source", deleted.Text)
	}
	for _, q := range []struct{ method, path string }{{http.MethodDelete, path}, {http.MethodPut, path}, {http.MethodGet, path}} {
		if r := c.do(q.method, q.path, url.Values{"status": {"x"}}, nil); r.status != http.StatusNotFound {
			t.Errorf("%s of a deleted status: %d, want 404", q.method, r.status)
		}
	}
	if r := c.do(http.MethodPost, "/api/v1/statuses", url.Values{"status": {"?"}, "in_reply_to_id": {string(st.ID)}}, nil); r.status != http.StatusNotFound {
		t.Errorf("reply to a deleted status: %d, want 404", r.status)
	}
}

func TestRespond(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{})
	s.RespondError(http.StatusServiceUnavailable, http.Header{"Retry-After": {"30"}}, "")
	r := c.post("Hallo", "k")
	if r.status != 503 || r.header.Get("Retry-After") != "30" || r.error() != "Service Unavailable" {
		t.Errorf("answer: %d, Retry-After %q, error %q", r.status, r.header.Get("Retry-After"), r.error())
	}
	s.Respond(0, nil)
	if r := c.post("Hallo", "k"); r.status != http.StatusOK {
		t.Errorf("after Respond(0, nil): %d", r.status)
	}
	if n := len(s.Statuses()); n != 1 {
		t.Errorf("%d statuses, want 1", n)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || reqs[0].Answer != 503 || reqs[1].Answer != 200 || reqs[1].IdempotencyKey != "k" ||
		reqs[1].Token != soest || reqs[1].Form.Get("status") != "Hallo" {
		t.Errorf("requests = %+v", reqs)
	}
}

// TestHang checks that a hanging instance carries the request out: the
// status exists, and a retry with the same key finds it.
func TestHang(t *testing.T) {
	s, _, c := setup(t, mastodontest.Options{})
	s.Hang()
	var created []string
	s.OnCreate(func(st *mastodontest.Status) { created = append(created, st.ID) })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/api/v1/statuses", strings.NewReader("status=Hallo"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+soest)
		req.Header.Set("Idempotency-Key", "k")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-s.Waiting()
	cancel()
	if err := <-done; err == nil {
		t.Error("a hanging request got an answer")
	}
	s.Accept()
	st := c.post("Hallo", "k").decode(t)
	if len(created) != 1 || string(st.ID) != created[0] {
		t.Errorf("retry returned %s; created %q", st.ID, created)
	}
	if n := len(s.Statuses()); n != 1 {
		t.Errorf("%d statuses, want 1", n)
	}
}

func TestDrop(t *testing.T) {
	s, _, _ := setup(t, mastodontest.Options{})
	s.Drop()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/api/v1/statuses", strings.NewReader("status=Hallo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+soest)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a dropped request got a whole answer")
	}
	if n := len(s.Statuses()); n != 1 {
		t.Errorf("%d statuses, want 1: Drop carries the request out", n)
	}
}
