package access_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/store/sqlite"
)

// provider is an in-process OpenID Connect provider (mockoidc) whose ID
// tokens a test may change before they are handed out, signed with the
// provider's own key.
type provider struct {
	*mockoidc.MockOIDC
	mu     sync.Mutex
	tamper func(claims jwt.MapClaims)
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{MockOIDC: m}
	if err := m.AddMiddleware(p.rewrite); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return p
}

func (p *provider) setTamper(f func(jwt.MapClaims)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// rewrite applies the tamper function to the ID token of token answers.
func (p *provider) rewrite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		tamper := p.tamper
		p.mu.Unlock()
		if r.URL.Path != mockoidc.TokenEndpoint || tamper == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var answer map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &answer) != nil {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		raw, _ := answer["id_token"].(string)
		parts := strings.Split(raw, ".")
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		claims := jwt.MapClaims{}
		json.Unmarshal(b, &claims)
		tamper(claims)
		signed, err := p.Keypair.SignJWT(claims)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		answer["id_token"] = signed
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	})
}

// ssoEnv is a crier-like server with the login routes on a real store,
// and a browser with cookies that follows redirects.
type ssoEnv struct {
	db       *sqlite.DB
	oidc     atomic.Pointer[access.OIDC] // replaced to restart
	provider *provider
	site     *httptest.Server
	browser  *http.Client
}

// result is what the test server's callback answers.
type result struct {
	User  *crier.User `json:"user"`
	Next  string      `json:"next"`
	Code  string      `json:"code"`
	Error string      `json:"error"`
}

var groups = map[string]access.GroupRole{
	"crier-soest-presse":  {Role: crier.RoleEditor, Towns: []string{"soest", "werl"}},
	"crier-werl-freigabe": {Role: crier.RoleApprover, Towns: []string{"werl", "warstein"}},
	"crier-kreis-admin":   {Role: crier.RoleAdmin},
}

func newSSOEnv(t *testing.T, issuer string, p *provider) *ssoEnv {
	t.Helper()
	return newSSOEnvKey(t, issuer, p, nil)
}

// options are the OIDC options of the env; key signs the login cookie.
func (e *ssoEnv) options(issuer string, key []byte) access.OIDCOptions {
	clientID, secret := "crier", "secret"
	if e.provider != nil {
		clientID, secret = e.provider.ClientID, e.provider.ClientSecret
	}
	return access.OIDCOptions{Issuer: issuer, ClientID: clientID, ClientSecret: secret,
		RedirectURL: e.site.URL + access.CallbackPath, Scopes: []string{"openid", "profile", "groups"},
		Groups: groups, Users: e.db, Clock: crier.SystemClock{}, Key: key}
}

func newSSOEnvKey(t *testing.T, issuer string, p *provider, key []byte) *ssoEnv {
	t.Helper()
	e := &ssoEnv{db: MustOpenStore(t), provider: p}
	mux := http.NewServeMux()
	e.site = httptest.NewServer(mux)
	t.Cleanup(e.site.Close)
	o, err := access.NewOIDC(e.options(issuer, key))
	if err != nil {
		t.Fatal(err)
	}
	e.oidc.Store(o)
	mux.HandleFunc("GET /admin/oidc/start", func(w http.ResponseWriter, r *http.Request) {
		if err := e.oidc.Load().Start(w, r, r.FormValue("next")); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(result{Code: crier.ErrorCode(err), Error: crier.ErrorMessage(err)})
		}
	})
	mux.HandleFunc("GET "+access.CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		u, next, err := e.oidc.Load().Finish(w, r)
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(result{Code: crier.ErrorCode(err), Error: crier.ErrorMessage(err)})
			return
		}
		json.NewEncoder(w).Encode(result{User: u, Next: next})
	})
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	return e
}

// login starts a login in the browser and follows it to the callback's
// answer. callback is the last URL the browser asked for.
func (e *ssoEnv) login(t *testing.T, next string) (res result, callback *url.URL) {
	t.Helper()
	resp, err := e.browser.Get(e.site.URL + "/admin/oidc/start?next=" + url.QueryEscape(next))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("answer %d: %v", resp.StatusCode, err)
	}
	return res, resp.Request.URL
}

// get asks for u in the browser and decodes the answer.
func (e *ssoEnv) get(t *testing.T, u string) result {
	t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("answer %d: %v", resp.StatusCode, err)
	}
	return res
}

// TestOIDCGroupToEditor: a login through the provider maps the group
// crier-soest-presse to the editor role for soest and werl, keeps the
// user as external, without a password, and returns to the page asked
// for. The next login follows a change of groups.
func TestOIDCGroupToEditor(t *testing.T) {
	p := startProvider(t)
	e := newSSOEnv(t, p.Issuer(), p)
	p.QueueUser(&mockoidc.MockUser{Subject: "f81d4fae-7dec", PreferredUsername: "Anna.Schmidt@kreis-soest.example",
		Groups: []string{"crier-soest-presse", "other-team"}})
	res, _ := e.login(t, "/admin/compose?town=soest")
	if res.Error != "" || res.User == nil {
		t.Fatalf("login: %+v", res)
	}
	if res.User.Name != "anna.schmidt" || res.User.Role != crier.RoleEditor || !cmp.Equal(res.User.Towns, []string{"soest", "werl"}) {
		t.Errorf("user %+v, want anna.schmidt, editor of soest and werl", res.User)
	}
	if res.Next != "/admin/compose?town=soest" {
		t.Errorf("next %q", res.Next)
	}
	stored, err := e.db.User(context.Background(), "anna.schmidt")
	if err != nil {
		t.Fatal(err)
	}
	if stored.External != p.Issuer() || stored.Subject != "f81d4fae-7dec" || stored.PasswordHash != crier.NoPassword {
		t.Errorf("stored user %+v", stored)
	}
	// Local login is refused to the external user, whatever the password.
	a := access.NewAccounts(e.db, nil, nil, nil)
	if _, err := a.Login(context.Background(), "anna.schmidt", crier.NoPassword, "192.0.2.1"); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("local login of an external user: %v", err)
	}
	// Groups of several roles: the highest, in its own groups' towns only.
	p.QueueUser(&mockoidc.MockUser{Subject: "f81d4fae-7dec", PreferredUsername: "anna.schmidt",
		Groups: []string{"/crier-werl-freigabe", "crier-soest-presse"}})
	res, _ = e.login(t, "")
	if res.User == nil || res.User.Role != crier.RoleEditor || !cmp.Equal(res.User.Towns, []string{"soest", "werl"}) || res.Next != "/admin/" {
		t.Errorf("second login: %+v", res)
	}
	p.QueueUser(&mockoidc.MockUser{Subject: "f81d4fae-7dec", PreferredUsername: "anna.schmidt", Groups: []string{"crier-werl-freigabe"}})
	if res, _ = e.login(t, ""); res.User == nil || res.User.Role != crier.RoleApprover || !cmp.Equal(res.User.Towns, []string{"warstein", "werl"}) {
		t.Errorf("after a change of groups: %+v", res)
	}
	if err := e.db.DisableUser(context.Background(), "anna.schmidt"); err != nil {
		t.Fatal(err)
	}
	p.QueueUser(&mockoidc.MockUser{Subject: "f81d4fae-7dec", PreferredUsername: "anna.schmidt", Groups: []string{"crier-soest-presse"}})
	if res, _ = e.login(t, ""); res.Code != crier.EFORBIDDEN || !strings.Contains(res.Error, "disabled") {
		t.Errorf("disabled user: %+v", res)
	}
}

// TestOIDCNoGroup: a user in no configured group is refused with a clear
// message and not stored; so is one whose name is a local account's.
func TestOIDCNoGroup(t *testing.T) {
	p := startProvider(t)
	e := newSSOEnv(t, p.Issuer(), p)
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "bert", Groups: []string{"kantine"}})
	res, _ := e.login(t, "")
	if res.Code != crier.EFORBIDDEN || !strings.Contains(res.Error, "no group") {
		t.Errorf("no group: %+v", res)
	}
	if _, err := e.db.User(context.Background(), "bert"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("refused user stored: %v", err)
	}
	MustAddUser(t, e.db, "admin2", crier.RoleAdmin, annaPassword)
	p.QueueUser(&mockoidc.MockUser{Subject: "2", PreferredUsername: "admin2", Groups: []string{"crier-soest-presse"}})
	if res, _ = e.login(t, ""); res.Code != crier.EFORBIDDEN || !strings.Contains(res.Error, "another account") {
		t.Errorf("local name taken over: %+v", res)
	}
	if u, _ := e.db.User(context.Background(), "admin2"); u.Role != crier.RoleAdmin || u.External != "" {
		t.Errorf("local admin2 changed: %+v", u)
	}
}

// TestOIDCStateAndReplay: a callback with another state, without the
// login cookie, or repeated after it worked is refused.
func TestOIDCStateAndReplay(t *testing.T) {
	p := startProvider(t)
	e := newSSOEnv(t, p.Issuer(), p)
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})

	// Stop at the callback to replay it.
	e.browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == access.CallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := e.browser.Get(e.site.URL + "/admin/oidc/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	e.browser.CheckRedirect = nil
	at, _ := url.Parse(e.site.URL + access.CallbackPath)
	cookies := e.browser.Jar.Cookies(at)
	if len(cookies) != 1 {
		t.Fatalf("%d login cookies", len(cookies))
	}

	wrong := *callback
	q := wrong.Query()
	q.Set("state", "forged")
	wrong.RawQuery = q.Encode()
	if res := e.get(t, wrong.String()); res.Code != crier.EUNAUTHORIZED {
		t.Errorf("wrong state: %+v", res)
	}
	// The failed callback dropped the cookie: the right state alone is
	// no login either.
	if res := e.get(t, callback.String()); res.Code != crier.EUNAUTHORIZED {
		t.Errorf("without the cookie: %+v", res)
	}
	e.browser.Jar.SetCookies(at, cookies)
	if res := e.get(t, callback.String()); res.User == nil || res.User.Name != "anna" {
		t.Fatalf("callback with cookie and state: %+v", res)
	}
	// A replay of the whole callback, cookie and code included.
	e.browser.Jar.SetCookies(at, cookies)
	if res := e.get(t, callback.String()); res.Code != crier.EUNAUTHORIZED {
		t.Errorf("replayed callback: %+v", res)
	}
}

// TestOIDCTokenChecks: an ID token for another audience, from another
// issuer, expired, or with another nonce is refused, though signed by
// the provider's key.
func TestOIDCTokenChecks(t *testing.T) {
	p := startProvider(t)
	e := newSSOEnv(t, p.Issuer(), p)
	for name, tamper := range map[string]func(jwt.MapClaims){
		"audience": func(c jwt.MapClaims) { c["aud"] = []string{"another-client"} },
		"issuer":   func(c jwt.MapClaims) { c["iss"] = "https://evil.example" },
		"expired":  func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() },
		"nonce":    func(c jwt.MapClaims) { c["nonce"] = "replayed" },
	} {
		p.setTamper(tamper)
		p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})
		if res, _ := e.login(t, ""); res.Code != crier.EUNAUTHORIZED || res.User != nil {
			t.Errorf("%s: %+v", name, res)
		}
	}
	p.setTamper(func(jwt.MapClaims) {})
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})
	if res, _ := e.login(t, ""); res.User == nil {
		t.Errorf("untampered token after the tampered ones: %+v", res)
	}
}

// TestOIDCProviderDown: with the provider down, a login start and a
// callback fail with a clear message, and a local account still signs
// in; once the provider is back, single sign-on works.
func TestOIDCProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := newSSOEnv(t, "http://"+addr+"/oidc", nil)
	res, _ := e.login(t, "")
	if res.Code != crier.ETRANSIENT || !strings.Contains(res.Error, "local account") {
		t.Errorf("start with the provider down: %+v", res)
	}
	MustAddUser(t, e.db, "krisenstab", crier.RoleAdmin, annaPassword)
	if _, err := access.NewAccounts(e.db, nil, nil, nil).Login(context.Background(), "krisenstab", annaPassword, "192.0.2.1"); err != nil {
		t.Errorf("local login with the provider down: %v", err)
	}

	// The provider goes down between the start and the callback.
	p := startProvider(t)
	e = newSSOEnv(t, p.Issuer(), p)
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})
	e.browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == access.CallbackPath {
			p.Shutdown()
		}
		return nil
	}
	if res, _ := e.login(t, ""); res.Code != crier.ETRANSIENT || !strings.Contains(res.Error, "cannot be reached") {
		t.Errorf("callback with the provider down: %+v", res)
	}
}

// TestOIDCRestart: a login started before a restart finishes after it
// when the cookie key stays (crier serve derives it from the instance
// secret); with a new random key it is refused and can start again.
func TestOIDCRestart(t *testing.T) {
	p := startProvider(t)
	key := []byte("a cookie key of at least 32 bytes, from the secret")
	e := newSSOEnvKey(t, p.Issuer(), p, key)
	restart := func(key []byte) {
		o, err := access.NewOIDC(e.options(p.Issuer(), key))
		if err != nil {
			t.Fatal(err)
		}
		e.oidc.Store(o)
	}
	e.browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == access.CallbackPath {
			restart(key)
		}
		return nil
	}
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})
	if res, _ := e.login(t, "/admin/x"); res.User == nil || res.Next != "/admin/x" {
		t.Errorf("restart with the same key: %+v", res)
	}
	e.browser.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == access.CallbackPath {
			restart(nil)
		}
		return nil
	}
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})
	if res, _ := e.login(t, ""); res.Code != crier.EUNAUTHORIZED || !strings.Contains(res.Error, "start again") {
		t.Errorf("restart with a new key: %+v", res)
	}
	e.browser.CheckRedirect = nil
	p.QueueUser(&mockoidc.MockUser{Subject: "1", PreferredUsername: "anna", Groups: []string{"crier-soest-presse"}})
	if res, _ := e.login(t, ""); res.User == nil {
		t.Errorf("a new login after the restart: %+v", res)
	}
}

// TestLocalPath keeps logins from sending people elsewhere.
func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "/admin/",
		"/admin/announcements?town=werl": "/admin/announcements?town=werl",
		"//evil.example/admin/":          "/admin/",
		"/\\evil.example":                "/admin/",
		"https://evil.example/":          "/admin/",
		"javascript:alert(1)":            "/admin/",
		"/admin/\r\nSet-Cookie: x=1":     "/admin/",
		"admin/":                         "/admin/",
		"/admin/../../etc":               "/admin/",
		"/soest/":                        "/admin/",
		"/admin/login":                   "/admin/",
		"/admin/\tx":                     "/admin/",
	} {
		if got := access.LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNewOIDCRefuses a configuration that cannot work.
func TestNewOIDCRefuses(t *testing.T) {
	db := MustOpenStore(t)
	for name, o := range map[string]access.OIDCOptions{
		"no issuer":   {ClientID: "c", RedirectURL: "https://x.example/admin/oidc/callback", Groups: groups, Users: db},
		"no client":   {Issuer: "https://sso.example", RedirectURL: "https://x.example/admin/oidc/callback", Groups: groups, Users: db},
		"no groups":   {Issuer: "https://sso.example", ClientID: "c", RedirectURL: "https://x.example/admin/oidc/callback", Users: db},
		"bad role":    {Issuer: "https://sso.example", ClientID: "c", RedirectURL: "https://x.example/admin/oidc/callback", Groups: map[string]access.GroupRole{"g": {Role: "boss"}}, Users: db},
		"short key":   {Issuer: "https://sso.example", ClientID: "c", RedirectURL: "https://x.example/admin/oidc/callback", Groups: groups, Users: db, Key: []byte("short")},
		"no redirect": {Issuer: "https://sso.example", ClientID: "c", Groups: groups, Users: db},
	} {
		if _, err := access.NewOIDC(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
