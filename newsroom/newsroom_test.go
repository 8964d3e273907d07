package newsroom_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/newsroom"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
	"golang.org/x/crypto/argon2"
)

// testNow is when the tests happen.
var testNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testPassword is every test user's password.
const testPassword = "Lippe-Hellweg-Soester-Börde"

// env is the newsroom over a real SQLite database, served by httptest.
type env struct {
	t     *testing.T
	db    *sqlite.DB
	clock *clock
	nr    *newsroom.Newsroom
	srv   *httptest.Server
	// engine is the newsroom's engine.
	engine *crier.Engine
}

type envOptions struct {
	publicURL string
	// engine and options, when set, change the engine and the newsroom's
	// options before the newsroom is made.
	engine  func(*crier.Engine)
	options func(*newsroom.Options)
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: testNow}
	r, err := templates.New(templates.Options{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	towns := []*crier.Town{
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02921 103-0"}},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02922 800-0"}},
	}
	engine := &crier.Engine{
		Directory: crier.NewDirectory(towns, map[string][]string{"kreis-soest": {"soest", "werl"}}),
		Channels:  map[string]*crier.ChannelInfo{},
		Renderer:  r, Store: db, Clock: c, Mode: crier.ModeExercise,
		PublicURL: "http://krisen.example",
	}
	if o.publicURL != "" {
		engine.PublicURL = o.publicURL
	}
	if o.engine != nil {
		o.engine(engine)
	}
	no := newsroom.Options{Engine: engine, Accounts: db, Sessions: db, Audit: db,
		Login: access.NewAccounts(db, nil, c, nil), Clock: c}
	if o.options != nil {
		o.options(&no)
	}
	nr, err := newsroom.New(no)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nr)
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, clock: c, nr: nr, srv: srv, engine: engine}
	e.addUser("anna", crier.RoleEditor, "soest")
	return e
}

// hash is testPassword's Argon2id hash with the least parameters
// password.Verify accepts (64 KiB, one pass), made once. The tests sign in
// hundreds of times, under the race detector too, and a sign-in goes the
// same way whatever parameters the stored hash names; package password
// tests the real ones.
var hash = sync.OnceValue(func() string {
	salt := []byte("crier test salt.")
	key := argon2.IDKey([]byte(testPassword), salt, 1, 64, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
})

func (e *env) addUser(name string, role crier.Role, towns ...string) {
	e.t.Helper()
	if err := e.db.CreateUser(context.Background(), &crier.User{Name: name, Role: role, Towns: towns,
		PasswordHash: hash(), CreatedAt: testNow}); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a person's browser: a cookie jar, and no following of
// redirects, so that the tests see them.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return res, string(data)
}

func (b *browser) get(path string) (*http.Response, string) {
	return b.do(http.MethodGet, path, nil, nil)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	return b.do(http.MethodPost, path, form, nil)
}

// login signs in as name and fails the test unless it works.
func (b *browser) login(name string) {
	b.e.t.Helper()
	res, body := b.post("/admin/login", url.Values{"name": {name}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: %s\n%s", name, res.Status, body)
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page at path.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	_, body := b.get(path)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s:\n%s", path, body)
	}
	return m[1]
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "crier_session") {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	res, _ := b.get("/admin/")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login?next=%2Fadmin%2F" {
		t.Fatalf("GET /admin/ signed out: %s, Location %q", res.Status, res.Header.Get("Location"))
	}

	for _, tt := range []struct{ name, password string }{
		{"anna", "wrong password here"},
		{"nobody", testPassword},
		{"", ""},
	} {
		res, body := b.post("/admin/login", url.Values{"name": {tt.name}, "password": {tt.password}})
		if res.StatusCode != http.StatusUnauthorized || sessionCookie(res) != nil {
			t.Errorf("login %q/%q: %s, cookie %v", tt.name, tt.password, res.Status, sessionCookie(res))
		}
		if !strings.Contains(body, "Benutzername oder Passwort ist falsch.") {
			t.Errorf("login %q/%q: the page does not say why:\n%s", tt.name, tt.password, body)
		}
	}

	res, body := b.post("/admin/login", url.Values{"name": {"anna"}, "password": {testPassword},
		"next": {"/admin/?x=1"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/?x=1" {
		t.Fatalf("login: %s, Location %q\n%s", res.Status, res.Header.Get("Location"), body)
	}
	c := sessionCookie(res)
	if c == nil || c.Name != "crier_session" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure ||
		c.Path != "/admin/" || len(c.Value) < 40 {
		t.Fatalf("session cookie %+v", c)
	}
	res, body = b.get("/admin/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Angemeldet: anna (editor)") {
		t.Fatalf("GET /admin/ signed in: %s\n%s", res.Status, body)
	}
}

func TestLoginEnglish(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	res, body := b.do(http.MethodPost, "/admin/login", url.Values{"name": {"anna"}, "password": {"nope nope nope"}},
		http.Header{"Accept-Language": {"en-GB,en;q=0.8,de;q=0.5"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password.") ||
		!strings.Contains(body, `<html lang="en">`) {
		t.Fatalf("English sign-in failure: %s\n%s", res.Status, body)
	}
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.publicURL = "https://krisen.kreis-soest.example" })
	b := e.browser()
	res, _ := b.post("/admin/login", url.Values{"name": {"anna"}, "password": {testPassword}})
	c := sessionCookie(res)
	if c == nil || c.Name != "__Host-crier_session" || !c.Secure || c.Path != "/" || !c.HttpOnly {
		t.Fatalf("session cookie behind https: %+v", c)
	}
}

// TestSessionRotatedAtLogin: a session someone planted in the browser
// before the sign-in (session fixation) ends with it.
func TestSessionRotatedAtLogin(t *testing.T) {
	e := newEnv(t)
	e.addUser("mallory", crier.RoleViewer, "werl")
	attacker := e.browser()
	attacker.login("mallory")
	u, _ := url.Parse(e.srv.URL + "/admin/")
	planted := attacker.client.Jar.Cookies(u)
	planted[0].Path = "/admin/" // where the newsroom's cookie lives

	victim := e.browser()
	victim.client.Jar.SetCookies(u, planted)
	victim.login("anna")
	if got := victim.client.Jar.Cookies(u); len(got) != 1 || got[0].Value == planted[0].Value {
		t.Fatalf("the planted session was kept: %v", got)
	}
	if res, _ := attacker.get("/admin/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the planted session still works after the victim signed in: %s", res.Status)
	}
	if _, body := victim.get("/admin/"); !strings.Contains(body, "Angemeldet: anna") {
		t.Fatalf("victim not signed in as anna:\n%s", body)
	}
}

func TestSessionEnds(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.login("anna")
		for range 5 { // busy for five hours: each request keeps it alive
			e.clock.Add(59 * time.Minute)
			if res, _ := b.get("/admin/"); res.StatusCode != http.StatusOK {
				t.Fatalf("after %v: %s", e.clock.Now().Sub(testNow), res.Status)
			}
		}
		e.clock.Add(newsroom.DefaultIdle)
		if res, _ := b.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("idle for %v: %s, want a redirect to sign in", newsroom.DefaultIdle, res.Status)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.login("anna")
		for e.clock.Now().Sub(testNow) < newsroom.DefaultAbsolute-30*time.Minute {
			e.clock.Add(30 * time.Minute)
			if res, _ := b.get("/admin/"); res.StatusCode != http.StatusOK {
				t.Fatalf("after %v: %s", e.clock.Now().Sub(testNow), res.Status)
			}
		}
		e.clock.Add(30 * time.Minute)
		if res, _ := b.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("after %v: %s, want a redirect to sign in", e.clock.Now().Sub(testNow), res.Status)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.login("anna")
		if err := e.db.DisableUser(context.Background(), "anna"); err != nil {
			t.Fatal(err)
		}
		if res, _ := b.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a disabled user's session: %s", res.Status)
		}
	})
	t.Run("new password", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.login("anna")
		if err := e.db.SetPassword(context.Background(), "anna", hash()); err != nil {
			t.Fatal(err)
		}
		if res, _ := b.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a session from before a password reset: %s", res.Status)
		}
	})
	t.Run("logout", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.login("anna")
		u, _ := url.Parse(e.srv.URL + "/admin/")
		stolen := b.client.Jar.Cookies(u)
		stolen[0].Path = "/admin/"
		res, _ := b.post("/admin/logout", url.Values{"csrf": {b.csrf("/admin/")}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/login?out" {
			t.Fatalf("logout: %s %q", res.Status, res.Header.Get("Location"))
		}
		other := e.browser()
		other.client.Jar.SetCookies(u, stolen)
		if res, _ := other.get("/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a copy of the cookie works after sign-out: %s", res.Status)
		}
	})
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("anna")
	for _, tt := range []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {"forged"}}, nil},
		{"another session's token", url.Values{"csrf": {func() string {
			o := e.browser()
			o.login("anna")
			return o.csrf("/admin/")
		}()}}, nil},
		{"cross-site", url.Values{"csrf": {b.csrf("/admin/")}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"other origin", url.Values{"csrf": {b.csrf("/admin/")}}, http.Header{"Origin": {"https://evil.example"}}},
	} {
		res, _ := b.do(http.MethodPost, "/admin/logout", tt.form, tt.header)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s, want 403", tt.name, res.Status)
		}
	}
	if res, _ := b.get("/admin/"); res.StatusCode != http.StatusOK {
		t.Fatalf("refused sign-outs signed out: %s", res.Status)
	}
	// A sign-in from another site's form is refused too (login CSRF).
	res, _ := e.browser().do(http.MethodPost, "/admin/login", url.Values{"name": {"anna"}, "password": {testPassword}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if res.StatusCode != http.StatusForbidden || sessionCookie(res) != nil {
		t.Fatalf("cross-site sign-in: %s", res.Status)
	}
}

func TestSafeNext(t *testing.T) {
	e := newEnv(t)
	for next, want := range map[string]string{
		"/admin/announcements?x=1": "/admin/announcements?x=1",
		"https://evil.example/":    "/admin/",
		"//evil.example/admin/":    "/admin/",
		"/\\evil.example":          "/admin/",
		"/admin/../../etc":         "/admin/",
		"/other":                   "/admin/",
		"/admin/login":             "/admin/",
		"":                         "/admin/",
	} {
		res, _ := e.browser().post("/admin/login", url.Values{"name": {"anna"}, "password": {testPassword}, "next": {next}})
		if got := res.Header.Get("Location"); got != want {
			t.Errorf("next %q: Location %q, want %q", next, got, want)
		}
	}
}

func TestHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/admin/login", "/admin/nothing-here", "/admin/assets/newsroom.css"} {
		res, _ := b.get(path)
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: CSP %q, nosniff %q", path, csp, res.Header.Get("X-Content-Type-Options"))
		}
	}
	if res, _ := b.get("/admin/nothing-here"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: %s", res.Status)
	}
	res, _ := b.get("/admin/assets/newsroom.css")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %s %q", res.Status, res.Header.Get("Content-Type"))
	}
	res2, _ := b.do(http.MethodGet, "/admin/assets/newsroom.css", nil, http.Header{"If-None-Match": {res.Header.Get("ETag")}})
	if res2.StatusCode != http.StatusNotModified {
		t.Errorf("unchanged stylesheet asked again: %s", res2.Status)
	}
}

// TestEscaped: what a person typed comes back escaped.
func TestEscaped(t *testing.T) {
	e := newEnv(t)
	_, body := e.browser().post("/admin/login", url.Values{"name": {`"><script>alert(1)</script>`}, "password": {"x"}})
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("the name typed in is not escaped:\n%s", body)
	}
}

// TestLoginAudited: sign-ins, failed ones and sign-outs are in the audit
// trail; a failed sign-in keeps the name typed in only when it could be a
// user's name, never a password typed into the wrong field.
func TestLoginAudited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.post("/admin/login", url.Values{"name": {"anna"}, "password": {"falsch falsch falsch"}})
	b.post("/admin/login", url.Values{"name": {"Mein Passwort 2026!"}, "password": {""}})
	b.login("anna")
	b.post("/admin/logout", url.Values{"csrf": {b.csrf("/admin/")}})

	entries, err := e.db.AuditEntries(context.Background(), crier.AuditFilter{Action: "session."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		got = append(got, en.Action+" "+en.Actor+" "+en.Subject+" "+strings.Join(en.Towns, ","))
	}
	want := []string{
		"session.login_failed system anna ",
		"session.login_failed system  ",
		"session.login anna anna soest",
		"session.logout anna anna ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit entries:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep, err := e.db.VerifyAudit(context.Background()); err != nil || rep.Broken != "" {
		t.Fatalf("VerifyAudit: %+v, %v", rep, err)
	}
}

// TestLoginLocked: after too many wrong passwords, the account is locked
// for a while even for the right one, with a page that says so (429) and
// no session; another account signs in from the same address meanwhile.
func TestLoginLocked(t *testing.T) {
	e := newEnv(t)
	e.addUser("bert", crier.RoleViewer, "werl")
	b := e.browser()
	for range access.AccountFailures {
		if res, _ := b.post("/admin/login", url.Values{"name": {"anna"}, "password": {"falsch falsch falsch"}}); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %s", res.Status)
		}
	}
	res, body := b.post("/admin/login", url.Values{"name": {"anna"}, "password": {testPassword}})
	if res.StatusCode != http.StatusTooManyRequests || sessionCookie(res) != nil || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("right password while locked: %s, cookie %v\n%s", res.Status, sessionCookie(res), body)
	}
	e.browser().login("bert")
	e.clock.Add(access.AccountWindow)
	e.browser().login("anna")
}
