package newsroom_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/newsroom"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

// ssoEnv is the newsroom with single sign-on through an in-process
// OpenID Connect provider, and a browser that follows redirects.
type ssoEnv struct {
	db       *sqlite.DB
	provider *mockoidc.MockOIDC
	srv      *httptest.Server
	browser  *http.Client
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := mockoidc.NewServer(nil)
	if err != nil {
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

	c := &clock{t: time.Now()} // the provider's tokens carry the real time
	r, err := templates.New(templates.Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	towns := []*crier.Town{
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin"},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052", Language: "de", TimeZone: "Europe/Berlin"},
		{ID: "warstein", Name: "Stadt Warstein", AGS: "05974048", Language: "de", TimeZone: "Europe/Berlin"},
	}
	engine := &crier.Engine{
		Directory: crier.NewDirectory(towns, nil),
		Channels:  map[string]*crier.ChannelInfo{},
		Renderer:  r, Store: db, Clock: c, Mode: crier.ModeExercise, PublicURL: "http://krisen.example",
	}
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	sso, err := access.NewOIDC(access.OIDCOptions{Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecret: m.ClientSecret,
		RedirectURL: srv.URL + access.CallbackPath, Scopes: []string{"openid", "profile", "groups"},
		Groups: map[string]access.GroupRole{"crier-soest-presse": {Role: crier.RoleEditor, Towns: []string{"soest", "werl"}}},
		Users:  db, Clock: c, Key: []byte("a key of the login cookie, 32 bytes or more")})
	if err != nil {
		t.Fatal(err)
	}
	nr, err := newsroom.New(newsroom.Options{Engine: engine, Accounts: db, Sessions: db, Audit: db,
		Login: access.NewAccounts(db, nil, c, nil), SSO: sso, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = nr
	jar, _ := cookiejar.New(nil)
	return &ssoEnv{db: db, provider: m, srv: srv, browser: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (e *ssoEnv) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	res, err := e.browser.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestSingleSignOn: a login through the identity provider maps the group
// crier-soest-presse to the editor role for Soest and Werl, starts a
// session and returns to the page asked for, which offers those two towns.
func TestSingleSignOn(t *testing.T) {
	e := newSSOEnv(t)
	_, body := e.get(t, "/admin/login?next=%2Fadmin%2Fcompose")
	if !strings.Contains(body, `id="sso" href="/admin/oidc/start?next=%2fadmin%2fcompose"`) {
		t.Fatalf("the sign-in page offers no single sign-on:\n%s", body)
	}
	e.provider.QueueUser(&mockoidc.MockUser{Subject: "f81d4fae-7dec", PreferredUsername: "anna.schmidt",
		Email: "anna.schmidt@kreis-soest.example", Groups: []string{"crier-soest-presse", "other-team"}})
	res, body := e.get(t, "/admin/oidc/start?next="+url.QueryEscape("/admin/compose"))
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/admin/compose" {
		t.Fatalf("after single sign-on: %s at %s\n%s", res.Status, res.Request.URL, body)
	}
	if !strings.Contains(body, "Angemeldet: anna.schmidt (editor)") {
		t.Fatalf("not signed in as the editor anna.schmidt:\n%s", body)
	}
	for _, town := range []string{`value="soest"`, `value="werl"`} {
		if !strings.Contains(body, town) {
			t.Errorf("compose does not offer %s", town)
		}
	}
	if strings.Contains(body, `value="warstein"`) {
		t.Errorf("compose offers warstein, for which no group gives rights")
	}
	entries, err := e.db.AuditEntries(context.Background(), crier.AuditFilter{Action: "session.login"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "anna.schmidt" {
		t.Fatalf("sign-in in the audit trail: %+v, %v", entries, err)
	}
}

// TestSingleSignOnDown: with the identity provider down, the sign-in page
// says so, and a local account still signs in.
func TestSingleSignOnDown(t *testing.T) {
	e := newSSOEnv(t)
	if err := e.provider.Shutdown(); err != nil {
		t.Fatal(err)
	}
	res, body := e.get(t, "/admin/oidc/start")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("provider down: %s\n%s", res.Status, body)
	}
	if err := e.db.CreateUser(context.Background(), &crier.User{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"},
		PasswordHash: hash(), CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	res, err := e.browser.PostForm(e.srv.URL+"/admin/login", url.Values{"name": {"anna"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/admin/" {
		t.Fatalf("local sign-in with the provider down: %s at %s", res.Status, res.Request.URL)
	}
}
