package mastodon_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
)

// token is the access token of the account the tests post as.
const token = "soest-token-Zq8fP2xK7mW4"

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// newServer starts a fake instance that accepts token, on clock unless
// opts has one.
func newServer(t *testing.T, clock crier.Clock, opts mastodontest.Options) *mastodontest.Server {
	t.Helper()
	if opts.Tokens == nil {
		opts.Tokens = []string{token}
	}
	if opts.Clock == nil {
		opts.Clock = clock
	}
	return mastodontest.NewServer(t, opts)
}

// mustNew returns a channel posting with token unless o has one.
func mustNew(t *testing.T, o mastodon.Options) *mastodon.Channel {
	t.Helper()
	if o.Token == "" {
		o.Token = token
	}
	c, err := mastodon.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// setup starts a fake instance and a channel to it, both on a clock
// standing at epoch.
func setup(t *testing.T, opts mastodontest.Options) (*mastodon.Channel, *mastodontest.Server, *channeltest.Clock) {
	t.Helper()
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, opts)
	return mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock}), s, clock
}

func message() *crier.Message {
	return &crier.Message{
		Announcement: "k7q2m4x9p3z8w6v1",
		Revision:     1,
		Town:         "soest",
		Channel:      "mastodon-soest",
		Type:         "mastodon",
		Event:        crier.EventPublished,
		Mode:         crier.ModeActual,
		Language:     "de",
		Text:         "Das Bürgerbüro der Stadt Soest ist heute geschlossen. Notrufe: 112. Mehr: https://krisen.kreis-soest.de/soest",
		Key:          "k7q2m4x9p3z8w6v1.1.soest.mastodon-soest",
		Attempt:      1,
		FirstAttempt: epoch,
	}
}

// noToken fails t when err mentions the access token.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("error %q contains the access token", err)
	}
}

// statusRequests returns the requests that would create a status.
func statusRequests(s *mastodontest.Server) []*mastodontest.Request {
	var out []*mastodontest.Request
	for _, q := range s.Requests() {
		if q.Method == http.MethodPost && q.Path == "/api/v1/statuses" {
			out = append(out, q)
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{
		New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
			c, s, _ := setup(t, mastodontest.Options{})
			return c, s
		},
		Message:      message,
		Deduplicates: true,
		RateLimits:   true,
	})
}

func TestSend(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{})
	c := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Visibility: mastodon.Unlisted, Name: "soest@social"})
	m := message()
	m.SpoilerText = "IT-Ausfall"
	m.Sensitive = true
	rc, err := c.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	sts := s.Statuses()
	if len(sts) != 1 {
		t.Fatalf("instance has %d statuses, want 1", len(sts))
	}
	st := sts[0]
	want := &mastodontest.Status{
		ID: st.ID, URL: s.URL() + "/@account1/" + st.ID, Text: m.Text, SpoilerText: "IT-Ausfall",
		Visibility: "unlisted", Language: "de", IdempotencyKey: m.Key, Token: token, Sensitive: true,
		CreatedAt: epoch,
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&crier.Receipt{RemoteID: st.ID, URL: st.URL, Endpoint: "soest@social"}, rc); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("instance got %d requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.IdempotencyKey != m.Key || q.Token != token {
		t.Errorf("request carried Idempotency-Key %q and token %q, want %q and the account's token", q.IdempotencyKey, q.Token, m.Key)
	}
	if ct := q.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want form encoding", ct)
	}
}

// TestSendPublicByDefault checks the default visibility and a message
// without content warning or language.
func TestSendPublicByDefault(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	m := message()
	m.Language = ""
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	st := s.Statuses()[0]
	if st.Visibility != "public" || st.Sensitive || st.SpoilerText != "" || st.Language != "" {
		t.Errorf("status: visibility %q, sensitive %v, spoiler %q, language %q; want public, false, empty, empty",
			st.Visibility, st.Sensitive, st.SpoilerText, st.Language)
	}
}

// TestRetryAfterAmbiguousTimeout repeats a post whose answer never came:
// the instance knows the key and returns the status it created the first
// time.
func TestRetryAfterAmbiguousTimeout(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	s.Hang()
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	m := message()
	_, err := c.Send(ctx, m)
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Fatalf("Retryable = false, want true: the instance deduplicates on Idempotency-Key (err: %v)", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}

	s.Accept()
	clock.Advance(10 * time.Minute)
	m.Attempt = 2
	rc, err := c.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	sts := s.Statuses()
	if len(sts) != 1 {
		t.Fatalf("instance has %d statuses after a retry with the same key, want 1", len(sts))
	}
	if rc.RemoteID != sts[0].ID {
		t.Errorf("retry's receipt names status %s, want the one created first, %s", rc.RemoteID, sts[0].ID)
	}
	if n := len(statusRequests(s)); n != 2 {
		t.Errorf("instance got %d posts, want 2", n)
	}
}

// TestKeyWindow checks the 55-minute rule: an ambiguous post may be
// repeated only while the instance still knows its key.
func TestKeyWindow(t *testing.T) {
	tests := []struct {
		name      string
		first     time.Duration // before the clock's now; <0 means none
		retryable bool
	}{
		{"first attempt now", 0, true},
		{"first attempt 54 minutes ago", 54 * time.Minute, true},
		{"first attempt 56 minutes ago", 56 * time.Minute, false},
		{"first attempt unknown", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, clock := setup(t, mastodontest.Options{})
			s.Hang()
			m := message()
			m.FirstAttempt = time.Time{}
			if tt.first >= 0 {
				m.FirstAttempt = clock.Now().Add(-tt.first)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			_, err := c.Send(ctx, m)
			if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && e.Retryable != tt.retryable {
				t.Errorf("Retryable = %v, want %v", e.Retryable, tt.retryable)
			}
		})
	}
}

// TestAmbiguousDelivery: a delivery with an earlier unknown outcome is
// sent again only while the instance still knows its key; after that it is
// an unknown outcome without a request, never a second status.
func TestAmbiguousDelivery(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	m := message()
	m.Ambiguous = true
	m.FirstAttempt = clock.Now().Add(-54 * time.Minute)
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("54 minutes after the first attempt: %v", err)
	}
	m = message()
	m.Key = "k7q2m4x9p3z8w6v1.1.werl.mastodon-werl"
	m.Ambiguous = true
	m.FirstAttempt = clock.Now().Add(-56 * time.Minute)
	_, err := c.Send(t.Context(), m)
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && e.Retryable {
		t.Error("an ambiguous delivery past the key window is retryable")
	}
	if n := len(statusRequests(s)); n != 1 {
		t.Errorf("%d status requests, want 1: none past the key window", n)
	}
}

// TestRateLimited checks a 429 with X-RateLimit-Reset: one request, no
// retry by go-mastodon, and no request until the reset.
func TestRateLimited(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	reset := epoch.Add(90 * time.Second)
	s.Respond(http.StatusTooManyRequests, http.Header{
		"X-RateLimit-Remaining": {"0"},
		"X-RateLimit-Reset":     {mastodontest.FormatReset(reset)},
	})
	_, err := c.Send(t.Context(), message())
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 90*time.Second {
		t.Errorf("RetryAfter = %v, want 90s", e.RetryAfter)
	}
	if n := len(s.Requests()); n != 1 {
		t.Fatalf("instance got %d requests, want 1: go-mastodon must not repeat a 429", n)
	}

	s.Accept()
	clock.Advance(30 * time.Second)
	_, err = c.Send(t.Context(), message())
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 60*time.Second {
		t.Errorf("before the reset: RetryAfter = %v, want 60s", e.RetryAfter)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("instance got %d requests, want still 1: a send before the reset makes none", n)
	}
	// Other requests of the account are not held back by a status limit.
	if err := c.Delete(t.Context(), "110000000000000099"); err != nil {
		t.Errorf("Delete while status posts are held back: %v", err)
	}

	clock.Set(reset)
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send at the reset: %v", err)
	}
	if n := len(s.Statuses()); n != 1 {
		t.Errorf("instance has %d statuses, want 1", n)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		want   time.Duration
	}{
		{"429 seconds", 429, http.Header{"Retry-After": {"120"}}, 120 * time.Second},
		{"429 date", 429, http.Header{"Retry-After": {epoch.Add(45 * time.Second).Format(http.TimeFormat)}}, 45 * time.Second},
		{"429 both", 429, http.Header{"Retry-After": {"10"}, "X-RateLimit-Reset": {mastodontest.FormatReset(epoch.Add(time.Minute))}}, 10 * time.Second},
		{"429 reset", 429, http.Header{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {mastodontest.FormatReset(epoch.Add(time.Minute))}}, time.Minute},
		{"429 absurd", 429, http.Header{"Retry-After": {"99999999999"}}, 24 * time.Hour},
		{"503", 503, http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{"500 without", 500, nil, 0},
		{"502 reset in the past", 502, http.Header{"Retry-After": {epoch.Add(-time.Hour).Format(http.TimeFormat)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _ := setup(t, mastodontest.Options{})
			s.Respond(tt.status, tt.header)
			_, err := c.Send(t.Context(), message())
			if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %v, want %v (err: %v)", e.RetryAfter, tt.want, err)
			}
			if n := len(s.Requests()); n != 1 {
				t.Errorf("instance got %d requests, want 1", n)
			}
		})
	}
}

// TestRemainingZero checks that a used-up limit announced by an answer's
// headers holds back later sends without a request.
func TestRemainingZero(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{RateLimit: 2})
	// The instance allows two requests in this five-minute window; the
	// second answer says none remain.
	for i := range 2 {
		m := message()
		m.Key += "." + string(rune('a'+i))
		if _, err := c.Send(t.Context(), m); err != nil {
			t.Fatalf("Send %d: %v", i+1, err)
		}
	}
	reset := epoch.Truncate(mastodontest.RateWindow).Add(mastodontest.RateWindow)
	_, err := c.Send(t.Context(), message())
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != reset.Sub(clock.Now()) {
		t.Errorf("RetryAfter = %v, want %v, until the reset", e.RetryAfter, reset.Sub(clock.Now()))
	}
	if n := len(s.Requests()); n != 2 {
		t.Errorf("instance got %d requests, want 2: the third send must wait without one", n)
	}
	clock.Set(reset)
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send after the reset: %v", err)
	}
	if n := len(s.Statuses()); n != 3 {
		t.Errorf("instance has %d statuses, want 3", n)
	}
}

// TestRemainingZeroHeader uses headers the test sets on a normal answer.
func TestRemainingZeroHeader(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	reset := epoch.Add(4 * time.Minute)
	s.Respond(http.StatusOK, http.Header{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {mastodontest.FormatReset(reset)}})
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	s.Accept()
	clock.Advance(time.Minute)
	m := message()
	m.Key += ".2"
	_, err := c.Send(t.Context(), m)
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 3*time.Minute {
		t.Errorf("RetryAfter = %v, want 3m", e.RetryAfter)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("instance got %d requests, want 1", n)
	}
}

// TestPacingStatuses checks the channel's own window of 300 statuses per
// three hours.
func TestPacingStatuses(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	const spacing = 1100 * time.Millisecond // keeps requests under 300 per 5 minutes
	for i := range 300 {
		m := message()
		m.Key = crier.DeliveryKey("pacing", i+1, "soest", "mastodon-soest", 0)
		m.FirstAttempt = clock.Now()
		if _, err := c.Send(t.Context(), m); err != nil {
			t.Fatalf("Send %d: %v", i+1, err)
		}
		clock.Advance(spacing)
	}
	m := message()
	m.FirstAttempt = clock.Now()
	_, err := c.Send(t.Context(), m)
	want := epoch.Add(3 * time.Hour).Sub(clock.Now())
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != want {
		t.Errorf("RetryAfter = %v, want %v, when the first of the 300 leaves the window", e.RetryAfter, want)
	}
	if n := len(statusRequests(s)); n != 300 {
		t.Errorf("instance got %d posts, want 300", n)
	}
	// Edits count as statuses too.
	_, err = c.Edit(t.Context(), s.Statuses()[0].ID, m)
	channeltest.WantCode(t, err, crier.ETRANSIENT)

	clock.Set(epoch.Add(3 * time.Hour))
	if _, err := c.Send(t.Context(), m); err != nil {
		t.Fatalf("Send when a slot is free: %v", err)
	}
	_, err = c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.ETRANSIENT) // the second status of the window is still in it
	if n := len(s.Statuses()); n != 301 {
		t.Errorf("instance has %d statuses, want 301", n)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		set    func(*mastodontest.Server)
		code   string
		status string // in the error
		text   string // the instance's words, in the error
	}{
		{"401 wrong token", "another-token", nil, crier.EPERMANENT, "401 Unauthorized", mastodontest.ErrInvalidToken},
		{"403 read-only token", "read-only-token", nil, crier.EPERMANENT, "403 Forbidden", mastodontest.ErrOutsideScopes},
		{"404", "", func(s *mastodontest.Server) { s.RespondError(404, nil, mastodontest.ErrNotFound) }, crier.EPERMANENT, "404 Not Found", mastodontest.ErrNotFound},
		{"422 too long", "", nil, crier.EPERMANENT, "422 Unprocessable Entity", "Validation failed: Text character limit of 100 exceeded"},
		{"500", "", func(s *mastodontest.Server) { s.Respond(500, nil) }, crier.ETRANSIENT, "500 Internal Server Error", ""},
		{"503", "", func(s *mastodontest.Server) { s.Respond(503, nil) }, crier.ETRANSIENT, "503 Service Unavailable", ""},
		{"410", "", func(s *mastodontest.Server) { s.Respond(410, nil) }, crier.EPERMANENT, "410 Gone", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := channeltest.NewClock(epoch)
			s := newServer(t, clock, mastodontest.Options{MaxCharacters: 100, ReadOnlyTokens: []string{"read-only-token"}})
			if tt.set != nil {
				tt.set(s)
			}
			tok := tt.token
			if tok == "" {
				tok = token
			}
			c := mustNew(t, mastodon.Options{Server: s.URL(), Token: tok, Clock: clock})
			m := message()
			m.Text = strings.Repeat("Rathaus geschlossen. ", 6) // 126 characters
			_, err := c.Send(t.Context(), m)
			channeltest.WantCode(t, err, tt.code)
			noToken(t, err)
			if err != nil && (!strings.Contains(err.Error(), tt.status) || !strings.Contains(err.Error(), tt.text)) {
				t.Errorf("error %q does not carry %q and the instance's text %q", err, tt.status, tt.text)
			}
			if len(s.Statuses()) != 0 {
				t.Errorf("instance created a status")
			}
		})
	}
}

// TestSendTooLong checks that a text the instance is known to refuse is
// refused without a request, once a probe has learned the instance's
// limit.
func TestSendTooLong(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	mustProbe(t, c)
	m := message()
	m.Text = strings.Repeat("x", 501)
	if ps := c.Check(t.Context(), m); len(ps) != 1 {
		t.Fatalf("Check = %v, want one problem", ps)
	}
	before := len(s.Requests())
	_, err := c.Send(t.Context(), m)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if n := len(s.Requests()); n != before {
		t.Errorf("Send made %d requests, want none", n-before)
	}
	_, err = c.Edit(t.Context(), "110000000000000001", m)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if n := len(s.Requests()); n != before {
		t.Errorf("Edit made %d requests, want none", n-before)
	}
}

func TestEmptyText(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	m := message()
	m.Text = " \n"
	if ps := c.Check(t.Context(), m); len(ps) != 1 || ps[0].Field != "text" {
		t.Errorf("Check = %v, want one problem with the text", ps)
	}
	_, err := c.Send(t.Context(), m)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if n := len(statusRequests(s)); n != 0 {
		t.Errorf("instance got %d posts, want 0", n)
	}
}

func TestEdit(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	m := message()
	m.SpoilerText, m.Sensitive = "IT-Ausfall", true
	rc, err := c.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	clock.Advance(time.Hour)
	m2 := message()
	m2.Revision = 2
	m2.Key = "k7q2m4x9p3z8w6v1.2.soest.mastodon-soest"
	m2.Text = "Update: Das Bürgerbüro öffnet morgen wieder um 8 Uhr."
	m2.Language = "en"
	rc2, err := c.Edit(t.Context(), rc.RemoteID, m2)
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if diff := cmp.Diff(rc, rc2); diff != "" {
		t.Errorf("edit's receipt differs from the post's (-post +edit):\n%s", diff)
	}
	st := s.Statuses()[0]
	want := &mastodontest.Status{
		ID: rc.RemoteID, URL: rc.URL, Text: m2.Text, Visibility: "public", Language: "en",
		IdempotencyKey: m.Key, Token: token, Edits: []string{m2.Text}, CreatedAt: epoch, EditedAt: epoch.Add(time.Hour),
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("edited status (-want +got):\n%s", diff)
	}
	reqs := s.Requests()
	if q := reqs[len(reqs)-1]; q.Method != http.MethodPut || q.Path != "/api/v1/statuses/"+rc.RemoteID {
		t.Errorf("edit request %s %s, want PUT /api/v1/statuses/%s", q.Method, q.Path, rc.RemoteID)
	}
	if len(s.Statuses()) != 1 {
		t.Errorf("the edit created a status")
	}
}

func TestEditRefused(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{Tokens: []string{token, "werl-token"}})
	soest := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock})
	werl := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Token: "werl-token"})
	rc, err := soest.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	for name, edit := range map[string]func() error{
		"unknown": func() error { _, err := soest.Edit(t.Context(), "4242", message()); return err },
		// Mastodon looks statuses up among the account's own: 404.
		"another account's": func() error { _, err := werl.Edit(t.Context(), rc.RemoteID, message()); return err },
		"malformed id":      func() error { _, err := soest.Edit(t.Context(), "../accounts/1", message()); return err },
	} {
		err := edit()
		channeltest.WantCode(t, err, crier.EPERMANENT)
		if err != nil && name != "malformed id" && !strings.Contains(err.Error(), "404 Not Found: "+mastodontest.ErrNotFound) {
			t.Errorf("%s: error %q, want the instance's 404 text", name, err)
		}
	}
	if err := soest.Delete(t.Context(), rc.RemoteID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = soest.Edit(t.Context(), rc.RemoteID, message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if st := s.Statuses()[0]; len(st.Edits) != 0 {
		t.Errorf("status has edits %q, want none", st.Edits)
	}
}

func TestEditAmbiguousIsRetryable(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	clock.Advance(2 * time.Hour) // long after the key expired: edits need none
	s.Hang()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Edit(ctx, rc.RemoteID, message())
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Error("Retryable = false, want true: repeating an edit changes nothing")
	}
}

func TestDelete(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := c.Delete(t.Context(), rc.RemoteID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if st := s.Statuses()[0]; !st.Deleted {
		t.Error("status not deleted")
	}
	// Deleting what is gone succeeds.
	if err := c.Delete(t.Context(), rc.RemoteID); err != nil {
		t.Errorf("Delete again: %v", err)
	}
	if err := c.Delete(t.Context(), "4242"); err != nil {
		t.Errorf("Delete of an unknown status: %v", err)
	}
	reqs := s.Requests()
	if q := reqs[1]; q.Method != http.MethodDelete || q.Path != "/api/v1/statuses/"+rc.RemoteID || q.Token != token {
		t.Errorf("delete request %s %s, want DELETE /api/v1/statuses/%s with the token", q.Method, q.Path, rc.RemoteID)
	}
}

func TestDeleteRefused(t *testing.T) {
	tests := []struct {
		name string
		set  func(*mastodontest.Server)
		code string
	}{
		{"401", func(s *mastodontest.Server) { s.RespondError(401, nil, mastodontest.ErrInvalidToken) }, crier.EPERMANENT},
		{"503", func(s *mastodontest.Server) { s.Respond(503, nil) }, crier.ETRANSIENT},
		{"429", func(s *mastodontest.Server) { s.Respond(429, http.Header{"Retry-After": {"60"}}) }, crier.ETRANSIENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _ := setup(t, mastodontest.Options{})
			tt.set(s)
			err := c.Delete(t.Context(), "110000000000000001")
			channeltest.WantCode(t, err, tt.code)
			noToken(t, err)
		})
	}
}

// TestDeletePacing checks the window of 30 deletions per 30 minutes.
func TestDeletePacing(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	for i := range 30 {
		if err := c.Delete(t.Context(), "4242"); err != nil {
			t.Fatalf("Delete %d: %v", i+1, err)
		}
		clock.Advance(time.Second)
	}
	err := c.Delete(t.Context(), "4242")
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 30*time.Minute-30*time.Second {
		t.Errorf("RetryAfter = %v, want 29m30s", e.RetryAfter)
	}
	if n := len(s.Requests()); n != 30 {
		t.Errorf("instance got %d requests, want 30", n)
	}
}

func TestReply(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	rc, err := c.Send(t.Context(), message())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := message()
	m.Revision = 2
	m.Key = "k7q2m4x9p3z8w6v1.2.soest.mastodon-soest"
	m.Text = "Korrektur: Das Bürgerbüro öffnet bereits um 10 Uhr."
	rc2, err := c.Reply(t.Context(), rc.RemoteID, m)
	if err != nil {
		t.Fatalf("Reply: %v", err)
	}
	sts := s.Statuses()
	if len(sts) != 2 {
		t.Fatalf("instance has %d statuses, want 2", len(sts))
	}
	r := sts[1]
	if r.ID != rc2.RemoteID || r.InReplyToID != rc.RemoteID || r.Text != m.Text || r.IdempotencyKey != m.Key {
		t.Errorf("reply: id %s, in reply to %s, text %q, key %q; want %s, %s, %q, %q",
			r.ID, r.InReplyToID, r.Text, r.IdempotencyKey, rc2.RemoteID, rc.RemoteID, m.Text, m.Key)
	}
	// The same reply again is deduplicated.
	rc3, err := c.Reply(t.Context(), rc.RemoteID, m)
	if err != nil {
		t.Fatalf("Reply again: %v", err)
	}
	if rc3.RemoteID != rc2.RemoteID || len(s.Statuses()) != 2 {
		t.Errorf("a repeated reply created status %s; want the first reply, %s", rc3.RemoteID, rc2.RemoteID)
	}

	m.Key += ".missing"
	_, err = c.Reply(t.Context(), "4242", m)
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if err != nil && !strings.Contains(err.Error(), mastodontest.ErrReplyNotFound) {
		t.Errorf("error %q does not carry the instance's text", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := mustNew(t, mastodon.Options{Server: "http://" + addr, Clock: channeltest.NewClock(epoch)})
	_, err = c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	noToken(t, err)
	err = c.Delete(t.Context(), "1")
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

// TestTLSHandshakeHangs checks a timeout before the request was written.
func TestTLSHandshakeHangs(t *testing.T) {
	addr := channeltest.Blackhole(t)
	c := mustNew(t, mastodon.Options{Server: "https://" + addr, Clock: channeltest.NewClock(epoch)})
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, message())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

// TestTimeoutOption checks that Options.Timeout bounds a call whose
// context has no deadline.
func TestTimeoutOption(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{})
	s.Hang()
	c := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := c.Send(context.Background(), message())
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Send took %v with a 150ms timeout", took)
	}
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Error("Retryable = false, want true")
	}
}

// TestUnreadableAnswer checks a 200 whose body is not a status: the status
// may exist, so the outcome is unknown.
func TestUnreadableAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": `))
	}))
	t.Cleanup(srv.Close)
	c := mustNew(t, mastodon.Options{Server: srv.URL, Clock: channeltest.NewClock(epoch)})
	_, err := c.Send(t.Context(), message())
	if e := channeltest.WantCode(t, err, crier.EUNKNOWN); e != nil && !e.Retryable {
		t.Error("Retryable = false, want true")
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	target := newServer(t, clock, mastodontest.Options{})
	srv := httptest.NewServer(http.RedirectHandler(target.URL()+"/api/v1/statuses", http.StatusTemporaryRedirect))
	t.Cleanup(srv.Close)
	// Even a client that follows redirects must not follow them here.
	c := mustNew(t, mastodon.Options{Server: srv.URL, Clock: clock, Client: &http.Client{}})
	_, err := c.Send(t.Context(), message())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if n := len(target.Requests()); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

// TestClientTransportWrapped checks that an injected client's transport
// carries the requests.
func TestClientTransportWrapped(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{})
	var n int
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		n++
		return http.DefaultTransport.RoundTrip(r)
	})
	c := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Client: &http.Client{Transport: rt}})
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n != 1 {
		t.Errorf("the injected transport carried %d requests, want 1", n)
	}
	if got := s.Requests()[0].IdempotencyKey; got != message().Key {
		t.Errorf("Idempotency-Key = %q through the injected transport, want %q", got, message().Key)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBadKey(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	for _, key := range []string{"", "a\r\nInjected: yes"} {
		m := message()
		m.Key = key
		_, err := c.Send(t.Context(), m)
		channeltest.WantCode(t, err, crier.EPERMANENT)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("instance got %d requests, want 0", n)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		o       mastodon.Options
		wantErr string
	}{
		{"ok", mastodon.Options{Server: "https://social.example", Token: token}, ""},
		{"path prefix", mastodon.Options{Server: "https://example.org/mastodon/", Token: token, Visibility: "direct"}, ""},
		{"no server", mastodon.Options{Token: token}, "server is missing"},
		{"relative", mastodon.Options{Server: "social.example", Token: token}, "scheme"},
		{"ftp", mastodon.Options{Server: "ftp://social.example", Token: token}, "scheme"},
		{"no host", mastodon.Options{Server: "https:///x", Token: token}, "no host"},
		{"malformed", mastodon.Options{Server: "https://social example/%zz", Token: token}, "malformed"},
		{"query", mastodon.Options{Server: "https://social.example/?access_token=" + token, Token: token}, "query"},
		{"no token", mastodon.Options{Server: "https://social.example"}, "token is missing"},
		{"token with newline", mastodon.Options{Server: "https://social.example", Token: token + "\r\nX: y"}, "token contains"},
		{"visibility", mastodon.Options{Server: "https://social.example", Token: token, Visibility: "followers"}, "visibility"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := mastodon.New(tt.o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: err = %v, want one containing %q", err, tt.wantErr)
			}
			noToken(t, err)
		})
	}
}

// TestServerPathPrefix checks an instance served under a path.
func TestServerPathPrefix(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{})
	mux := http.NewServeMux()
	mux.Handle("/mastodon/", http.StripPrefix("/mastodon", proxyTo(t, s.URL())))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := mustNew(t, mastodon.Options{Server: srv.URL + "/mastodon/", Clock: clock})
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(s.Statuses()); n != 1 {
		t.Errorf("instance has %d statuses, want 1", n)
	}
}

// proxyTo forwards requests to base.
func proxyTo(t *testing.T, base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.Path, r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		_, _ = w.Write(b.Bytes())
	})
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
