package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// postFrom posts the subscribe form with a forwarding header and returns
// the status.
func postFrom(t *testing.T, u, header, value string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(url.Values{"email": {"anna@example.org"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// TestSubscribeBehindTrustedProxy: behind a trusted proxy every client
// has its own budget, counted by the rightmost address the proxy did not
// add itself, so that an address the client puts in front changes nothing.
// The request log names the client.
func TestSubscribeBehindTrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		header  string
		a, b    string // two clients
		spoofed string // client a, with an address of its own choice in front
	}{
		{"X-Forwarded-For", "198.51.100.7", "198.51.100.8", "203.0.113.1, 198.51.100.7"},
		{"Forwarded", "for=198.51.100.7;proto=https", `for="[2001:db8:7::1]:4711"`, `for=203.0.113.1, for=198.51.100.7;proto=https`},
	} {
		t.Run(tc.header, func(t *testing.T) {
			var logs bytes.Buffer
			e := newEnv(t, func(o *Options) {
				o.Tokens = subscribeTokens
				o.TrustedProxies, o.ProxyHeader = loopback, tc.header
				o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			u := e.url + "/soest/subscribe"
			for i := range SubscribeLimit {
				if code := postFrom(t, u, tc.header, tc.a); code != http.StatusOK {
					t.Fatalf("client a, post %d: %d", i+1, code)
				}
			}
			if code := postFrom(t, u, tc.header, tc.a); code != http.StatusTooManyRequests {
				t.Errorf("client a, post %d: %d, want 429", SubscribeLimit+1, code)
			}
			if code := postFrom(t, u, tc.header, tc.spoofed); code != http.StatusTooManyRequests {
				t.Errorf("client a with an address in front: %d, want 429", code)
			}
			for i := range SubscribeLimit {
				if code := postFrom(t, u, tc.header, tc.b); code != http.StatusOK {
					t.Fatalf("client b, post %d: %d", i+1, code)
				}
			}
			if !strings.Contains(logs.String(), "remote=198.51.100.7") {
				t.Errorf("request log does not name the client:\n%s", logs.String())
			}
		})
	}
}

// TestSubscribeUntrustedForwardedFor: a peer that is not a trusted proxy
// cannot pick its address by X-Forwarded-For or Forwarded.
func TestSubscribeUntrustedForwardedFor(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Tokens = subscribeTokens
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	u := e.url + "/soest/subscribe"
	for i := range SubscribeLimit {
		if code := postFrom(t, u, "X-Forwarded-For", "198.51.100."+string(rune('1'+i))); code != http.StatusOK {
			t.Fatalf("post %d: %d", i+1, code)
		}
	}
	for _, h := range [][2]string{{"X-Forwarded-For", "198.51.100.99"}, {"Forwarded", "for=198.51.100.99"}} {
		if code := postFrom(t, u, h[0], h[1]); code != http.StatusTooManyRequests {
			t.Errorf("%s from an untrusted peer: %d, want 429", h[0], code)
		}
	}
}

func TestPeersClient(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ff::/48")}
	for _, tc := range []struct {
		name, header, remote string
		values               []string
		want                 string
		proxied              bool
	}{
		{"untrusted peer", HeaderForwardedFor, "192.0.2.1:5000", []string{"198.51.100.1"}, "192.0.2.1", false},
		{"no header", HeaderForwardedFor, "10.0.0.1:5000", nil, "10.0.0.1", true},
		{"one hop", HeaderForwardedFor, "10.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1", true},
		{"rightmost untrusted", HeaderForwardedFor, "10.0.0.1:5000", []string{"203.0.113.5, 198.51.100.1, 10.2.3.4"}, "198.51.100.1", true},
		{"several header lines", HeaderForwardedFor, "10.0.0.1:5000", []string{"203.0.113.5", "198.51.100.1"}, "198.51.100.1", true},
		{"with port", HeaderForwardedFor, "10.0.0.1:5000", []string{"198.51.100.1:4711"}, "198.51.100.1", true},
		{"garbage", HeaderForwardedFor, "10.0.0.1:5000", []string{"198.51.100.1, bogus"}, "10.0.0.1", true},
		{"all trusted", HeaderForwardedFor, "10.0.0.1:5000", []string{"10.9.9.9, 10.2.3.4"}, "10.9.9.9", true},
		{"ipv6 peer", HeaderForwardedFor, "[2001:db8:ff::1]:443", []string{"2001:db8:1::7"}, "2001:db8:1::7", true},
		{"forwarded", HeaderForwarded, "10.0.0.1:5000", []string{`for=203.0.113.5, for="[2001:db8:1::7]:80";proto=https`}, "2001:db8:1::7", true},
		{"forwarded unknown", HeaderForwarded, "10.0.0.1:5000", []string{"for=198.51.100.1, for=unknown"}, "10.0.0.1", true},
		{"forwarded ignores x-forwarded-for", HeaderForwarded, "10.0.0.1:5000", nil, "10.0.0.1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.values {
				r.Header.Add(tc.header, v)
			}
			if tc.header == HeaderForwarded {
				r.Header.Set(HeaderForwardedFor, "198.51.100.66")
			}
			got, proxied := peers{trusted: trusted, header: tc.header}.client(r)
			if got.String() != tc.want || proxied != tc.proxied {
				t.Errorf("client = %s, %v; want %s, %v", got, proxied, tc.want, tc.proxied)
			}
		})
	}
}
