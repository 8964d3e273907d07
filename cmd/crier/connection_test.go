package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// connConfig is a small exercise configuration with a subscribe form at
// /soest/subscribe and the given http section.
func connConfig(t *testing.T, httpSection string) string {
	t.Helper()
	return writeConfig(t, httpSection+`
channels:
  - id: mail-soest
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints: [{host: 127.0.0.1, port: 2525, tls: none}]
towns:
  - {id: soest, name: Stadt Soest, ags: "05974040", channels: [mail-soest]}
`)
}

// dial opens a raw connection to the server at url.
func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the server closes it and fails the test
// unless that happens within d. The read deadline bounds the wait.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	start := time.Now()
	if err := c.SetReadDeadline(start.Add(d)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, c)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", d)
	}
	t.Logf("closed after %v (%v)", time.Since(start).Round(time.Millisecond), err)
}

// TestServeSlowClients: a client that sends its headers slowly, one that
// sends its body slowly and one that keeps an idle connection open are
// all cut off soon after the configured timeouts (300 ms here).
func TestServeSlowClients(t *testing.T) {
	srv := mustServe(t, connConfig(t, "http: {read_timeout: 300ms, idle_timeout: 300ms, max_conns_per_client: 1000}\n"), nil)
	const within = 3 * time.Second // the timeouts are 300 ms; the defaults are a minute and more

	t.Run("slow headers", func(t *testing.T) {
		c := dial(t, srv.URL)
		if _, err := io.WriteString(c, "GET /soest/subscribe HTTP/1.1\r\nHost: crier\r\n"); err != nil {
			t.Fatal(err)
		}
		closedWithin(t, c, within)
	})
	t.Run("slow body", func(t *testing.T) {
		c := dial(t, srv.URL)
		if _, err := io.WriteString(c, "POST /soest/subscribe HTTP/1.1\r\nHost: crier\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=anna"); err != nil {
			t.Fatal(err)
		}
		closedWithin(t, c, within)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t, srv.URL)
		if _, err := io.WriteString(c, "GET /soest/subscribe HTTP/1.1\r\nHost: crier\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET form: %d, close %v", resp.StatusCode, resp.Close)
		}
		closedWithin(t, c, within)
	})
	t.Run("a hundred slow bodies and fifty idle connections", func(t *testing.T) {
		var conns []net.Conn
		for range 100 {
			c := dial(t, srv.URL)
			if _, err := io.WriteString(c, "POST /soest/subscribe HTTP/1.1\r\nHost: crier\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=anna"); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for range 50 {
			conns = append(conns, dial(t, srv.URL))
		}
		var wg sync.WaitGroup
		open := make(chan int, len(conns))
		for i, c := range conns {
			wg.Go(func() {
				_ = c.SetReadDeadline(time.Now().Add(within))
				_, err := io.Copy(io.Discard, c)
				if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
					open <- i
				}
			})
		}
		wg.Wait()
		close(open)
		if n := len(open); n > 0 {
			t.Errorf("%d of %d connections still open after %v", n, len(conns), within)
		}
	})
}

// get sends one GET over c, keeping it alive, with token as bearer token
// unless it is empty, and returns the status.
func get(t *testing.T, c net.Conn, path, token string) int {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: crier\r\n"+auth+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestServeConnCap: one client address holds at most
// http.max_conns_per_client connections; the next one gets 429 and is
// closed, on the pages, the health checks and the API without a token
// alike, while the API with the admin token still answers. When a
// connection closes, a new one is let in.
func TestServeConnCap(t *testing.T) {
	srv := mustServe(t, connConfig(t, "http: {max_conns_per_client: 3}\n"), nil)
	held := make([]net.Conn, 3)
	for i := range held {
		held[i] = dial(t, srv.URL)
		if code := get(t, held[i], "/soest/subscribe", ""); code != http.StatusOK {
			t.Fatalf("connection %d: %d", i+1, code)
		}
	}
	for _, path := range []string{"/soest/subscribe", "/healthz", "/api/v1/towns"} {
		over := dial(t, srv.URL)
		if code := get(t, over, path, ""); code != http.StatusTooManyRequests {
			t.Errorf("%s over the cap: %d, want 429", path, code)
		}
		closedWithin(t, over, 5*time.Second)
	}
	if code := get(t, dial(t, srv.URL), "/api/v1/towns", srv.Client.Token); code != http.StatusOK {
		t.Errorf("API with the admin token over the cap: %d", code)
	}

	held[0].Close()
	// The server notices the close on its own time; the poll bounds the wait.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code := get(t, dial(t, srv.URL), "/soest/subscribe", ""); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection let in within 10s of one closing")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeTrustedProxy: behind the proxy named in http.trusted_proxies,
// two clients have their own subscribe budgets; without it, the
// X-Forwarded-For header of the same requests is ignored.
func TestServeTrustedProxy(t *testing.T) {
	post := func(t *testing.T, url, client string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url+"/soest/subscribe", strings.NewReader("email=anna%40example.org"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, http string
		secondWant int
	}{
		{"trusted", "http: {trusted_proxies: [127.0.0.1, \"::1\"]}\n", http.StatusOK},
		{"not trusted", "", http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mustServe(t, connConfig(t, tc.http), nil)
			for range 5 {
				if code := post(t, srv.URL, "198.51.100.7"); code != http.StatusOK {
					t.Fatalf("client a: %d", code)
				}
			}
			if code := post(t, srv.URL, "198.51.100.7"); code != http.StatusTooManyRequests {
				t.Errorf("client a, post 6: %d, want 429", code)
			}
			if code := post(t, srv.URL, "198.51.100.8"); code != tc.secondWant {
				t.Errorf("client b: %d, want %d", code, tc.secondWant)
			}
		})
	}
}
