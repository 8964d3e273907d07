package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// mustHTTPServer serves s as crier serve does, with HTTPServer, on a
// loopback port until the test ends, and returns its URL.
func mustHTTPServer(tb testing.TB, s *Server, t Timeouts) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := s.HTTPServer(t)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	tb.Cleanup(func() {
		hs.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// getFrom sends GET u as a trusted proxy would for client, with
// keep-alive, and returns the response with its body read.
func getFrom(t *testing.T, u, client string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", client)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestConnCapBehindProxy: behind a trusted proxy, whose connections carry
// many clients, a client's running requests count against its cap: a
// client with two slow posts running is turned away without closing the
// proxy's connection, another client is served, and the first is let in
// again once a post ends.
func TestConnCapBehindProxy(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Tokens, o.TrustedProxies, o.MaxConnsPerClient = subscribeTokens, loopback, 2
	})
	base := mustHTTPServer(t, e.server, Timeouts{})
	const a, b = "198.51.100.7", "198.51.100.8"
	var slow []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /soest/subscribe HTTP/1.1\r\nHost: crier\r\nX-Forwarded-For: "+a+"\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\nemail=anna"); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	// until waits for a status of client's; the poll bounds the wait for
	// the server to take up the slow posts or to finish one.
	until := func(client string, want int) *http.Response {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp := getFrom(t, base+"/soest/subscribe", client)
			if resp.StatusCode == want {
				return resp
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %s: %d, want %d within 10s", client, resp.StatusCode, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	resp := until(a, http.StatusTooManyRequests)
	if resp.Close || resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 through a proxy: close %v, Retry-After %q; want the connection kept and a Retry-After",
			resp.Close, resp.Header.Get("Retry-After"))
	}
	if resp := getFrom(t, base+"/soest/subscribe", b); resp.StatusCode != http.StatusOK {
		t.Errorf("client b while a is at its cap: %d", resp.StatusCode)
	}
	if _, err := io.WriteString(slow[0], "@example.org"); err != nil {
		t.Fatal(err)
	}
	until(a, http.StatusOK)
}
