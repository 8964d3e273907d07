package webhook_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// probeLines returns "METHOD path answer" for every probe the receiver got.
func probeLines(r *webhooktest.Receiver) []string {
	var out []string
	for _, p := range r.Probes() {
		out = append(out, p.Method+" "+p.Path+" "+http.StatusText(p.Answer))
	}
	return out
}

// probed returns a receiver and a channel that probes its /health.
func probed(t *testing.T, o webhook.Options) (*webhook.Channel, *webhooktest.Receiver) {
	t.Helper()
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	o.URL = r.URL() + "/hooks"
	o.ProbeURL = r.URL() + "/health"
	o.Clock = clock
	return mustNew(t, o), r
}

func TestProbe(t *testing.T) {
	c, r := probed(t, webhook.Options{})
	for range 2 {
		if err := c.Probe(t.Context()); err != nil {
			t.Fatalf("Probe: %v", err)
		}
	}
	if diff := cmp.Diff([]string{"HEAD /health OK", "HEAD /health OK"}, probeLines(r)); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	for _, p := range r.Probes() {
		for _, h := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
			if v := p.Header.Get(h); v != "" {
				t.Errorf("probe carries %s: %q", h, v)
			}
		}
	}
	if n := len(r.Requests()); n != 0 {
		t.Errorf("receiver got %d webhooks, want 0", n)
	}
	channeltest.WantAccepted(t, r)
}

func TestProbeHeadNotAllowed(t *testing.T) {
	c, r := probed(t, webhook.Options{})
	r.RespondProbe(http.MethodHead, http.StatusMethodNotAllowed, http.Header{"Allow": {"GET"}})
	if err := c.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if diff := cmp.Diff([]string{"HEAD /health Method Not Allowed", "GET /health OK"}, probeLines(r)); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	r.RespondProbe(http.MethodGet, http.StatusServiceUnavailable, http.Header{"Retry-After": {"45"}})
	err := c.Probe(t.Context())
	if e := channeltest.WantCode(t, err, crier.ETRANSIENT); e != nil && e.RetryAfter != 45*time.Second {
		t.Errorf("RetryAfter = %v, want 45s", e.RetryAfter)
	}
	if err != nil && !strings.Contains(err.Error(), "GET 503 Service Unavailable") {
		t.Errorf("error %q does not name the GET and its answer", err)
	}
}

func TestProbeAnswers(t *testing.T) {
	tests := []struct {
		status int
		header http.Header
		code   string
		after  time.Duration
	}{
		{http.StatusNoContent, nil, "", 0},
		{http.StatusMovedPermanently, http.Header{"Location": {"https://elsewhere.example/"}}, "", 0},
		{http.StatusUnauthorized, nil, "", 0},
		{http.StatusForbidden, nil, "", 0},
		{http.StatusNotFound, nil, "", 0},
		{http.StatusGone, nil, "", 0},
		{http.StatusRequestTimeout, nil, crier.ETRANSIENT, 0},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {"120"}}, crier.ETRANSIENT, 2 * time.Minute},
		{http.StatusInternalServerError, nil, crier.ETRANSIENT, 0},
		{http.StatusBadGateway, nil, crier.ETRANSIENT, 0},
		{http.StatusServiceUnavailable, http.Header{"Retry-After": {epoch.Add(time.Minute).Format(http.TimeFormat)}}, crier.ETRANSIENT, time.Minute},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			c, r := probed(t, webhook.Options{})
			r.RespondProbe("", tt.status, tt.header)
			err := c.Probe(t.Context())
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Probe: %v, want nil: the receiver answered", err)
				}
				return
			}
			if e := channeltest.WantCode(t, err, tt.code); e != nil && e.RetryAfter != tt.after {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.after)
			}
		})
	}
}

func TestProbeWithoutURL(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	r := newReceiver(t, testSecret, clock)
	c := mustNew(t, webhook.Options{URL: r.URL(), Clock: clock})
	if err := c.Probe(t.Context()); !errors.Is(err, crier.ErrNoProbe) {
		t.Errorf("Probe = %v, want crier.ErrNoProbe", err)
	}
	if n := len(r.Probes()) + len(r.Requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := mustNew(t, webhook.Options{URL: "http://" + addr + "/hooks", ProbeURL: "http://" + addr + "/health?token=s3cr3t-in-url"})
	err = c.Probe(t.Context())
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	if err != nil && strings.Contains(err.Error(), "s3cr3t-in-url") {
		t.Errorf("error %q contains the probe URL's token", err)
	}
}

// TestProbeTimeout checks that Options.Timeout bounds a probe whose
// context has no deadline, and that an unanswered probe is transient:
// nothing was posted.
func TestProbeTimeout(t *testing.T) {
	for _, behave := range []string{"hang", "drop"} {
		t.Run(behave, func(t *testing.T) {
			c, r := probed(t, webhook.Options{Timeout: 150 * time.Millisecond})
			if behave == "hang" {
				r.Hang()
			} else {
				r.Drop()
			}
			start := time.Now()
			err := c.Probe(context.Background())
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Probe took %v with a 150ms timeout", took)
			}
			channeltest.WantCode(t, err, crier.ETRANSIENT)
			if n := len(r.Requests()); n != 0 {
				t.Errorf("receiver got %d webhooks, want 0", n)
			}
		})
	}
}

func TestProbeCanceled(t *testing.T) {
	c, r := probed(t, webhook.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	channeltest.WantCode(t, c.Probe(ctx), crier.ETRANSIENT)
	if n := len(r.Probes()); n != 0 {
		t.Errorf("receiver got %d probes, want 0", n)
	}
}

// TestAddr: Addr names the host and port a send connects to, and nothing
// of the URL's path or query, which may hold a token.
func TestAddr(t *testing.T) {
	for url, want := range map[string]string{
		"https://radio.example/hooks/crier?token=s3cret": "radio.example:443",
		"http://radio.example/hooks":                     "radio.example:80",
		"http://127.0.0.1:8081/hook":                     "127.0.0.1:8081",
		"https://[::1]:8443/hook":                        "[::1]:8443",
	} {
		c := mustNew(t, webhook.Options{URL: url, Secret: testSecret})
		if got := c.Addr(); got != want {
			t.Errorf("Addr of %s = %q, want %q", url, got, want)
		}
	}
}
