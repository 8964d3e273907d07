package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/internal/browsertest"
	"github.com/crierhq/crier/server"
)

// newsroomPassword is the password of every person of the newsroom's
// browser tests.
const newsroomPassword = "Hellweg-Börde-Soest-2026"

// newsroomRig is a crier serve in actual mode for the newsroom's browser
// tests: Soest posts to Mastodon through two accounts, on an instance
// that allows 500 characters and on a backup instance that allows 300,
// and to the radio's webhook; Werl through its own account and the radio.
type newsroomRig struct {
	*served
	config         string
	social, backup *mastodontest.Server
	hooks          *webhooktest.Receiver
}

func newNewsroomRig(t *testing.T, extra string, env map[string]string) *newsroomRig {
	t.Helper()
	return newNewsroomRigAt(t, "https://krisen.kreis-soest.example", extra, env)
}

// newNewsroomRigAt is newNewsroomRig with the public URL publicURL and
// more arguments for serve.
func newNewsroomRigAt(t *testing.T, publicURL, extra string, env map[string]string, args ...string) *newsroomRig {
	t.Helper()
	r := &newsroomRig{
		social: mastodontest.NewServer(t, mastodontest.Options{MaxCharacters: 500}),
		backup: mastodontest.NewServer(t, mastodontest.Options{MaxCharacters: 300}),
	}
	secret := webhooktest.NewSecret(t)
	r.hooks = webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	r.config = writeConfig(t, fmt.Sprintf(`mode: actual
public_url: %[5]s
delivery: {probe_interval: 1h, shutdown_timeout: 1s}
%[1]s
channels:
  - id: mastodon-soest
    type: mastodon
    endpoints: [{server: %[2]q, token: tok-soest}, {server: %[3]q, token: tok-soest-backup}]
  - {id: mastodon-werl, type: mastodon, endpoints: [{server: %[2]q, token: tok-werl}]}
  - {id: radio, type: webhook, endpoints: [{url: %[4]q, secret: "${RADIO_SECRET}"}]}
towns:
  - {id: soest, name: Stadt Soest, vars: {phone: "02921 103-0", hashtag: Soest}, channels: [mastodon-soest, radio]}
  - {id: werl, name: Stadt Werl, vars: {phone: "02922 800-0", hashtag: Werl}, channels: [mastodon-werl, radio]}
  - {id: lippstadt, name: Stadt Lippstadt, vars: {phone: "02941 980-0", hashtag: Lippstadt}, channels: [radio]}
`, extra, r.social.URL(), r.backupURL(), r.hooks.URL(), publicURL))
	all := map[string]string{"RADIO_SECRET": secret}
	for k, v := range env {
		all[k] = v
	}
	r.served = mustServe(t, r.config, all, args...)
	// The compose page checks against the limits the probes learned.
	waitProbed(t, r.Client, time.Minute, "mastodon-soest", "mastodon-werl")
	return r
}

// backupURL is the backup instance's URL by the name localhost, so that
// the two instances on this machine have names of their own.
func (r *newsroomRig) backupURL() string {
	return strings.Replace(r.backup.URL(), "127.0.0.1", "localhost", 1)
}

// addUser adds a person with the newsroom password through crier users
// add; args are its flags, such as --role editor --towns soest.
func (r *newsroomRig) addUser(t *testing.T, name string, args ...string) {
	t.Helper()
	args = append([]string{"users", "add", name, "--password-stdin", "--config", r.config, "--data-dir", r.DataDir}, args...)
	if code, _, errOut := runIn(t, nil, newsroomPassword+"\n", args...); code != exitOK {
		t.Fatalf("users add %s: exit %d\n%s", name, code, errOut)
	}
}

// addToken makes an API token for user through crier tokens add and
// returns its secret.
func (r *newsroomRig) addToken(t *testing.T, user string) string {
	t.Helper()
	code, out, errOut := runIn(t, nil, "", "tokens", "add", user, "--config", r.config, "--data-dir", r.DataDir)
	if code != exitOK {
		t.Fatalf("tokens add %s: exit %d\n%s", user, code, errOut)
	}
	return strings.TrimSpace(out)
}

// apiStatus sends a request with body to the API as token and returns
// the answer's status code.
func (r *newsroomRig) apiStatus(t *testing.T, method, path, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, r.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// stored returns the announcements the server keeps, as the admin sees
// them.
func (r *newsroomRig) stored(t *testing.T) []*crier.Announcement {
	t.Helper()
	as, err := r.Client.Announcements(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// logFailed logs the attempts of the deliveries of id that are not sent.
func (r *newsroomRig) logFailed(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	ds, err := r.Client.AllDeliveries(ctx, id, server.DeliveryQuery{})
	if err != nil {
		t.Logf("deliveries of %s: %v", id, err)
		return
	}
	for _, d := range ds {
		if d.State == crier.StateSent {
			continue
		}
		as, err := r.Client.Attempts(ctx, d.ID)
		t.Logf("delivery %d %s × %s: %s", d.ID, d.Town, d.Channel, d.State)
		for _, a := range as {
			t.Logf("  attempt: %+v", a)
		}
		if err != nil {
			t.Logf("  attempts: %v", err)
		}
	}
}

// pilot drives one browser for a test through the newsroom of a rig.
type pilot struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newPilot(t *testing.T, base string) *pilot {
	return &pilot{t: t, ctx: browsertest.Start(t), base: base}
}

// do runs actions as the step name and ends the test if they fail.
func (p *pilot) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	browsertest.Do(p.t, p.ctx, name, actions...)
}

// open navigates to path of the newsroom's server.
func (p *pilot) open(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Navigate(p.base + path)
}

// eval returns what the script js says on the page shown.
func (p *pilot) eval(name, js string, opts ...chromedp.EvaluateOption) string {
	p.t.Helper()
	ctx, cancel := browsertest.Step(p.ctx, name)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, opts...))
	if err != nil {
		p.t.Fatalf("%s: %v", name, err)
	}
	return s
}

// location returns the path of the page shown.
func (p *pilot) location() string {
	p.t.Helper()
	return p.eval("location", "location.pathname")
}

// login signs in on the login page with the form, as a person does.
func (p *pilot) login(name string) {
	p.t.Helper()
	p.do("sign in as "+name,
		p.open("/admin/login"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), newsroomPassword),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		browsertest.Holds(`location.pathname !== "/admin/login" && document.querySelector("form[action='/admin/logout']") !== null`))
}

// textOf is a script's expression for the text of the element id.
func textOf(id string) string {
	return fmt.Sprintf("(document.getElementById(%q) || {textContent: ''}).textContent", id)
}

// check ticks the checkbox or radio id with a click, unless it is ticked.
func check(id string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		on, err := chromedp.Evaluate[bool](fmt.Sprintf("document.getElementById(%q).checked", id))(ctx, target)
		if err != nil || on {
			return chromedp.Void{}, err
		}
		return chromedp.Click(chromedp.ID(id))(ctx, target)
	}
}

// TestNewsroomEditorPublishes is the editor for Soest in the browser: she
// signs in, composes a notice whose Mastodon post is too long for the
// backup instance of Soest's account, sees the problem in the matrix cell
// of Soest × mastodon-soest naming that instance, cannot publish, shortens
// the text, publishes, and watches on the live page, which the server's
// events update without a reload, every delivery reach sent.
func TestNewsroomEditorPublishes(t *testing.T) {
	r := newNewsroomRig(t, "", nil)
	r.addUser(t, "erika", "--role", "editor", "--towns", "soest", "--actual")
	// The Mastodon instance holds its answer until the live page shows the
	// post on its way, so that the page must learn of it by itself.
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	r.social.OnCreate(func(*mastodontest.Status) { <-release })

	backup := strings.TrimPrefix(r.backupURL(), "http://") + " erlaubt 300"
	p := newPilot(t, r.URL)
	p.login("erika")
	// Mastodon shortens a long body by itself; a title and a content
	// warning it keeps whole make the post too long for 300 characters.
	title := "Abkochgebot für Trinkwasser in der Soester Innenstadt, am Ardey und in Ostönnen nach einem Rohrbruch an der Hauptleitung der Stadtwerke am Montagmorgen"
	warning := "Gesundheit: Betrifft Haushalte, Kitas, Schulen, Arztpraxen und Pflegeheime in den genannten Straßen und Ortsteilen"
	p.do("compose a post too long for the backup instance",
		p.open("/admin/compose"),
		chromedp.WaitVisible(chromedp.ID("title")),
		chromedp.SendKeys(chromedp.ID("title"), title),
		chromedp.SendKeys(chromedp.ID("body"), "Bitte kochen Sie Leitungswasser vor dem Trinken ab. Fragen: {{.Vars.phone}}"),
		chromedp.SendKeys(chromedp.ID("spoiler_text"), warning),
		check("town-soest"),
		check("mode-actual"),
		browsertest.Holds(textOf("cell-soest-mastodon-soest")+".includes("+jsString(backup)+")"))
	cell := p.eval("matrix cell", textOf("cell-soest-mastodon-soest"))
	if !strings.Contains(cell, "/ 300 Zeichen (localhost) – zu lang") || !strings.Contains(cell, "/ 500 Zeichen (127.0.0.1)") || strings.Contains(p.eval("radio cell", textOf("cell-soest-radio")), "zu lang") {
		t.Errorf("the cell of Soest × mastodon-soest: %q", cell)
	}
	if p.eval("publish button", `String(document.getElementById("publish").disabled)`) != "true" {
		t.Errorf("the publish button is enabled while a problem remains")
	}
	// Without the script's preview, the button shows the same.
	p.eval("mark the page", `window.crierMark = "compose"; ""`)
	p.do("preview button",
		chromedp.Click(chromedp.CSS(`#compose .actions button[type="submit"]:not([formaction])`)),
		browsertest.Holds(`window.crierMark === undefined && document.getElementById("cell-soest-mastodon-soest")`))
	if cell := p.eval("matrix cell", textOf("cell-soest-mastodon-soest")); !strings.Contains(cell, backup) {
		t.Errorf("the cell after the preview button: %q", cell)
	}

	p.do("shorten the text",
		chromedp.Clear(chromedp.ID("spoiler_text")),
		chromedp.SendKeys(chromedp.ID("spoiler_text"), "Gesundheit"),
		browsertest.Holds(`!document.getElementById("publish").disabled && !document.querySelector(".has-problem")`))
	p.do("publish",
		chromedp.Click(chromedp.ID("publish")),
		browsertest.Holds(`/^\/admin\/announcements\/[^/]+$/.test(location.pathname) && document.getElementById("progress")`))
	path := p.location()
	id := strings.TrimPrefix(path, "/admin/announcements/")
	// The page shows the post on its way, then, without a reload, sent.
	p.do("the post on its way", browsertest.Holds(`document.querySelector('[data-cell="soest|mastodon-soest|pending"]').textContent === "1"`))
	p.eval("mark the page", `window.crierMark = "same page"; ""`)
	open()
	t.Cleanup(func() {
		if t.Failed() {
			r.logFailed(t, id)
		}
	})
	p.do("every delivery sent", browsertest.Holds(`(() => {
		const cells = [...document.querySelectorAll('#progress tbody tr')];
		return cells.length === 2 && cells.every((tr) => {
			const n = (k) => tr.querySelector('[data-cell$="|' + k + '"]').textContent;
			return n("total") !== "0" && n("sent") === n("total");
		}) && document.querySelector('[data-cell="||pending"]').textContent === "0";
	})()`))
	if p.eval("same page", `String(window.crierMark)`) != "same page" {
		t.Errorf("the page was reloaded: it should follow the events")
	}
	if sum := p.eval("summary", textOf("progress-summary")); !strings.Contains(sum, "2 von 2 versandt") {
		t.Errorf("summary %q", sum)
	}

	// What arrived: one status on the instance that allows 500, none on
	// the backup, and the radio's webhook.
	if ss := r.social.StatusesOf("tok-soest"); len(ss) != 1 || ss[0].SpoilerText != "Gesundheit" || !strings.HasPrefix(ss[0].Text, title) {
		t.Errorf("statuses on the instance: %v, want 1 with the shortened content warning", ss)
	}
	if n := len(r.backup.Statuses()); n != 0 {
		t.Errorf("%d statuses on the backup instance, want none", n)
	}
	st := waitDone(t, r.Client, id, time.Minute)
	if st.Totals[crier.StateSent] != st.Total || st.Total != 2 {
		t.Errorf("status %v of %d, want 2 sent", st.Totals, st.Total)
	}
	as := r.stored(t)
	if len(as) != 1 || as[0].Mode != crier.ModeActual || as[0].Title != title {
		for _, a := range as {
			t.Errorf("stored %+v", a)
		}
	}
}

// jsString quotes s for a script.
func jsString(s string) string { return fmt.Sprintf("%q", s) }

// TestNewsroomWerlIsNotHers: the editor for Soest cannot publish for Werl.
// The compose form does not offer Werl; a box for Werl added to the form
// in the browser gets 403, as does a post with her session and its CSRF
// token; her API token gets 403 from the API; crier publish with it fails.
// Nothing is stored.
func TestNewsroomWerlIsNotHers(t *testing.T) {
	r := newNewsroomRig(t, "", nil)
	r.addUser(t, "erika", "--role", "editor", "--towns", "soest", "--actual")
	p := newPilot(t, r.URL)
	p.login("erika")
	p.do("compose", p.open("/admin/compose"), chromedp.WaitVisible(chromedp.ID("title")))
	if towns := p.eval("towns offered", `[...document.querySelectorAll('#towns input[type=checkbox]')].map((e) => e.value).join(",")`); strings.Contains(towns, "werl") || !strings.Contains(towns, "soest") {
		t.Errorf("towns offered: %s", towns)
	}
	if strings.Contains(p.eval("page text", "document.body.innerText"), "Stadt Werl") {
		t.Errorf("the compose page names Werl")
	}

	// A box for Werl added to the form, as a forger would.
	p.do("forged form",
		chromedp.SendKeys(chromedp.ID("title"), "Gefälscht"),
		chromedp.SendKeys(chromedp.ID("body"), "Nicht für Werl."),
		check("mode-actual"),
		chromedp.Evaluate[chromedp.Void](`(() => {
			const box = document.createElement("input");
			box.type = "checkbox"; box.name = "towns"; box.value = "werl"; box.checked = true;
			document.getElementById("towns").append(box);
			document.getElementById("publish").disabled = false;
		})()`),
		chromedp.Click(chromedp.ID("publish")),
		browsertest.Holds(`location.pathname === "/admin/compose/publish"`))
	if got := p.eval("answer", "document.querySelector('h1').textContent"); got != "Fehler 403" {
		t.Errorf("the forged form's answer: %q, want Fehler 403", got)
	}
	if as := r.stored(t); len(as) != 0 {
		t.Fatalf("stored: %v", as)
	}

	// The same with her session's cookie and a CSRF token it was given.
	status := p.eval("post for Werl", `(async () => {
		const page = await fetch("/admin/compose", {credentials: "same-origin"}).then((r) => r.text());
		const csrf = new DOMParser().parseFromString(page, "text/html").querySelector("input[name=csrf]").value;
		const form = new URLSearchParams({csrf: csrf, title: "Gefälscht", body: "Nicht für Werl.", towns: "werl",
			mode: "actual", when: "now", channels_listed: "1"});
		const res = await fetch("/admin/compose/publish", {method: "POST", body: form, credentials: "same-origin"});
		return String(res.status);
	})()`, chromedp.EvalAwaitPromise)
	if status != "403" {
		t.Errorf("a post for Werl with her session: %s, want 403", status)
	}
	if as := r.stored(t); len(as) != 0 {
		t.Fatalf("stored: %v", as)
	}

	// The API with her own token, and the CLI.
	token := r.addToken(t, "erika")
	body := `{"title": "Gefälscht", "body": "Nicht für Werl.", "towns": ["werl"], "mode": "actual"}`
	if code := r.apiStatus(t, http.MethodPost, "/api/v1/announcements", token, body); code != http.StatusForbidden {
		t.Errorf("API with her token for Werl: %d, want 403", code)
	}
	if code := r.apiStatus(t, http.MethodPost, "/api/v1/announcements", token, strings.Replace(body, `"werl"`, `"soest", "werl"`, 1)); code != http.StatusForbidden {
		t.Errorf("API with her token for Soest and Werl: %d, want 403", code)
	}
	file := filepath.Join(t.TempDir(), "notice.md")
	if err := os.WriteFile(file, []byte("---\ntitle: Gefälscht\ntowns: [werl]\nmode: actual\n---\nNicht für Werl.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CRIER_SERVER": r.URL, "CRIER_TOKEN": token, "CRIER_LANG": "en"}
	if code, out, errOut := run(t, env, "publish", file); code != exitFailure || !strings.Contains(errOut, "werl") {
		t.Errorf("crier publish for Werl: exit %d\n%s%s", code, out, errOut)
	}
	if as := r.stored(t); len(as) != 0 {
		t.Fatalf("stored: %v", as)
	}
}

// loginStatus signs in as name with password through the login form's
// post and returns the answer's status: 303 when it worked.
func (r *newsroomRig) loginStatus(t *testing.T, name, password string) int {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(r.URL+"/admin/login", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestNewsroomAdminManagesUsers: an admin signs in and, through the forms
// of the users' pages, adds a user, resets an editor's password, disables
// the new user and revokes the editor's API token, which the API refuses
// with 401 at once.
func TestNewsroomAdminManagesUsers(t *testing.T) {
	r := newNewsroomRig(t, "", nil)
	r.addUser(t, "amelie", "--role", "admin")
	r.addUser(t, "erika", "--role", "editor", "--towns", "soest")
	token := r.addToken(t, "erika")
	if code := r.apiStatus(t, http.MethodGet, "/api/v1/announcements", token, ""); code != http.StatusOK {
		t.Fatalf("API with erika's token before: %d", code)
	}
	p := newPilot(t, r.URL)
	p.login("amelie")

	const paulPassword = "Möhnesee-Staumauer-1913"
	p.do("add a user",
		p.open("/admin/users"),
		chromedp.WaitVisible(chromedp.ID("add-user-form")),
		chromedp.SendKeys(chromedp.ID("user-name"), "paul"),
		check("role-editor"),
		check("town-werl"),
		chromedp.SendKeys(chromedp.ID("user-password"), paulPassword),
		chromedp.SendKeys(chromedp.ID("user-password2"), paulPassword),
		chromedp.Click(chromedp.CSS(`#add-user-form button[type="submit"]`)),
		browsertest.Holds(`location.pathname === "/admin/users/paul" && document.getElementById("user-facts")`))
	if facts := p.eval("paul's page", textOf("user-facts")); !strings.Contains(facts, "Redaktion") || !strings.Contains(facts, "werl") {
		t.Errorf("paul's page: %q", facts)
	}
	p.do("the list", p.open("/admin/users"), chromedp.WaitVisible(chromedp.ID("user-paul")))
	if row := p.eval("paul's row", textOf("user-paul")); !strings.Contains(row, "werl") || !strings.Contains(row, "aktiv") {
		t.Errorf("paul's row: %q", row)
	}
	if code := r.loginStatus(t, "paul", paulPassword); code != http.StatusSeeOther {
		t.Errorf("paul signs in: %d", code)
	}

	const newPassword = "Soester-Fehde-1444-1449"
	p.do("reset erika's password",
		p.open("/admin/users/erika"),
		chromedp.WaitVisible(chromedp.ID("password-form")),
		chromedp.SendKeys(chromedp.ID("new-password"), newPassword),
		chromedp.SendKeys(chromedp.ID("new-password2"), newPassword),
		chromedp.Click(chromedp.CSS(`#password-form button[type="submit"]`)),
		browsertest.Holds(`document.querySelector('main [role="status"]')`))
	if code := r.loginStatus(t, "erika", newsroomPassword); code == http.StatusSeeOther {
		t.Errorf("erika signs in with her old password")
	}
	if code := r.loginStatus(t, "erika", newPassword); code != http.StatusSeeOther {
		t.Errorf("erika signs in with her new password: %d", code)
	}

	p.do("disable paul",
		p.open("/admin/users/paul"),
		chromedp.WaitVisible(chromedp.ID("disable-form")),
		chromedp.Click(chromedp.CSS(`#disable-form button[type="submit"]`)),
		browsertest.Holds(`!document.getElementById("disable-form") && document.querySelector(".user-state")`))
	if state := p.eval("paul's state", `document.querySelector(".user-state").textContent`); state != "gesperrt" {
		t.Errorf("paul's state: %q", state)
	}
	if code := r.loginStatus(t, "paul", paulPassword); code == http.StatusSeeOther {
		t.Errorf("paul signs in although disabled")
	}

	p.do("erika's tokens", p.open("/admin/users/erika"), chromedp.WaitVisible(chromedp.ID("tokens")))
	id := p.eval("token id", `document.querySelector("#tokens tr.token th").textContent`)
	p.do("revoke erika's token",
		chromedp.Click(chromedp.ID("revoke-"+id)),
		browsertest.Holds(`!document.getElementById("revoke-`+id+`") && document.getElementById("token-`+id+`")`))
	if state := p.eval("token state", textOf("token-"+id)); !strings.Contains(state, "widerrufen") {
		t.Errorf("the token's row: %q", state)
	}
	if code := r.apiStatus(t, http.MethodGet, "/api/v1/announcements", token, ""); code != http.StatusUnauthorized {
		t.Errorf("API with the revoked token: %d, want 401", code)
	}
}

// TestNewsroomSingleSignOn: with an oidc section pointing at an
// in-process provider, whose client secret comes from the environment,
// the browser follows the sign-in link of the login page and comes back
// signed in as an editor of Soest and Werl, the two towns of the group
// crier-soest-presse; the compose form offers exactly those two.
func TestNewsroomSingleSignOn(t *testing.T) {
	provider, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := provider.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { provider.Shutdown() })
	// The provider sends the browser back to public_url: serve listens
	// there, on a port chosen before.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	oidc := fmt.Sprintf(`oidc:
  issuer: %q
  client_id: %q
  client_secret: ${CRIER_OIDC_CLIENT_SECRET}
  scopes: [openid, profile, groups]
  groups:
    crier-soest-presse: {role: editor, towns: [soest, werl]}
    crier-lippstadt-rathaus: {role: editor, towns: [lippstadt]}
`, provider.Issuer(), provider.ClientID)
	r := newNewsroomRigAt(t, "http://"+addr, oidc, map[string]string{"CRIER_OIDC_CLIENT_SECRET": provider.ClientSecret}, "--listen", addr)
	if strings.Contains(r.Stderr.String(), provider.ClientSecret) {
		t.Errorf("serve logged the client secret")
	}
	provider.QueueUser(&mockoidc.MockUser{Subject: "f81d4fae-7dec", PreferredUsername: "anna.schmidt",
		Email: "anna.schmidt@kreis-soest.example", Groups: []string{"crier-soest-presse", "other-team"}})

	p := newPilot(t, r.URL)
	p.do("sign-in link",
		p.open("/admin/compose"),
		chromedp.WaitVisible(chromedp.ID("sso")),
		chromedp.Click(chromedp.ID("sso")),
		browsertest.Holds(`location.pathname === "/admin/compose" && document.getElementById("towns")`))
	if who := p.eval("signed in as", "document.body.innerText"); !strings.Contains(who, "anna.schmidt (editor)") {
		t.Errorf("not signed in as the editor anna.schmidt:\n%s", who)
	}
	if towns := p.eval("towns offered", `[...document.querySelectorAll('#towns input[type=checkbox]')].map((e) => e.value).filter((v) => v !== "mine").join(",")`); towns != "soest,werl" {
		t.Errorf("towns offered: %s, want soest,werl", towns)
	}
}

// TestNewsroomAccessibility walks every page of the newsroom in one
// browser and checks each with axe-core (WCAG 2.1 AA) at 1280 and 320 px,
// with nothing scrolling sideways and the focus always visible: the login
// page, empty and with its error; home; compose, empty and with the
// matrix and its problems; the list of announcements, one's live page and
// its cancel form with problems; every operations page; the users, one
// user's page and the tokens page with a fresh secret; and the 403 and
// 404 pages.
func TestNewsroomAccessibility(t *testing.T) {
	r := newNewsroomRig(t, "", nil)
	r.addUser(t, "amelie", "--role", "admin")
	r.addUser(t, "erika", "--role", "editor", "--towns", "soest", "--actual")
	ctx := context.Background()
	// Something for every page: a real notice, an exercise with its
	// captures, subscribers and a service status.
	notice := &crier.Announcement{Title: "Bürgerbüro geschlossen – IT-Störung", Towns: []string{"soest", "werl"},
		Body: "Das Bürgerbüro der **{{.Town.Name}}** bleibt geschlossen. Telefon: {{.Vars.phone}}"}
	res, err := r.Client.Publish(ctx, notice, "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	drill := &crier.Announcement{Title: "Probealarm der Sirenen", Body: "Am Donnerstag heulen die Sirenen zur Probe.",
		Towns: []string{"soest"}, Mode: crier.ModeExercise}
	if res, err = r.Client.Publish(ctx, drill, ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, r.Client, id, time.Minute)
	waitDone(t, r.Client, res.Announcement.ID, time.Minute)
	if _, _, err := r.Client.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "a.buerger@soest.example", Name: "A. Bürger", State: crier.SubscriberConfirmed},
		{Town: "soest", Email: "b.buergerin@soest.example", State: crier.SubscriberPending},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Client.SetServiceStatus(ctx, "soest", []crier.ServiceStatus{
		{Service: "Bürgerbüro", Availability: crier.ServiceDown, Text: "geschlossen"},
		{Service: "Telefon", Availability: crier.ServiceUp, Text: "erreichbar"},
	}); err != nil {
		t.Fatal(err)
	}

	p := newPilot(t, r.URL)
	axe := func() { t.Helper(); browsertest.Axe(t, p.ctx) }
	page := func(path string) { t.Helper(); browsertest.CheckPage(t, p.ctx, r.URL+path) }

	page("/admin/login")
	p.do("wrong password",
		chromedp.SendKeys(chromedp.ID("name"), "amelie"),
		chromedp.SendKeys(chromedp.ID("password"), "nicht das Passwort"),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		browsertest.Holds(`document.getElementById("login-problem")`))
	axe()
	p.login("amelie")
	axe() // home
	page("/admin/compose")
	p.eval("mark the page", `window.crierMark = "compose"; ""`)
	p.do("compose with problems",
		chromedp.SendKeys(chromedp.ID("title"), strings.Repeat("Abkochgebot für Trinkwasser in der Soester Innenstadt ", 3)),
		chromedp.SendKeys(chromedp.ID("spoiler_text"), strings.Repeat("Gesundheit: Haushalte, Kitas, Schulen ", 3)),
		chromedp.SendKeys(chromedp.ID("body"), "Bitte abkochen. Fragen: {{.Vars.phone}}"),
		check("town-soest"),
		check("town-werl"),
		chromedp.Click(chromedp.CSS(`#compose .actions button[type="submit"]:not([formaction])`)),
		browsertest.Holds(`window.crierMark === undefined && document.querySelector(".summary") && document.getElementById("cell-soest-mastodon-soest")`))
	axe()
	page("/admin/announcements")
	page("/admin/announcements/" + id)
	p.eval("mark the page", `window.crierMark = "announcement"; ""`)
	p.do("cancel without a reason",
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("form.cancel [required]").forEach((e) => e.removeAttribute("required"))`),
		chromedp.Click(chromedp.CSS(`form.cancel button[type="submit"]`)),
		browsertest.Holds(`window.crierMark === undefined && document.querySelector('[role="alert"]')`))
	axe()
	for _, path := range []string{"/admin/operate", "/admin/operate/endpoints", "/admin/operate/schedules",
		"/admin/operate/status", "/admin/operate/status/soest", "/admin/operate/subscribers",
		"/admin/operate/subscribers?town=soest", "/admin/operate/captures", "/admin/users", "/admin/users/erika"} {
		page(path)
	}
	page("/admin/tokens")
	p.do("a new token",
		chromedp.SendKeys(chromedp.ID("token-name"), "Laptop im Krisenstab"),
		chromedp.Click(chromedp.CSS(`#add-token-form button[type="submit"]`)),
		browsertest.Holds(`document.getElementById("token-secret")`))
	axe()
	page("/admin/announcements/nirgends")
	if h1 := p.eval("404", "document.querySelector('h1').textContent"); h1 != "Fehler 404" {
		t.Errorf("an announcement that is not there: %q", h1)
	}

	// An editor is refused the users' pages.
	p.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/admin/logout"] button`)), browsertest.Holds(`location.pathname === "/admin/login"`))
	p.login("erika")
	page("/admin/users")
	if h1 := p.eval("403", "document.querySelector('h1').textContent"); h1 != "Fehler 403" {
		t.Errorf("an editor on the users page: %q", h1)
	}
}

// tabTo presses Tab until the element id has the focus, at most 100
// times.
func tabTo(id string) chromedp.Action[chromedp.Void] {
	return tabUntil(fmt.Sprintf("e.id === %q", id))
}

// tabUntil presses Tab until the script cond is true of the element with
// the focus, e, at most 100 times.
func tabUntil(cond string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf("(() => { const e = document.activeElement; return !!e && e !== document.body && !!(%s); })()", cond)
	return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
		for range 100 {
			if _, err := chromedp.KeyEvent(kb.Tab)(ctx, target); err != nil {
				return chromedp.Void{}, err
			}
			ok, err := chromedp.Evaluate[bool](js)(ctx, target)
			if err != nil {
				return chromedp.Void{}, err
			}
			if ok {
				return chromedp.Void{}, nil
			}
		}
		return chromedp.Void{}, fmt.Errorf("100 presses of Tab did not reach an element where %s", cond)
	}
}

// TestNewsroomKeyboard: the editor signs in, opens compose, writes a
// notice, previews it and publishes it with the keyboard alone: Tab to
// each field and link, the keys of the text, Space for a box, Enter for
// each link and button. Nothing is clicked.
func TestNewsroomKeyboard(t *testing.T) {
	r := newNewsroomRig(t, "", nil)
	r.addUser(t, "erika", "--role", "editor", "--towns", "soest")
	p := newPilot(t, r.URL)
	p.do("login page", p.open("/admin/login"), chromedp.WaitVisible(chromedp.ID("name")))
	p.do("sign in",
		tabTo("name"), chromedp.KeyEvent("erika"),
		tabTo("password"), chromedp.KeyEvent(newsroomPassword+kb.Enter),
		browsertest.Holds(`location.pathname === "/admin/"`))
	p.do("compose link",
		tabUntil(`e.getAttribute("href") === "/admin/compose"`), chromedp.KeyEvent(kb.Enter),
		browsertest.Holds(`location.pathname === "/admin/compose" && document.getElementById("title")`))
	p.do("write",
		tabTo("title"), chromedp.KeyEvent("Sirenenprobe am Donnerstag"),
		tabTo("body"), chromedp.KeyEvent("Am Donnerstag um 11 Uhr heulen in {{.Town.Name}} die Sirenen zur Probe."))
	if p.eval("town box", `String(document.getElementById("town-soest").checked)`) != "true" {
		p.do("tick Soest", tabTo("town-soest"), chromedp.KeyEvent(" "))
	}
	p.eval("mark the page", `window.crierMark = "compose"; ""`)
	p.do("preview with Enter",
		tabTo("preview-button"), chromedp.KeyEvent(kb.Enter),
		browsertest.Holds(`window.crierMark === undefined && document.getElementById("cell-soest-mastodon-soest")`))
	p.do("publish with Enter",
		tabTo("publish"), chromedp.KeyEvent(kb.Enter),
		browsertest.Holds(`/^\/admin\/announcements\/[^/]+$/.test(location.pathname)`))
	as := r.stored(t)
	if len(as) != 1 || as[0].Title != "Sirenenprobe am Donnerstag" || as[0].Mode != crier.ModeExercise {
		t.Fatalf("stored %v", as)
	}
}
