package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestSiteFallback: paths outside the API, the probes and the metrics go
// to Options.Site without a token; the API keeps its own 404s and its
// authentication.
func TestSiteFallback(t *testing.T) {
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Site", "1")
		_, _ = w.Write([]byte("site " + r.Method + " " + r.URL.Path))
	})
	e := newEnv(t, func(o *Options) { o.Site = site })
	for _, c := range []struct {
		method, path, token string
		status              int
		site                bool
	}{
		{http.MethodGet, "/", "", http.StatusOK, true},
		{http.MethodGet, "/soest/", "", http.StatusOK, true},
		{http.MethodHead, "/soest/feed.atom", "", http.StatusOK, true},
		{http.MethodGet, "/healthz", "", http.StatusOK, false},
		{http.MethodGet, "/api/v1/announcements", "", http.StatusUnauthorized, false},
		{http.MethodGet, "/api/v1/nope", testToken, http.StatusNotFound, false},
		{http.MethodGet, "/api/v1/towns", testToken, http.StatusOK, false},
	} {
		status, h, body := rawRequestHeader(t, e, c.method, c.path, c.token, "", nil)
		if status != c.status || (h.Get("X-Site") == "1") != c.site {
			t.Errorf("%s %s: %d, site %v; want %d, site %v", c.method, c.path, status, h.Get("X-Site") == "1", c.status, c.site)
		}
		if c.site && c.method == http.MethodGet && !strings.HasPrefix(string(body), "site GET "+c.path) {
			t.Errorf("%s %s: body %q", c.method, c.path, body)
		}
	}
	// Without a site, a path outside the API is a plain 404.
	e = newEnv(t)
	if status, _ := rawRequest(t, e, http.MethodGet, "/soest/", "", ""); status != http.StatusNotFound {
		t.Errorf("GET /soest/ without a site: %d, want 404", status)
	}
}
