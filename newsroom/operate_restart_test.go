package newsroom_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/crierhq/crier"
)

// TestAccountsAcrossRestart: what the pages changed holds after crier
// restarts on the same database: a revoked token stays refused, a new
// user and the session of the admin stay.
func TestAccountsAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crier.db")
	o := newOperateEnvWith(t, operateOptions{path: path})
	o.addUser("anna", crier.RoleEditor, "soest")
	o.addUser("root", crier.RoleAdmin)
	admin := o.browser()
	admin.login("root")
	csrf := admin.csrf("/admin/tokens")
	_, body := admin.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {"alt"}})
	revoked := tokenSecret.FindString(body)
	_, body = admin.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {"neu"}})
	kept := tokenSecret.FindString(body)
	ts, _ := o.db.Tokens(t.Context(), "root")
	if revoked == "" || kept == "" || len(ts) != 2 {
		t.Fatalf("tokens: %v", ts)
	}
	if res, _ := admin.post("/admin/tokens/"+itoa(ts[0].ID)+"/revoke", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %s", res.Status)
	}
	if res, _ := admin.post("/admin/users", url.Values{"csrf": {csrf}, "name": {"bert"}, "role": {"viewer"},
		"towns": {"werl"}, "password": {testPassword}, "password2": {testPassword}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add bert: %s", res.Status)
	}
	cookies := admin.client.Jar.Cookies(mustURL(t, o.srv.URL+"/admin/"))
	o.srv.Close()
	if err := o.db.Close(); err != nil {
		t.Fatal(err)
	}

	again := newOperateEnvWith(t, operateOptions{path: path})
	if got := again.api(http.MethodGet, "/api/v1/towns", revoked); got != http.StatusUnauthorized {
		t.Errorf("the revoked token after a restart: %d", got)
	}
	if got := again.api(http.MethodGet, "/api/v1/towns", kept); got != http.StatusOK {
		t.Errorf("the kept token after a restart: %d", got)
	}
	b := again.browser()
	for _, c := range cookies {
		c.Path = "/admin/"
	}
	b.client.Jar.SetCookies(mustURL(t, again.srv.URL+"/admin/"), cookies)
	res, body := b.get("/admin/users")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the admin's session after a restart: %s", res.Status)
	}
	mustContain(t, "users after a restart", body, `id="user-bert"`)
	again.browser().login("bert")
}

// TestBehindProxy: behind a reverse proxy that passes on the backend's
// Host, the forms work from the public address, and a form from another
// site is still refused.
func TestBehindProxy(t *testing.T) {
	var backend atomic.Pointer[url.URL]
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backend.Load())
		r.SetXForwarded()
	}})
	t.Cleanup(proxy.Close)
	o := newOperateEnvWith(t, operateOptions{publicURL: proxy.URL})
	backend.Store(mustURL(t, o.srv.URL))

	b := o.browser()
	b.e = &env{t: t, db: o.db, clock: o.clock, nr: o.nr, srv: proxy} // through the proxy
	b.login("anna")
	csrf := b.csrf("/admin/tokens")
	res, body := b.do(http.MethodPost, "/admin/tokens", url.Values{"csrf": {csrf}, "name": {"Proxy"}},
		http.Header{"Origin": {proxy.URL}}) // an older browser: no Sec-Fetch-Site
	if res.StatusCode != http.StatusOK || tokenSecret.FindString(body) == "" {
		t.Fatalf("a token through the proxy: %s", res.Status)
	}
	res, _ = b.do(http.MethodPost, "/admin/tokens", url.Values{"csrf": {csrf}, "name": {"Evil"}},
		http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a form from another site through the proxy: %s", res.Status)
	}
	if ts, _ := o.db.Tokens(t.Context(), "anna"); len(ts) != 1 {
		t.Fatalf("anna's tokens: %v", ts)
	}
}

// TestClientBehindProxy: behind a trusted reverse proxy, the sign-in is
// recorded with the client the proxy names, not the proxy; a proxy the
// server does not trust is the client itself, whatever it claims.
func TestClientBehindProxy(t *testing.T) {
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7"},
		{"not trusted", nil, "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var backend atomic.Pointer[url.URL]
			proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(backend.Load())
				r.Out.Header.Set("X-Forwarded-For", "203.0.113.7")
			}})
			t.Cleanup(proxy.Close)
			o := newOperateEnvWith(t, operateOptions{publicURL: proxy.URL, trusted: tt.trusted})
			backend.Store(mustURL(t, o.srv.URL))
			b := o.browser()
			b.e = &env{t: t, db: o.db, clock: o.clock, nr: o.nr, srv: proxy}
			b.login("anna")
			es, err := o.db.AuditEntries(t.Context(), crier.AuditFilter{Action: crier.AuditLogin})
			if err != nil || len(es) != 1 || es[0].Client != tt.want {
				t.Fatalf("sign-in entries %+v, %v; want one from %s", es, err, tt.want)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
