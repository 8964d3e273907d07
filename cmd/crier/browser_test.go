package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/internal/browsertest"
)

// TestBrowserSubscribe walks the public pages in headless Chromium as a
// person would, against crier serve in actual mode with the in-process
// SMTP server: the town page's link opens the subscribe form; the address
// typed in gets a confirmation mail, whose link opens a page whose button
// confirms; the next notice arrives by mail, and its List-Unsubscribe
// link opens a page whose button unsubscribes, as the API then reports.
// When it fails, it saves a screenshot and the HTML of the page into
// $CRIER_TEST_ARTIFACTS, or a new directory under $TMPDIR that outlives
// the test, and logs where.
func TestBrowserSubscribe(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	srv := mustServe(t, actualConfig(t, hooks.URL(), smtp.Port(), ""), map[string]string{"RADIO_SECRET": secret})
	const (
		addr   = "browser@buerger.example"
		public = "https://krisen.kreis-soest.example"
	)

	browser := browsertest.Start(t)
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browsertest.Do(t, browser, name, actions...)
	}
	shows := browsertest.Shows
	text := func() string {
		t.Helper()
		ctx, cancel := browsertest.Step(browser, "page text")
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatalf("page text: %v", err)
		}
		return s
	}

	do("town page", chromedp.Navigate(srv.URL+"/soest/"), shows("Stadt Soest"))
	// On a 320 px wide phone the page fits: nothing scrolls sideways.
	do("town page at 320 px", chromedp.EmulateViewport(320, 640), chromedp.Reload(), shows("Stadt Soest"))
	for path, text := range map[string]string{"/": "Stadt Soest", "/soest/": "Stadt Soest", "/soest/subscribe": "E-Mail"} {
		do("page at 320 px: "+path, chromedp.Navigate(srv.URL+path), shows(text))
		widthCtx, cancelWidth := browsertest.Step(browser, "scroll width of "+path)
		width, err := chromedp.Run(widthCtx, chromedp.Evaluate[int]("document.documentElement.scrollWidth"))
		cancelWidth()
		if err != nil || width > 320 {
			t.Errorf("%s at 320 px: scroll width %d (%v), want at most 320", path, width, err)
		}
	}
	do("back to a desktop window", chromedp.EmulateViewport(1024, 768), chromedp.Navigate(srv.URL+"/soest/"), shows("Stadt Soest"))
	do("subscribe link",
		chromedp.Click(chromedp.Search(`//a[normalize-space()="E-Mail-Benachrichtigung abonnieren"]`)),
		chromedp.WaitVisible(chromedp.ID("email")))
	locCtx, cancelLoc := browsertest.Step(browser, "location")
	loc, err := chromedp.Run(locCtx, chromedp.Location())
	cancelLoc()
	if err != nil || loc != srv.URL+"/soest/subscribe" {
		t.Fatalf("the link led to %q (%v), want %s/soest/subscribe", loc, err, srv.URL)
	}
	do("subscribe form",
		chromedp.SendKeys(chromedp.ID("email"), addr),
		chromedp.SendKeys(chromedp.ID("name"), "Browser"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		shows("wir haben Ihnen eine E-Mail geschickt"))

	browsertest.Label(browser, "confirmation mail")
	m := waitMail(t, smtp, addr, 0)
	found := confirmMailLink.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no confirmation link in the mail:\n%s", m.Text)
	}
	do("confirm page", chromedp.Navigate(srv.URL+found[1]), shows("Anmeldung bestätigen"))
	do("confirm button", chromedp.Click(chromedp.CSS(`form button`)), shows("Anmeldung bestätigt"))

	browsertest.Label(browser, "notice mail")
	ctx := context.Background()
	subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberConfirmed)
	if err != nil || len(subs) != 1 || subs[0].Email != addr || subs[0].Name != "Browser" {
		t.Fatalf("after confirming: confirmed %v, %v", subs, err)
	}
	n := e2eNotice()
	n.Towns, n.Channels = []string{"soest"}, []string{"mail-soest"}
	if _, err := srv.Client.Publish(ctx, n, ""); err != nil {
		t.Fatal(err)
	}
	notice := waitMail(t, smtp, addr, 1)
	if notice.Subject != n.Title {
		t.Errorf("notice mail: subject %q, want %q", notice.Subject, n.Title)
	}
	unsub := strings.Trim(notice.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, public+"/unsubscribe/") {
		t.Fatalf("List-Unsubscribe %q", notice.Header.Get("List-Unsubscribe"))
	}
	do("unsubscribe page", chromedp.Navigate(srv.URL+strings.TrimPrefix(unsub, public)), shows("Abmelden"))
	if subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberConfirmed); err != nil || len(subs) != 1 {
		t.Fatalf("opening the unsubscribe page unsubscribed: confirmed %v, %v", subs, err)
	}
	do("unsubscribe button", chromedp.Click(chromedp.CSS(`form button`)), shows("abgemeldet"))
	if page := text(); !strings.Contains(page, "Stadt Soest") {
		t.Errorf("unsubscribed page does not name the town:\n%s", page)
	}

	browsertest.Label(browser, "API")
	subs, err = srv.Client.Subscribers(ctx, "soest", crier.SubscriberUnsubscribed)
	if err != nil || len(subs) != 1 || subs[0].Email != addr {
		t.Errorf("after the button: unsubscribed %v, %v; want %s", subs, err, addr)
	}
}
