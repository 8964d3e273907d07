package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/internal/browsertest"
)

// TestApprovalBrowser walks four-eyes approval in headless Chromium
// through crier serve, where Soest requires approval: an editor of Soest
// submits a notice from the compose form and lands on its page, which
// says it waits; she is offered no approval of her own, and a forged
// approval is refused; an approver of Soest approves it, and its live
// page shows every delivery sent. A second notice is rejected with a
// reason, which its author then reads on her approvals page. The
// approvals list, a submission's page and the audit trail pass axe-core
// at 1280 and 320 px.
func TestApprovalBrowser(t *testing.T) {
	config := approvalConfig(t)
	dataDir := newDataDir(t)
	m, _, stderr := testMain(nil)
	srv, stop := startServe(t, m, stderr, config, dataDir)
	t.Cleanup(stop)
	approvalUsers(t, config, dataDir)
	const password = "Mülltonne am Dienstag"

	browser := browsertest.Start(t)
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Do(t, browser, name, actions...)
	}
	shows := browsertest.Shows
	login := func(name string) {
		t.Helper()
		do("sign in as "+name,
			chromedp.Navigate(srv.URL+"/admin/login"),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
			shows("Angemeldet: "+name))
	}
	logout := func() {
		t.Helper()
		do("sign out", chromedp.Click(chromedp.CSS(`.who form button`)), shows("Anmelden"))
	}
	location := func() string {
		t.Helper()
		ctx, cancel := browsertest.Step(browser, "location")
		defer cancel()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	submit := func(title string) string {
		t.Helper()
		do("compose "+title,
			chromedp.Navigate(srv.URL+"/admin/compose"),
			chromedp.SendKeys(chromedp.ID("title"), title),
			chromedp.SendKeys(chromedp.ID("body"), "Die {{.Town.Name}} ist erreichbar unter {{.Vars.phone}}."),
			chromedp.Click(chromedp.ID("town-soest")),
			chromedp.Click(chromedp.Search(`//button[normalize-space()="Vorschau"]`)),
			shows("Vorschau für jeden Ort und Kanal"))
		do("publish "+title, chromedp.Click(chromedp.ID("publish")), shows("Die Meldung wartet auf Freigabe"))
		loc := location()
		id, ok := strings.CutPrefix(strings.TrimSuffix(loc, "?submitted=1"), srv.URL+"/admin/approvals/")
		if !ok {
			t.Fatalf("after publishing: at %s, want the submission's page", loc)
		}
		return id
	}

	login("anna")
	id := submit("Wasser abkochen")
	browsertest.Axe(t, browser)
	if html := pageHTML(t, browser); strings.Contains(html, `id="approve"`) || !strings.Contains(html, `id="withdraw"`) {
		t.Errorf("the author's submission page offers her approval, or no withdrawal")
	}
	browsertest.CheckPage(t, browser, srv.URL+"/admin/approvals")

	// A forged approval by the author, with her own session: refused.
	browsertest.Label(browser, "forged approval")
	if code := formPost(t, srv.URL, "anna", password, "/admin/approvals/"+id+"/approve", nil); code != http.StatusForbidden {
		t.Errorf("anna's forged approval: %d, want 403", code)
	}
	logout()

	login("bert")
	do("approvals list", chromedp.Navigate(srv.URL+"/admin/approvals"), shows("Wasser abkochen"))
	do("open the submission", chromedp.Click(chromedp.Search(`//a[normalize-space()="Wasser abkochen"]`)), shows("Freigeben und veröffentlichen"))
	do("approve", chromedp.Click(chromedp.ID("approve")), shows("freigegeben von bert"))
	browsertest.Label(browser, "deliveries")
	st := waitDone(t, srv.Client, id, time.Minute)
	total := st.Totals[crier.StateSent]
	if total == 0 || total != st.Total {
		t.Fatalf("after the approval: %v of %d", st.Totals, st.Total)
	}
	do("live page", chromedp.Click(chromedp.Search(`//a[contains(., "Veröffentlichte Meldung")]`)),
		shows(fmt.Sprintf("%d von %d versandt, 0 fehlgeschlagen, 0 unklar, 0 offen", total, total)),
		shows("anna, freigegeben von bert"))
	logout()

	// A second notice, rejected with a reason its author reads.
	login("anna")
	second := submit("Sperrung der Ortsdurchfahrt")
	logout()
	login("bert")
	do("open the second", chromedp.Navigate(srv.URL+"/admin/approvals/"+second), shows("Ablehnen"))
	browsertest.Axe(t, browser)
	do("reject",
		chromedp.SendKeys(chromedp.ID("reason"), "Bitte die Umleitung nennen."),
		chromedp.Click(chromedp.ID("reject")),
		shows("abgelehnt von bert"))
	logout()
	login("anna")
	do("the author's approvals", chromedp.Navigate(srv.URL+"/admin/approvals"),
		shows("abgelehnt von bert: Bitte die Umleitung nennen."))
	logout()

	// The audit trail, as the admin of the server sees it.
	browsertest.Label(browser, "admin")
	if code, out, errOut := runIn(t, nil, "Presseamt Kreis Soest 2026\n", "users", "add", "root", "--role", "admin",
		"--password-stdin", "--config", config, "--data-dir", dataDir); code != exitOK {
		t.Fatalf("users add root: exit %d\n%s%s", code, out, errOut)
	}
	do("sign in as root",
		chromedp.Navigate(srv.URL+"/admin/login"),
		chromedp.SendKeys(chromedp.ID("name"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), "Presseamt Kreis Soest 2026"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		shows("Angemeldet: root"))
	browsertest.CheckPage(t, browser, srv.URL+"/admin/audit")
	do("verify the chain", chromedp.Click(chromedp.ID("verify")), shows("Protokoll unversehrt"))
	do("filter", chromedp.Navigate(srv.URL+"/admin/audit?action=submission.reject"), shows("Bitte die Umleitung nennen."))
}

// pageHTML returns the HTML of the browser's page.
func pageHTML(t *testing.T, browser context.Context) string {
	t.Helper()
	ctx, cancel := browsertest.Step(browser, "page HTML")
	defer cancel()
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	return html
}

// formPost signs in as name in a session of its own, posts form with the
// session's CSRF token to path, and returns the status.
func formPost(t *testing.T, base, name, password, path string, form url.Values) int {
	t.Helper()
	c := watchLogin(t, base, name, password)
	res, err := c.Get(base + "/admin/approvals")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := composeCSRF.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the approvals page of %s", name)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", string(m[1]))
	res, err = c.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
