package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/internal/browsertest"
)

// wordyNotice is a notice as long and as German as they come: compound
// words wider than a phone, a long link, a list and a quotation.
func wordyNotice() *crier.Announcement {
	return &crier.Announcement{
		Title: "Trinkwasserversorgungsunterbrechung und Straßenverkehrsbeschränkungen im Stadtgebiet",
		Body: "Wegen der Rohrbruchinstandsetzungsarbeiten am Hauptversorgungsleitungsnetz der **{{.Town.Name}}** ist " +
			"die Trinkwasserversorgung in folgenden Straßen unterbrochen:\n\n" +
			"- Grundstücksentwässerungsanlagenverordnungsweg\n- Donaudampfschifffahrtsgesellschaftskapitänsstraße\n" +
			"- Am Vreithof\n\n" +
			"> Bitte kochen Sie Leitungswasser vor dem Trinken ab (Abkochgebot des Gesundheitsamtes).\n\n" +
			"Wasserausgabestellen: Marktplatz und Schulzentrum. Auskunft: {{.Vars.phone}} ({{.Vars.hours}}), " +
			"persönlich im {{.Vars.office}}. Aktuelle Karte: " +
			"https://www.soest.example/buergerservice/stoerungsmeldungen/trinkwasserversorgungsunterbrechung-2026-12-07/karte.html\n\n" +
			strings.Repeat("Die Stadtwerke arbeiten mit Hochdruck an der Wiederherstellung der Versorgung. ", 12),
		Towns: []string{"soest"},
	}
}

// TestAccessibilityPublicSite walks every public page through a real
// crier serve in headless Chromium and checks each with axe-core (WCAG
// 2.1 AA) at 1280 and 320 px, with nothing scrolling sideways: the
// county's overview, town pages with current, updated, canceled, long and
// exercise notices and the service status box, the notice pages, the
// subscribe form with its error and its answer, the confirm and
// unsubscribe pages and their answers to good and bad links, the 404
// pages, the refusal of a form sent from another site, and the same site
// exported by crier site export.
func TestAccessibilityPublicSite(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	const site = "site:\n  title: Notfall-Informationen Kreis Soest\n" +
		"  imprint_url: https://www.kreis-soest.example/impressum\n  privacy_url: https://www.kreis-soest.example/datenschutz\n"
	config := actualConfig(t, hooks.URL(), smtp.Port(), site)
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": secret})
	ctx := context.Background()
	browser := browsertest.Start(t)
	check := func(path string) {
		t.Helper()
		browsertest.CheckPage(t, browser, srv.URL+path)
	}
	const addr = "barrierefrei@buerger.example"

	// Before anything is published.
	check("/")
	check("/soest/")

	// The subscribe form, its answer to an address the browser takes and
	// the server does not, and its answer to a good one.
	check("/soest/subscribe")
	browsertest.Do(t, browser, "bad address",
		chromedp.SendKeys(chromedp.ID("email"), "a@b"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		browsertest.Shows("gültige E-Mail-Adresse"))
	browsertest.Axe(t, browser)
	browsertest.Do(t, browser, "good address",
		chromedp.Navigate(srv.URL+"/soest/subscribe"),
		chromedp.SendKeys(chromedp.ID("email"), addr),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		browsertest.Shows("wir haben Ihnen eine E-Mail geschickt"))
	browsertest.Axe(t, browser)

	// The confirmation link: its button, the answer, and a bad link.
	browsertest.Label(browser, "confirmation mail")
	found := confirmMailLink.FindStringSubmatch(waitMail(t, smtp, addr, 0).Text)
	if found == nil {
		t.Fatal("no confirmation link in the mail")
	}
	check(found[1])
	browsertest.Do(t, browser, "confirm", chromedp.Click(chromedp.CSS(`form button`)), browsertest.Shows("Anmeldung bestätigt"))
	browsertest.Axe(t, browser)
	check("/confirm/nichts")

	// Notices: one for every town, updated; one for Soest, canceled; a
	// long one; an exercise.
	res, err := srv.Client.Publish(ctx, e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	updated := res.Announcement.ID
	waitDone(t, srv.Client, updated, time.Minute)
	upd := e2eNotice()
	upd.Body = "Das Bürgerbüro der {{.Town.Name}} öffnet am Montag wieder. Bis dahin: {{.Vars.phone}}."
	upd.Reason = "Neuer Termin für die Öffnung"
	if _, err := srv.Client.Update(ctx, updated, upd, ""); err != nil {
		t.Fatal(err)
	}
	gone := &crier.Announcement{Title: "Sperrung der Ortsdurchfahrt", Body: "Die Ortsdurchfahrt ist gesperrt.", Towns: []string{"soest"}}
	res, err = srv.Client.Publish(ctx, gone, "")
	if err != nil {
		t.Fatal(err)
	}
	canceled := res.Announcement.ID
	waitDone(t, srv.Client, canceled, time.Minute)
	if _, err := srv.Client.Cancel(ctx, canceled, "Die Straße ist wieder frei.", ""); err != nil {
		t.Fatal(err)
	}
	res, err = srv.Client.Publish(ctx, wordyNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	long := res.Announcement.ID
	drill := &crier.Announcement{Title: "Probealarm der Sirenen", Body: "Am Donnerstag um 11 Uhr heulen die Sirenen zur Probe.",
		Towns: []string{"soest", "werl"}, Mode: crier.ModeExercise}
	res, err = srv.Client.Publish(ctx, drill, "")
	if err != nil {
		t.Fatal(err)
	}
	exercise := res.Announcement.ID
	for _, id := range []string{updated, canceled, long, exercise} {
		waitDone(t, srv.Client, id, time.Minute)
	}
	// The service status box, with every availability.
	if _, err := srv.Client.SetServiceStatus(ctx, "soest", []crier.ServiceStatus{
		{Service: "Bürgerbüro", Availability: crier.ServiceDown, Text: "geschlossen"},
		{Service: "Kfz-Zulassung", Availability: crier.ServiceLimited, Text: "nur mit Termin"},
		{Service: "Telefon", Availability: crier.ServiceUp, Text: "erreichbar unter 02921 103-0"},
	}); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/", "/soest/", "/werl/",
		"/soest/" + updated, "/soest/" + canceled, "/soest/" + long, "/werl/" + exercise} {
		check(path)
	}

	// The unsubscribe link of the mail that the first notice sent.
	browsertest.Label(browser, "notice mail")
	unsub := strings.Trim(waitMail(t, smtp, addr, 1).Header.Get("List-Unsubscribe"), "<>")
	path, ok := strings.CutPrefix(unsub, "https://krisen.kreis-soest.example")
	if !ok || !strings.HasPrefix(path, "/unsubscribe/") {
		t.Fatalf("List-Unsubscribe %q", unsub)
	}
	check(path)
	browsertest.Do(t, browser, "unsubscribe", chromedp.Click(chromedp.CSS(`form button`)), browsertest.Shows("abgemeldet"))
	browsertest.Axe(t, browser)
	check("/unsubscribe/nichts")

	// Pages that are not there, and a form sent from another site.
	check("/nirgendwo/")
	check("/ense/" + updated)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="de"><head><title>Andere Seite</title></head><body><main>
<form method="post" action="%s/soest/subscribe"><input type="hidden" name="email" value="fremd@example.org">
<button type="submit">Senden</button></form></main></body></html>`, srv.URL)
	}))
	t.Cleanup(other.Close)
	browsertest.Do(t, browser, "form from another site",
		chromedp.Navigate(other.URL),
		chromedp.Click(chromedp.CSS(`form button`)),
		browsertest.Shows("Anfrage abgelehnt"))
	browsertest.Axe(t, browser)

	// The exported site, served as plain files: the same templates with
	// other links, so one page of each kind.
	dir := t.TempDir()
	if code, out, errOut := run(t, nil, "site", "export", dir, "--config", config, "--data-dir", srv.DataDir); code != exitOK {
		t.Fatalf("site export: exit %d\n%s%s", code, out, errOut)
	}
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(files.Close)
	for _, path := range []string{"/index.html", "/soest/index.html", "/soest/" + long + ".html"} {
		browsertest.CheckPage(t, browser, files.URL+path)
	}
}
