package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// browserStep bounds every browser action.
const browserStep = 20 * time.Second

// chromium returns the path of Chromium: $CHROME, /usr/bin/chromium, or
// chromium or chromium-browser on $PATH. Without one the test skips, and
// fails on CI (CI=true), where .ci/run installs Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium not found (Debian: apt-get install chromium, or set $CHROME); browser test not run"
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true: " + msg)
	}
	t.Skip(msg + " (CI=true makes this a failure)")
	return ""
}

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
	chrome := chromium(t)
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	srv := mustServe(t, actualConfig(t, hooks.URL(), smtp.Port(), ""), map[string]string{"RADIO_SECRET": secret})
	const (
		addr   = "browser@buerger.example"
		public = "https://krisen.kreis-soest.example"
	)

	// The network of this machine may be closed: Chromium must not reach
	// out on its own, or its connections are refused many at a time.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser, whose life is the context's:
	// it has no timeout of its own, and a start that hangs fails here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", chrome, err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s did not start within a minute", chrome)
	}

	// Registered after the browser's cancels, this runs before them.
	step := "start"
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		// Not t.TempDir, which goes with the test: the files must stay.
		dir := os.Getenv("CRIER_TEST_ARTIFACTS")
		var err error
		if dir == "" {
			dir, err = os.MkdirTemp("", "crier-browser-")
		} else {
			err = os.MkdirAll(dir, 0o755)
		}
		if err != nil {
			t.Logf("artifacts: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(browser, browserStep)
		defer cancel()
		name := filepath.Join(dir, t.Name()+"-"+strings.ReplaceAll(step, " ", "-"))
		// A page that is just loading has nothing to capture: try again.
		var png []byte
		for try := 0; try < 5; try++ {
			if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Logf("screenshot: %v", err)
		} else if err := os.WriteFile(name+".png", png, 0o644); err != nil {
			t.Logf("screenshot: %v", err)
		}
		if page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
			_ = os.WriteFile(name+".html", []byte(page), 0o644)
		}
		t.Logf("failed at %q; screenshot and page in %s", step, dir)
	})
	do := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		step = name
		ctx, cancel := context.WithTimeout(browser, browserStep)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// shows waits until the page's text contains s. After a click the
	// next page replaces the current one, and an evaluation that meets
	// the navigation fails: it tries again until the deadline.
	shows := func(s string) chromedp.Action[chromedp.Void] {
		js := fmt.Sprintf("document.readyState === 'complete' && document.body.innerText.includes(%q)", s)
		return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
			var last error
			for {
				try, cancel := context.WithTimeout(ctx, 2*time.Second)
				ok, err := chromedp.Evaluate[bool](js)(try, target)
				cancel()
				if err == nil && ok {
					return chromedp.Void{}, nil
				}
				if err != nil {
					last = err
				}
				select {
				case <-ctx.Done():
					return chromedp.Void{}, fmt.Errorf("page never showed %q (last error: %v): %w", s, last, ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}
	text := func() string {
		ctx, cancel := context.WithTimeout(browser, browserStep)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatalf("%s: page text: %v", step, err)
		}
		return s
	}

	do("town page", chromedp.Navigate(srv.URL+"/soest/"), shows("Stadt Soest"))
	// On a 320 px wide phone the page fits: nothing scrolls sideways.
	do("town page at 320 px", chromedp.EmulateViewport(320, 640), chromedp.Reload(), shows("Stadt Soest"))
	for path, text := range map[string]string{"/": "Stadt Soest", "/soest/": "Stadt Soest", "/soest/subscribe": "E-Mail"} {
		do("page at 320 px: "+path, chromedp.Navigate(srv.URL+path), shows(text))
		widthCtx, cancelWidth := context.WithTimeout(browser, browserStep)
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
	locCtx, cancelLoc := context.WithTimeout(browser, browserStep)
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

	step = "confirmation mail"
	m := waitMail(t, smtp, addr, 0)
	found := confirmMailLink.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no confirmation link in the mail:\n%s", m.Text)
	}
	do("confirm page", chromedp.Navigate(srv.URL+found[1]), shows("Anmeldung bestätigen"))
	do("confirm button", chromedp.Click(chromedp.CSS(`form button`)), shows("Anmeldung bestätigt"))

	step = "notice mail"
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

	step = "API"
	subs, err = srv.Client.Subscribers(ctx, "soest", crier.SubscriberUnsubscribed)
	if err != nil || len(subs) != 1 || subs[0].Email != addr {
		t.Errorf("after the button: unsubscribed %v, %v; want %s", subs, err, addr)
	}
}
