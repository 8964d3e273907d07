package slack_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/slack"
	"github.com/crierhq/crier/channels/slack/slackfake"
)

// apiCalls returns the Web API methods the fake was called with, and
// whether any request went to the webhook.
func apiCalls(s *slackfake.Server) (calls []string, webhook bool) {
	for _, q := range s.Requests() {
		if q.Webhook {
			webhook = true
			continue
		}
		calls = append(calls, q.API)
	}
	return calls, webhook
}

func TestProbe(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	c := e.bot(t, slack.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	for range 3 {
		if err := c.Probe(t.Context()); err != nil {
			t.Fatalf("Probe: %v", err)
		}
	}
	calls, webhook := apiCalls(e.fake)
	if len(calls) != 3 || webhook {
		t.Errorf("calls = %v, webhook = %v, want three auth.test calls", calls, webhook)
	}
	for _, m := range calls {
		if m != "auth.test" {
			t.Errorf("call %s, want only auth.test", m)
		}
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("fake has %d messages after probes, want 0", n)
	}
	if s := e.sleep.Slept(); len(s) != 0 {
		t.Errorf("probes waited %v, want no pacing", s)
	}
	if !strings.Contains(logs.String(), slackfake.UserID) || strings.Contains(logs.String(), token) {
		t.Errorf("log %q: want the bot user, and never the token", logs.String())
	}
	// Probes do not hold up a post.
	if _, err := c.Send(t.Context(), message()); err != nil {
		t.Fatalf("Send after probes: %v", err)
	}
}

func TestProbeWebhook(t *testing.T) {
	e := newEnv(t)
	err := e.webhook(t, slack.Options{}).Probe(t.Context())
	if !errors.Is(err, crier.ErrNoProbe) {
		t.Errorf("Probe = %v, want crier.ErrNoProbe", err)
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want 0", n)
	}
}

func TestProbeBadToken(t *testing.T) {
	e := newEnv(t)
	const wrong = "xoxb-0000-0000-wr0ngT0k3n"
	err := e.bot(t, slack.Options{Token: wrong}).Probe(t.Context())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if err != nil && (!strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "T0k3n")) {
		t.Errorf("error %q: want it to name invalid_auth and not the token", err)
	}
	c := e.bot(t, slack.Options{})
	if err := c.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	e.fake.Revoke(token)
	err = c.Probe(t.Context())
	channeltest.WantCode(t, err, crier.EPERMANENT)
	if err != nil && !strings.Contains(err.Error(), "token_revoked") {
		t.Errorf("error %q does not name token_revoked", err)
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("fake has %d messages, want 0", n)
	}
}

func TestProbeAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		code   string
		want   string
		after  time.Duration
	}{
		{"rate limited", http.StatusTooManyRequests, http.Header{"Retry-After": {"20"}}, "", crier.ETRANSIENT, 20 * time.Second},
		{"unavailable", http.StatusServiceUnavailable, nil, "", crier.ETRANSIENT, 0},
		{"service_unavailable", http.StatusOK, nil, "service_unavailable", crier.ETRANSIENT, 0},
		{"internal_error", http.StatusOK, nil, "internal_error", crier.ETRANSIENT, 0},
		{"fatal_error", http.StatusOK, nil, "fatal_error", crier.ETRANSIENT, 0},
		{"ok false without a code", http.StatusOK, nil, "", crier.ETRANSIENT, 0},
		{"account_inactive", http.StatusOK, nil, "account_inactive", crier.EPERMANENT, 0},
		{"token_expired", http.StatusOK, nil, "token_expired", crier.EPERMANENT, 0},
		{"forbidden", http.StatusForbidden, nil, "", crier.EPERMANENT, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Respond(tt.status, tt.header, tt.code)
			err := e.bot(t, slack.Options{}).Probe(t.Context())
			if got := channeltest.WantCode(t, err, tt.want); got != nil && got.RetryAfter != tt.after {
				t.Errorf("RetryAfter = %v, want %v", got.RetryAfter, tt.after)
			}
			if err != nil && tt.code != "" && !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q does not name %s", err, tt.code)
			}
		})
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	e := newEnv(t) // before the port is freed, which its server could be given
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = e.bot(t, slack.Options{APIURL: "http://" + addr + "/api/"}).Probe(t.Context())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	// The error says what failed; a refused connection is not the token's
	// fault.
	if !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "token") {
		t.Errorf("Probe = %q, want the refusal named and no word of the token", err)
	}
}

// TestAddr: an incoming webhook, which has no probe, names the host and
// port it posts to, never its secret path; a bot, probed by auth.test,
// names none.
func TestAddr(t *testing.T) {
	e := newEnv(t)
	hook := e.webhook(t, slack.Options{})
	want := strings.TrimPrefix(e.fake.WebhookURL(), "http://")
	want = want[:strings.Index(want, "/")]
	if got := hook.Addr(); got != want {
		t.Errorf("webhook Addr = %q, want %q", got, want)
	}
	if got := e.bot(t, slack.Options{}).Addr(); got != "" {
		t.Errorf("bot Addr = %q, want none", got)
	}
}

// TestProbeTimeout checks that Options.Timeout bounds a probe whose
// context has no deadline, and that a probe without an answer is
// transient, not an unknown outcome: auth.test changes nothing.
func TestProbeTimeout(t *testing.T) {
	for _, behave := range []string{"hang", "drop"} {
		t.Run(behave, func(t *testing.T) {
			e := newEnv(t)
			c := e.bot(t, slack.Options{Timeout: 150 * time.Millisecond})
			if behave == "hang" {
				e.fake.Hang()
			} else {
				e.fake.Drop()
			}
			start := time.Now()
			err := c.Probe(context.Background())
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Probe took %v with a 150ms timeout", took)
			}
			channeltest.WantCode(t, err, crier.ETRANSIENT)
		})
	}
}

func TestProbeCanceled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	channeltest.WantCode(t, e.bot(t, slack.Options{}).Probe(ctx), crier.ETRANSIENT)
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("fake got %d requests, want 0", n)
	}
}
