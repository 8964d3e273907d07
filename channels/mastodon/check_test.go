package mastodon_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

// TestCheckPerInstance checks one text against two instances with
// different limits.
func TestCheckPerInstance(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	small := newServer(t, clock, mastodontest.Options{MaxCharacters: 500})
	large := newServer(t, clock, mastodontest.Options{MaxCharacters: 1000})
	cs := mustNew(t, mastodon.Options{Server: small.URL(), Clock: clock})
	cl := mustNew(t, mastodon.Options{Server: large.URL(), Clock: clock})

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
	// The instance agrees.
	if _, err := cl.Send(t.Context(), m); err != nil {
		t.Errorf("Send to the 1000-character instance: %v", err)
	}
	for range 3 {
		cs.Check(t.Context(), m)
		cl.Check(t.Context(), message())
	}
	if n, k := instanceRequests(small), instanceRequests(large); n != 1 || k != 1 {
		t.Errorf("instances were asked for their configuration %d and %d times, want once each", n, k)
	}
	for _, q := range small.Requests() {
		if q.Token != "" {
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

// TestCheckInstanceUnreachable checks the fallback to 500 characters, the
// single warning, and a later fetch.
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
	for range 3 {
		if ps := c.Check(t.Context(), m); len(ps) != 1 || !strings.Contains(ps[0].Message, "allows 500") {
			t.Errorf("Check = %v, want one problem against the default of 500", ps)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("logged %d warnings, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Error("the log contains the token")
	}
	// The limit is unknown, so Send leaves the judgement to the instance
	// rather than refusing on a guess.
	_, err = c.Send(t.Context(), m)
	channeltest.WantCode(t, err, crier.ETRANSIENT)
}

// TestCheckInstanceLater checks that a failed fetch is tried again later.
func TestCheckInstanceLater(t *testing.T) {
	c, s, clock := setup(t, mastodontest.Options{MaxCharacters: 1000})
	s.Respond(http.StatusServiceUnavailable, nil)
	m := message()
	m.Text = strings.Repeat("a", 700)
	if ps := c.Check(t.Context(), m); len(ps) != 1 {
		t.Errorf("Check while the instance is down = %v, want one problem against 500", ps)
	}
	s.Accept()
	c.Check(t.Context(), m)
	if n := instanceRequests(s); n != 1 {
		t.Errorf("asked %d times within five minutes, want once", n)
	}
	clock.Advance(5 * time.Minute)
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check after the instance came back = %v, want none", ps)
	}
	if n := instanceRequests(s); n != 2 {
		t.Errorf("asked %d times, want twice", n)
	}
}

// TestCheckURLChars checks that links count as the instance says.
func TestCheckURLChars(t *testing.T) {
	srv := mastodontest.NewServer(t, mastodontest.Options{})
	u, _ := url.Parse(srv.URL())
	c := mustNew(t, mastodon.Options{Server: u.String(), Clock: channeltest.NewClock(epoch)})
	m := message()
	m.Text = strings.Repeat("a", 476) + " https://soest.de/" + strings.Repeat("x", 200)
	if ps := c.Check(t.Context(), m); len(ps) != 0 {
		t.Errorf("Check = %v, want none: 476 + 1 + 23 = 500", ps)
	}
}
