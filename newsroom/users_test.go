package newsroom_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

func TestOperateOverview(t *testing.T) {
	o := newOperateEnv(t)
	admin, anna := o.browser(), o.browser()
	admin.login("root")
	anna.login("anna")
	res, body := admin.get("/admin/operate")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("overview as admin: %s", res.Status)
	}
	mustContain(t, "admin's overview", body, `href="/admin/operate/endpoints"`, `href="/admin/operate/subscribers"`,
		`href="/admin/users"`, `href="/admin/tokens"`)
	_, body = anna.get("/admin/operate")
	mustContain(t, "anna's overview", body, `href="/admin/operate/endpoints"`, `href="/admin/tokens"`)
	mustNotContain(t, "anna's overview", body, `href="/admin/operate/subscribers"`, `href="/admin/users"`)
}

func TestUsersAdminOnly(t *testing.T) {
	o := newOperateEnv(t)
	anna := o.browser()
	anna.login("anna")
	csrf := anna.csrf("/admin/tokens")
	for _, path := range []string{"/admin/users", "/admin/users/root", "/admin/users/anna"} {
		if res, _ := anna.get(path); res.StatusCode != http.StatusForbidden {
			t.Errorf("anna GET %s: %s, want 403", path, res.Status)
		}
	}
	for _, tt := range []struct {
		path string
		form url.Values
	}{
		{"/admin/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {testPassword}, "password2": {testPassword}}},
		{"/admin/users/root/disable", url.Values{}},
		{"/admin/users/root/password", url.Values{"password": {"Mallory-owns-this-now"}, "password2": {"Mallory-owns-this-now"}}},
	} {
		tt.form.Set("csrf", csrf)
		if res, _ := anna.post(tt.path, tt.form); res.StatusCode != http.StatusForbidden {
			t.Errorf("anna POST %s: %s, want 403", tt.path, res.Status)
		}
	}
	if _, err := o.db.User(context.Background(), "mallory"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("anna's forged post added a user: %v", err)
	}
	root, err := o.db.User(context.Background(), "root")
	if err != nil || root.Disabled || root.PasswordHash != hash() {
		t.Errorf("anna's forged posts changed root: %+v, %v", root, err)
	}
}

func TestAddUser(t *testing.T) {
	o := newOperateEnv(t)
	b := o.browser()
	b.login("root")
	csrf := b.csrf("/admin/users")

	// Every problem is listed next to its field, and nothing is stored.
	res, body := b.post("/admin/users", url.Values{"csrf": {csrf}, "name": {"Bad Name"}, "role": {"editor"},
		"password": {"short"}, "password2": {"other"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad user: %s", res.Status)
	}
	mustContain(t, "bad user", body, `id="user-name-problem"`, `ist kein gültiger Benutzername`,
		`id="user-towns-problem"`, `braucht mindestens einen Ort`, `id="user-password-problem"`,
		`id="user-password2-problem"`, `value="Bad Name"`)
	if us, _ := o.db.Users(context.Background()); len(us) != 2 {
		t.Fatalf("a bad user was stored: %d users", len(us))
	}
	_, body = b.post("/admin/users", url.Values{"csrf": {csrf}, "name": {"anna"}, "role": {"viewer"}, "towns": {"werl"},
		"password": {"password1234"}, "password2": {"password1234"}})
	mustContain(t, "taken name, common password", body, `ist schon vergeben`, `gehört zu den häufigsten Passwörtern`)

	// A group stands for its towns.
	res, _ = b.post("/admin/users", url.Values{"csrf": {csrf}, "name": {"kreis"}, "role": {"editor"},
		"towns": {"kreis-soest"}, "password": {testPassword}, "password2": {testPassword}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users/kreis?done=user_added" {
		t.Fatalf("add user: %s %q", res.Status, res.Header.Get("Location"))
	}
	u, err := o.db.User(context.Background(), "kreis")
	if err != nil || u.Role != crier.RoleEditor || strings.Join(u.Towns, ",") != "soest,werl" {
		t.Fatalf("stored user %+v, %v", u, err)
	}
	_, body = b.get("/admin/users/kreis?done=user_added")
	mustContain(t, "new user's page", body, `role="status"`, "Benutzer angelegt.", "soest, werl")
	o.browser().login("kreis")

	// A hostile name typed into the form comes back escaped.
	_, body = b.post("/admin/users", url.Values{"csrf": {csrf}, "name": {`"><script>alert(1)</script>`}})
	mustNotContain(t, "hostile name", body, "<script>alert(1)")
}

func TestDisableUser(t *testing.T) {
	o := newOperateEnv(t)
	b := o.browser()
	b.login("root")
	anna := o.browser()
	anna.login("anna")
	csrf := b.csrf("/admin/users")

	// The last active admin stays.
	res, body := b.post("/admin/users/root/disable", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("disable the last admin: %s", res.Status)
	}
	mustContain(t, "last admin", body, `id="disable-problem"`, "letzte aktive Administration")
	if u, _ := o.db.User(context.Background(), "root"); u.Disabled {
		t.Fatal("the last admin was disabled")
	}

	res, _ = b.post("/admin/users/anna/disable", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable anna: %s", res.Status)
	}
	if res, _ := anna.get("/admin/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a disabled user's session still works: %s", res.Status)
	}
	_, body = b.get("/admin/users")
	mustContain(t, "users list", body, `id="user-anna"`, "gesperrt")
	if res, _ := b.post("/admin/users/nobody/disable", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("disable an unknown user: %s", res.Status)
	}

	// With a second admin, the first may go.
	o.addUser("root2", crier.RoleAdmin)
	if res, _ := b.post("/admin/users/root/disable", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable root with another admin: %s", res.Status)
	}
}

func TestResetPassword(t *testing.T) {
	o := newOperateEnv(t)
	b := o.browser()
	b.login("root")
	anna := o.browser()
	anna.login("anna")
	csrf := b.csrf("/admin/users/anna")
	res, body := b.post("/admin/users/anna/password", url.Values{"csrf": {csrf}, "password": {"123456789012"},
		"password2": {"123456789012"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("common password: %s", res.Status)
	}
	mustContain(t, "common password", body, `id="new-password-problem"`)
	const pw = "Ein-neues-Passwort-für-Anna"
	res, _ = b.post("/admin/users/anna/password", url.Values{"csrf": {csrf}, "password": {pw}, "password2": {pw}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset password: %s", res.Status)
	}
	if res, _ := anna.get("/admin/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("anna's session from before the reset: %s", res.Status)
	}
	if res, _ := o.browser().post("/admin/login", url.Values{"name": {"anna"}, "password": {pw}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %s", res.Status)
	}
}

// TestTokens: a person makes a token for the CLI, sees its secret once,
// and the API refuses it at once after they revoke it.
func TestTokens(t *testing.T) {
	o := newOperateEnv(t)
	anna := o.browser()
	anna.login("anna")
	csrf := anna.csrf("/admin/tokens")
	res, body := anna.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {`Laptop <b>Krisenstab</b>`}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create token: %s\n%s", res.Status, body)
	}
	secret := tokenSecret.FindString(body)
	if secret == "" || !strings.Contains(body, `<code class="secret" id="token-secret">`+secret+`</code>`) {
		t.Fatalf("no secret on the result page:\n%s", body)
	}
	mustNotContain(t, "token name", body, "<b>Krisenstab")
	if got := o.api(http.MethodGet, "/api/v1/announcements/none", secret); got != http.StatusNotFound {
		t.Fatalf("the new token: %d, want 404 for an unknown announcement", got)
	}
	if got := o.api(http.MethodGet, "/api/v1/endpoints", secret); got != http.StatusForbidden {
		t.Fatalf("anna's token on an admin route: %d, want 403", got)
	}
	_, body = anna.get("/admin/tokens")
	if strings.Contains(body, secret) {
		t.Fatal("the secret is shown again")
	}
	ts, _ := o.db.Tokens(context.Background(), "anna")
	if len(ts) != 1 {
		t.Fatalf("anna's tokens: %v", ts)
	}
	id := ts[0].ID

	// Nobody revokes a token that is not theirs from the tokens page.
	o.addUser("bert", crier.RoleEditor, "werl")
	bert := o.browser()
	bert.login("bert")
	res, _ = bert.post("/admin/tokens/"+itoa(id)+"/revoke", url.Values{"csrf": {bert.csrf("/admin/tokens")}})
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("bert revokes anna's token: %s", res.Status)
	}
	if got := o.api(http.MethodGet, "/api/v1/announcements/none", secret); got != http.StatusNotFound {
		t.Fatalf("anna's token after bert's try: %d", got)
	}

	res, _ = anna.post("/admin/tokens/"+itoa(id)+"/revoke", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %s", res.Status)
	}
	if got := o.api(http.MethodGet, "/api/v1/announcements/none", secret); got != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d, want 401", got)
	}
	_, body = anna.get("/admin/tokens?done=token_revoked")
	mustContain(t, "after the revoke", body, "Token widerrufen", `id="token-`+itoa(id)+`"`, "widerrufen am")
}

// TestAdminRevokesToken: an admin revokes a user's token on the user's
// page, and it stops working at once.
func TestAdminRevokesToken(t *testing.T) {
	o := newOperateEnv(t)
	anna := o.browser()
	anna.login("anna")
	_, body := anna.post("/admin/tokens", url.Values{"csrf": {anna.csrf("/admin/tokens")}, "name": {"cli"}})
	secret := tokenSecret.FindString(body)
	ts, _ := o.db.Tokens(context.Background(), "anna")
	if secret == "" || len(ts) != 1 {
		t.Fatalf("no token: %v\n%s", ts, body)
	}
	admin := o.browser()
	admin.login("root")
	_, body = admin.get("/admin/users/anna")
	mustContain(t, "anna's page", body, `id="token-`+itoa(ts[0].ID)+`"`, `action="/admin/users/anna/tokens/`+itoa(ts[0].ID)+`/revoke"`)
	mustNotContain(t, "anna's page", body, secret)
	// The path names the user: another user's token is not found there.
	if res, _ := admin.post("/admin/users/root/tokens/"+itoa(ts[0].ID)+"/revoke", url.Values{"csrf": {admin.csrf("/admin/users")}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("anna's token under root: %s", res.Status)
	}
	res, _ := admin.post("/admin/users/anna/tokens/"+itoa(ts[0].ID)+"/revoke", url.Values{"csrf": {admin.csrf("/admin/users")}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin revokes: %s", res.Status)
	}
	if got := o.api(http.MethodGet, "/api/v1/towns", secret); got != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d, want 401", got)
	}
}

func TestTokenNameProblems(t *testing.T) {
	o := newOperateEnv(t)
	anna := o.browser()
	anna.login("anna")
	csrf := anna.csrf("/admin/tokens")
	for _, name := range []string{"", "   ", strings.Repeat("x", 101), "a\nb"} {
		res, body := anna.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {name}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="token-name-problem"`) ||
			tokenSecret.MatchString(body) {
			t.Errorf("token name %q: %s", name, res.Status)
		}
	}
	if ts, _ := o.db.Tokens(context.Background(), "anna"); len(ts) != 0 {
		t.Fatalf("tokens made from bad names: %v", ts)
	}
}
