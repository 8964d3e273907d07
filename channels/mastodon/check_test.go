package mastodon_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
)

// instanceRequests counts the requests for the instance document.
func instanceRequests(s *mastodontest.Server) int {
	n := 0
	for _, q := range s.Requests() {
		if q.Method == http.MethodGet && q.Path == "/api/v2/instance" {
			n++
		}
	}
	return n
}

// mustProbe probes c and fails the test when the probe fails.
func mustProbe(t *testing.T, c *mastodon.Channel) {
	t.Helper()
	if err := c.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
}

// limitNote is the note of a channel on host whose limit is not known.
func limitNote(host string) []crier.Note {
	return []crier.Note{{
		Code:    mastodon.NoteLimitUnknown,
		Args:    []string{host, "500"},
		Message: "character limit of " + host + " unknown; checked against Mastodon's default of 500",
	}}
}

// TestCheckPerInstance checks one text against two instances with
// different limits, as their probes learned them, and that Check itself
// asks neither.
func TestCheckPerInstance(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	small := newServer(t, clock, mastodontest.Options{MaxCharacters: 500})
	large := newServer(t, clock, mastodontest.Options{MaxCharacters: 1000})
	cs := mustNew(t, mastodon.Options{Server: small.URL(), Clock: clock})
	cl := mustNew(t, mastodon.Options{Server: large.URL(), Clock: clock})
	mustProbe(t, cs)
	mustProbe(t, cl)
	before := len(small.Requests()) + len(large.Requests())

	m := message()
	m.Text = strings.Repeat("Bürgerbüro ", 60) // 660 characters
	ps := cs.Check(t.Context(), m)
	if len(ps) != 1 {
		t.Fatalf("Check on a 500-character instance = %v, want one problem", ps)
	}
	host := strings.TrimPrefix(small.URL(), "http://")
	if p := ps[0]; p.Field != "text" || !strings.Contains(p.Message, "660 characters") ||
		!strings.Contains(p.Message, host+" allows 500") || p.Town != "" || p.Channel != "" {
		t.Errorf("problem = %+v, want field text, the length, the host and its limit, no town or channel", p)
	}
	if ps := cl.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check on a 1000-character instance = %v, want none", ps)
	}
	for range 3 {
		cs.Check(t.Context(), m)
		cl.Check(t.Context(), message())
	}
	if n := len(small.Requests()) + len(large.Requests()) - before; n != 0 {
		t.Errorf("Check made %d requests, want none", n)
	}
	if ns := append(cs.Notes(), cl.Notes()...); len(ns) != 0 {
		t.Errorf("Notes with known limits = %v, want none", ns)
	}
	// The instance agrees.
	if _, err := cl.Send(t.Context(), m); err != nil {
		t.Errorf("Send to the 1000-character instance: %v", err)
	}
	if n, k := instanceRequests(small), instanceRequests(large); n != 1 || k != 1 {
		t.Errorf("instances were asked for their configuration %d and %d times, want once each", n, k)
	}
	for _, q := range small.Requests() {
		if q.Path == "/api/v2/instance" && q.Token != "" {
			t.Errorf("%s %s carried the token; the instance document is public", q.Method, q.Path)
		}
	}
}

// TestCheckCountsAsMastodon checks the boundary, with links, graphemes and
// the content warning, against Check and the fake instance's own count.
func TestCheckCountsAsMastodon(t *testing.T) {
	link := "https://krisen.kreis-soest.de/soest/" + strings.Repeat("k", 80) // 116 bytes, counts 23
	family := "👨‍👩‍👧"
	tests := []struct {
		name          string
		text, spoiler string
		ok            bool
	}{
		{"exactly 500", strings.Repeat("a", 476) + " " + link, "", true},
		{"501", strings.Repeat("a", 477) + " " + link, "", false},
		{"graphemes", strings.Repeat(family, 490) + " Bürgerbüro", "", false},
		{"graphemes, 500", strings.Repeat(family, 489) + " Bürgerbüro", "", true},
		{"spoiler included", strings.Repeat("a", 490), "IT-Ausfall", true},
		{"spoiler tips it over", strings.Repeat("a", 491), "IT-Ausfall", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, _ := setup(t, mastodontest.Options{})
			mustProbe(t, c)
			m := message()
			m.Text, m.SpoilerText = tt.text, tt.spoiler
			ps := c.Check(t.Context(), m)
			if ok := len(ps) == 0; ok != tt.ok {
				t.Errorf("Check = %v, want ok = %v", ps, tt.ok)
			}
			if !tt.ok {
				return
			}
			if _, err := c.Send(t.Context(), m); err != nil {
				t.Errorf("the instance refused what Check passed: %v", err)
			}
			if n := len(s.Statuses()); n != 1 {
				t.Errorf("instance has %d statuses, want 1", n)
			}
		})
	}
}

// TestCheckNeverAsks checks a channel whose instance accepts requests and
// never answers them: Check returns at once, without a request, against
// Mastodon's default, and Notes says so.
func TestCheckNeverAsks(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{MaxCharacters: 1000})
	s.Hang()
	m := message()
	m.Text = strings.Repeat("a", 501)
	done := make(chan []crier.Problem, 1)
	go func() { done <- c.Check(context.Background(), m) }()
	var ps []crier.Problem
	select {
	case ps = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Check waits for a hung instance")
	}
	host := strings.TrimPrefix(s.URL(), "http://")
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "the limit of "+host+" is not known yet, and Mastodon's default allows 500") {
		t.Errorf("Check = %v, want one problem against the default of 500, saying so", ps)
	}
	m.Text = strings.Repeat("a", 500)
	if ps := c.Check(context.Background(), m); len(ps) != 0 {
		t.Errorf("Check of 500 characters = %v, want none", ps)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("the instance got %d requests, want none", n)
	}
	if diff := cmp.Diff(limitNote(host), c.Notes()); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
}

// TestCheckInstanceUnreachable checks the fallback to 500 characters while
// the instance cannot be reached, and that Send then leaves the judgement
// to the instance rather than refusing on a guess.
func TestCheckInstanceUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs logBuffer
	clock := channeltest.NewClock(epoch)
	c := mustNew(t, mastodon.Options{Server: "http://" + addr, Clock: clock, Logger: newLogger(&logs)})
	m := message()
	m.Text = strings.Repeat("a", 501)
	channeltest.WantCode(t, c.Probe(t.Context()), crier.ETRANSIENT)
	for range 3 {
		if ps := c.Check(t.Context(), m); len(ps) != 1 || !strings.Contains(ps[0].Message, "Mastodon's default allows 500") {
			t.Errorf("Check = %v, want one problem against the default of 500", ps)
		}
	}
	if diff := cmp.Diff(limitNote(addr), c.Notes()); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the log contains the token")
	}
	_, err = c.Send(t.Context(), m)
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

// TestProbeRulesLater checks that a probe whose fetch of the instance
// document fails passes, keeps what is known, warns once, and that the
// fetch is tried again five minutes later.
func TestProbeRulesLater(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{MaxCharacters: 1000})
	var down atomic.Bool
	down.Store(true)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/instance" && down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	var logs logBuffer
	c := mustNew(t, mastodon.Options{Server: front.URL, Clock: clock, Logger: newLogger(&logs)})
	m := message()
	m.Text = strings.Repeat("a", 700)

	mustProbe(t, c)
	if ps := c.Check(t.Context(), m); len(ps) != 1 {
		t.Errorf("Check before the instance said its limit = %v, want one problem against 500", ps)
	}
	if len(c.Notes()) != 1 {
		t.Errorf("Notes = %v, want the unknown limit", c.Notes())
	}
	down.Store(false)
	clock.Advance(4 * time.Minute)
	mustProbe(t, c)
	if ps := c.Check(t.Context(), m); len(ps) != 1 {
		t.Errorf("Check within five minutes of the failed fetch = %v, want one problem against 500", ps)
	}
	clock.Advance(time.Minute)
	mustProbe(t, c)
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check after the instance said its limit = %v, want none", ps)
	}
	if ns := c.Notes(); len(ns) != 0 {
		t.Errorf("Notes = %v, want none", ns)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("logged %d warnings, want 1:\n%s", n, logs.String())
	}
	// A later failure keeps what was learned.
	down.Store(true)
	clock.Advance(time.Hour)
	mustProbe(t, c)
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check after a failed refresh = %v, want none: the limit learned is kept", ps)
	}
}

// TestProbeRefreshesRules checks that a probe asks the instance for its
// rules again once those known are an hour old, and not before.
func TestProbeRefreshesRules(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{MaxCharacters: 1000})
	m := message()
	m.Text = strings.Repeat("a", 700)
	mustProbe(t, c)
	s.SetMaxCharacters(600)
	clock.Advance(59 * time.Minute)
	mustProbe(t, c)
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check within the hour = %v, want none against 1000", ps)
	}
	if n := instanceRequests(s); n != 1 {
		t.Errorf("asked %d times within the hour, want once", n)
	}
	clock.Advance(time.Minute)
	mustProbe(t, c)
	if ps := c.Check(t.Context(), m); len(ps) != 1 || !strings.Contains(ps[0].Message, "allows 600") {
		t.Errorf("Check after the refresh = %v, want one problem against 600", ps)
	}
}

// TestInstancesShared checks that channels on one instance share what a
// probe of one of them learned, and ask the instance once between them.
func TestInstancesShared(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	s := newServer(t, clock, mastodontest.Options{MaxCharacters: 1000, Tokens: []string{token, "werl-token"}})
	is := mastodon.NewInstances(nil)
	a := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock, Instances: is})
	b := mustNew(t, mastodon.Options{Server: s.URL() + "/", Token: "werl-token", Clock: clock, Instances: is})
	other := mustNew(t, mastodon.Options{Server: s.URL(), Clock: clock})
	mustProbe(t, a)
	mustProbe(t, b)
	m := message()
	m.Text = strings.Repeat("a", 700)
	if ps := b.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check of the second channel = %v, want none against 1000", ps)
	}
	if n := instanceRequests(s); n != 1 {
		t.Errorf("asked %d times, want once", n)
	}
	// A channel with a set of its own knows nothing of it.
	if ps := other.Check(t.Context(), m); len(ps) != 1 {
		t.Errorf("Check of a channel outside the set = %v, want one problem against 500", ps)
	}
}

// TestCheckURLChars checks that links count as the instance says.
func TestCheckURLChars(t *testing.T) {
	c, _, _ := setup(t, mastodontest.Options{})
	mustProbe(t, c)
	m := message()
	m.Text = strings.Repeat("a", 476) + " https://soest.de/" + strings.Repeat("x", 200)
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check = %v, want none: 476 + 1 + 23 = 500", ps)
	}
}

// TestTextLimit: the limit a channel gives the renderer is the one Check
// counts against, Mastodon's default while the instance's is not known and
// the instance's own once a probe learned it: a text of exactly the limit
// passes Check, one character more does not.
func TestTextLimit(t *testing.T) {
	c, s, _ := setup(t, mastodontest.Options{MaxCharacters: 1000})
	for _, tc := range []struct {
		name  string
		probe bool
		max   int
	}{{"unknown", false, 500}, {"learned", true, 1000}} {
		if tc.probe {
			mustProbe(t, c)
		}
		lim := c.TextLimit()
		if lim.Max != tc.max {
			t.Errorf("%s: Max %d, want %d", tc.name, lim.Max, tc.max)
		}
		m := message()
		m.SpoilerText = "IT-Störung"
		m.Text = "https://krisen.kreis-soest.example/" + strings.Repeat("x", 80) + " " + strings.Repeat("ä", tc.max-10-24) // 10 for the content warning, 23 for the link, 1 space
		if n := lim.Length(m); n != tc.max {
			t.Errorf("%s: Length %d, want %d: the link counts 23 and the content warning counts", tc.name, n, tc.max)
		}
		if ps := c.Check(t.Context(), m); len(ps) != 0 {
			t.Errorf("%s: Check = %v for a text of the limit, want none", tc.name, ps)
		}
		m.Text += "ä"
		if ps := c.Check(t.Context(), m); len(ps) != 1 || lim.Fits(m) {
			t.Errorf("%s: Check = %v and Fits %v for one over, want a problem and false", tc.name, ps, lim.Fits(m))
		}
	}
	// A checker without the channel's set of instances knows no limit.
	checker, err := mastodon.NewChecker(s.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if lim := checker.TextLimit(); lim.Max != 500 {
		t.Errorf("Checker.TextLimit().Max = %d, want 500", lim.Max)
	}
}
