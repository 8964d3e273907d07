package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/password"
	"github.com/crierhq/crier/store/sqlite"
)

const annaPassword = "Hochwasser an der Möhne 2026"

// newLoginEnv is a server with real accounts: anna, editor of soest,
// signs in with annaPassword. The peer 127.0.0.1 is a trusted proxy.
func newLoginEnv(t *testing.T) *env {
	e, _ := newLoginEnvLimiter(t)
	return e
}

// newLoginEnvLimiter is newLoginEnv that also returns the login limiter.
func newLoginEnvLimiter(t *testing.T) (*env, *access.Limiter) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hash, err := password.Hash(annaPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(context.Background(), &crier.User{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"},
		PasswordHash: hash, CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	var limiter *access.Limiter
	e := newEnv(t, func(o *Options) {
		accounts := access.NewAccounts(db, nil, o.Clock, nil)
		limiter = accounts.Limiter()
		o.Accounts = db
		o.Logins = accounts
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	return e, limiter
}

func loginBody(name, pw string) string {
	b, _ := json.Marshal(LoginRequest{Name: name, Password: pw, TokenName: "crier login on laptop"})
	return string(b)
}

// TestLogin: name and password get a token without any bearer token;
// the token acts for the user, with the user's towns only, and
// logging out revokes it at once. A wrong password and an unknown name
// get the same 401; the admin token cannot log out.
func TestLogin(t *testing.T) {
	e := newLoginEnv(t)
	ctx := context.Background()
	res, err := (&Client{URL: e.url}).Login(ctx, "anna", annaPassword, "crier login on laptop")
	if err != nil {
		t.Fatal(err)
	}
	if res.User != "anna" || res.Role != crier.RoleEditor || res.Name != "crier login on laptop" || !strings.HasPrefix(res.Token, "crier_") {
		t.Errorf("login: %+v", res)
	}
	anna := &Client{URL: e.url, Token: res.Token}
	if _, err := anna.Towns(ctx); err != nil {
		t.Errorf("the new token: %v", err)
	}
	b, _ := json.Marshal(crier.Announcement{Title: "Wasser", Body: "Abkochen.", Towns: []string{"werl"}})
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/announcements", res.Token, string(b)); status != http.StatusForbidden {
		t.Errorf("publish for werl with anna's token: %d %s", status, body)
	}
	if err := anna.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := anna.Towns(ctx); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("token after logout: %v", err)
	}
	if err := e.client.Logout(ctx); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("logout with the admin token: %v", err)
	}
	wrongStatus, wrong := rawRequest(t, e, http.MethodPost, "/api/v1/login", "", loginBody("anna", "Hochwasser an der Ruhr 2026"))
	unknownStatus, unknown := rawRequest(t, e, http.MethodPost, "/api/v1/login", "", loginBody("bert", annaPassword))
	if wrongStatus != http.StatusUnauthorized || unknownStatus != wrongStatus || string(wrong) != string(unknown) {
		t.Errorf("wrong password: %d %s; unknown name: %d %s", wrongStatus, wrong, unknownStatus, unknown)
	}
	if strings.Contains(string(wrong), "Möhne") || strings.Contains(string(wrong), "Ruhr") {
		t.Errorf("answer quotes a password: %s", wrong)
	}
}

// TestLoginHostileInput: a huge body is 413, garbage 400, neither hashes
// anything nor issues a token.
func TestLoginHostileInput(t *testing.T) {
	e := newLoginEnv(t)
	huge := loginBody("anna", strings.Repeat("x", 1<<20))
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/login", "", huge); status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d %s", status, body)
	}
	for _, body := range []string{"", "{", `{"name":"anna","password":"x","admin":true}`, `["anna"]`} {
		if status, answer := rawRequest(t, e, http.MethodPost, "/api/v1/login", "", body); status != http.StatusBadRequest {
			t.Errorf("%q: %d %s", body, status, answer)
		}
	}
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/login", "", ""); status != http.StatusUnauthorized && status != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/v1/login: %d", status)
	}
}

// TestLoginRateLimit: behind the trusted proxy, one client that tries
// many names is stopped with 429 and Retry-After, while another client
// still signs in; five wrong passwords lock anna's account for every
// client, the right password included. All but the last failures of
// each are counted straight into the limiter: each request hashes a
// password, and only the last one shows that requests count.
func TestLoginRateLimit(t *testing.T) {
	e, limiter := newLoginEnvLimiter(t)
	from := func(client string) http.Header { return http.Header{HeaderForwardedFor: {client}} }
	for i := range access.AddressFailures - 1 {
		limiter.Failed(fmt.Sprintf("user%d", i), "198.51.100.7")
	}
	if status, _, body := rawRequestHeader(t, e, http.MethodPost, "/api/v1/login", "", loginBody("bert", "guess guess guess"), from("198.51.100.7")); status != http.StatusUnauthorized {
		t.Fatalf("last try within the limit: %d %s", status, body)
	}
	status, header, body := rawRequestHeader(t, e, http.MethodPost, "/api/v1/login", "", loginBody("anna", annaPassword), from("198.51.100.7"))
	if status != http.StatusTooManyRequests || header.Get("Retry-After") != "45" {
		t.Errorf("client past its limit: %d, Retry-After %q, %s", status, header.Get("Retry-After"), body)
	}
	if status, _, body := rawRequestHeader(t, e, http.MethodPost, "/api/v1/login", "", loginBody("anna", annaPassword), from("203.0.113.5")); status != http.StatusCreated {
		t.Fatalf("another client: %d %s", status, body)
	}
	for i := range access.AccountFailures - 1 {
		limiter.Failed("anna", fmt.Sprintf("192.0.2.%d", i+1))
	}
	if status, _, body := rawRequestHeader(t, e, http.MethodPost, "/api/v1/login", "", loginBody("anna", "guess guess guess"), from("192.0.2.9")); status != http.StatusUnauthorized {
		t.Fatalf("last wrong password within the limit: %d %s", status, body)
	}
	status, header, body = rawRequestHeader(t, e, http.MethodPost, "/api/v1/login", "", loginBody("anna", annaPassword), from("203.0.113.5"))
	if status != http.StatusTooManyRequests || header.Get("Retry-After") != "180" {
		t.Errorf("locked account: %d, Retry-After %q, %s", status, header.Get("Retry-After"), body)
	}
}

// TestLoginNotOffered: without accounts the route answers 501.
func TestLoginNotOffered(t *testing.T) {
	e := newEnv(t)
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/login", "", loginBody("anna", annaPassword)); status != http.StatusNotImplemented {
		t.Errorf("login: %d %s", status, body)
	}
}
