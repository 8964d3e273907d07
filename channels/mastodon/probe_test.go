package mastodon_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
)

const verifyPath = "/api/v1/accounts/verify_credentials"

// requestLines returns "METHOD path token" for every request the instance
// got.
func requestLines(s *mastodontest.Server) []string {
	var out []string
	for _, q := range s.Requests() {
		out = append(out, q.Method+" "+q.Path+" "+q.Token)
	}
	return out
}

// verifyRequests counts the requests that checked the token.
func verifyRequests(s *mastodontest.Server) int {
	n := 0
	for _, q := range s.Requests() {
		if q.Path == verifyPath {
			n++
		}
	}
	return n
}

func TestProbe(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	for range 3 {
		if err := c.Probe(t.Context()); err != nil {
			t.Fatalf("Probe: %v", err)
		}
	}
	// The first probe also learns the instance's rules, from the public
	// document, without the token; they stay current for an hour.
	want := []string{"GET " + verifyPath + " " + token, "GET /api/v2/instance ", "GET " + verifyPath + " " + token, "GET " + verifyPath + " " + token}
	if diff := cmp.Diff(want, requestLines(s)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if n := len(s.Statuses()); n != 0 {
		t.Errorf("instance has %d statuses after probes, want 0", n)
	}
	// The probes took nothing from the status budget.
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send after probes: %v", err)
	}
}

// TestProbeWriteOnlyToken checks the token crier asks for, with
// write:statuses only: Mastodon refuses it the account with 403, which
// still proves it valid.
func TestProbeWriteOnlyToken(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{Tokens: []string{}, WriteOnlyTokens: []string{token}})
	if err := c.Probe(t.Context()); err != nil {
		t.Fatalf("Probe with a write-only token: %v", err)
	}
	if qs := s.Requests(); len(qs) != 2 || qs[0].Answer != http.StatusForbidden || qs[1].Path != "/api/v2/instance" {
		t.Errorf("requests = %v, want one answered 403, then the instance document", requestLines(s))
	}
	if ns := c.Notes(); len(ns) != 0 {
		t.Errorf("Notes = %v, want none: the probe learned the limit", ns)
	}
}

func TestProbeBadToken(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{})
	c := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Token: "not-the-token"})
	err := c.Probe(t.Context())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if err != nil && !strings.Contains(err.Error(), mastodontest.ErrInvalidToken) {
		t.Errorf("error %q does not carry the instance's text", err)
	}
	if n := len(statusRequests(s)); n != 0 {
		t.Errorf("%d status posts, want 0", n)
	}
	// Only a probe that passes asks for the instance's rules.
	if n := instanceRequests(s); n != 0 {
		t.Errorf("%d requests for the instance document, want 0", n)
	}
}

func TestProbeRevokedToken(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	if err := c.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	s.Revoke(token)
	err := c.Probe(t.Context())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	noToken(t, err)
	if err != nil && !strings.Contains(err.Error(), mastodontest.ErrRevokedToken) {
		t.Errorf("error %q does not say the token was revoked", err)
	}
}

func TestProbeAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		text   string
		code   string
		after  time.Duration
	}{
		{name: "unavailable", status: http.StatusServiceUnavailable, header: http.Header{"Retry-After": {"30"}}, code: crier.ETRANSIENT, after: 30 * time.Second},
		{name: "bad gateway", status: http.StatusBadGateway, code: crier.ETRANSIENT},
		{name: "request timeout", status: http.StatusRequestTimeout, code: crier.ETRANSIENT},
		{name: "rate limited", status: http.StatusTooManyRequests, header: http.Header{
			"X-RateLimit-Remaining": {"0"},
			"X-RateLimit-Reset":     {mastodontest.FormatReset(epoch.Add(2 * time.Minute))},
		}, code: crier.ETRANSIENT, after: 2 * time.Minute},
		{name: "login disabled", status: http.StatusForbidden, text: "Your login is currently disabled", code: crier.EPERMANENT},
		{name: "not found", status: http.StatusNotFound, code: crier.EPERMANENT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s, _ := setup(t, mastodontest.Options{})
			s.RespondError(tc.status, tc.header, tc.text)
			err := c.Probe(t.Context())
			e := channeltest.WantCode(t, err, tc.code)
			if e != nil && e.RetryAfter != tc.after {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tc.after)
			}
			if e != nil && tc.text != "" && !strings.Contains(e.Error(), tc.text) {
				t.Errorf("error %q does not carry the instance's text", e)
			}
			noToken(t, err)
		})
	}
}

// TestProbeHeldBack checks that a probe respects the account's request
// budget: once the instance says none remain, the next probe waits for
// the reset without a request.
func TestProbeHeldBack(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{})
	reset := epoch.Add(4 * time.Minute)
	s.Respond(http.StatusOK, http.Header{"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {mastodontest.FormatReset(reset)}})
	if err := c.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	s.Accept()
	clock.Advance(time.Minute)
	err := c.Probe(t.Context())
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 3*time.Minute {
		t.Errorf("RetryAfter = %v, want 3m", e.RetryAfter)
	}
	if n := verifyRequests(s); n != 1 {
		t.Errorf("instance got %d requests for the account, want 1", n)
	}
	clock.Set(reset)
	if err := c.Probe(t.Context()); err != nil {
		t.Errorf("Probe after the reset: %v", err)
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := mustNew(t, mastodon.Options{Server: "http://" + addr, Clock: channeltest.NewClock(epoch)})
	err = c.Probe(t.Context())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	noToken(t, err)
}

// TestProbeTimeout checks that Options.Timeout bounds a probe whose
// context has no deadline, and that an unanswered probe is transient:
// nothing was posted.
func TestProbeTimeout(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{})
	s.Hang()
	c := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Timeout: 150 * time.Millisecond})
	start := time.Now()
	err := c.Probe(context.Background())
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Probe took %v with a 150ms timeout", took)
	}
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

func TestProbeCanceled(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	channeltest.WantCode(t, c.Probe(ctx), crier.ETRANSIENT)
	if n := len(s.Requests()); n != 0 {
		t.Errorf("instance got %d requests, want 0", n)
	}
}
