package main

import (
	"context"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// TestLogKeepsSubscribersPrivate goes through a subscriber's whole life
// on a server in actual mode (the subscribe form, the confirmation mail
// and its link, a notice by mail and webhook, the unsubscribe page and the
// mail client's one-click POST) and then reads everything the server
// logged, at debug level: no subscriber's address may be in it, neither in the clear nor
// in base64, nor any secret (the admin token, the link secret, the webhook
// secret) nor a link token, which is the capability to act for a citizen.
func TestLogKeepsSubscribersPrivate(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	hookSecret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, hookSecret, crier.SystemClock{})
	const linkSecret = "link-secret-that-only-this-test-knows-0123456789"
	config := actualConfig(t, hooks.URL(), smtp.Port(), "secret: ${CRIER_SECRET}\nlog: {level: debug}")
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": hookSecret, "CRIER_SECRET": linkSecret})
	ctx := context.Background()
	const (
		citizen  = "neu.buergerin@buerger.example"
		imported = "alt.buerger@soest.example"
		removed  = "weg.buerger@soest.example"
	)
	b := newBrowser(t, srv.URL)

	b.submit("/soest/subscribe", url.Values{"email": {citizen}, "name": {"Neu"}}, "wir haben Ihnen eine E-Mail geschickt")
	m := waitMail(t, smtp, citizen, 0)
	found := confirmMailLink.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no confirmation link in the mail:\n%s", m.Text)
	}
	confirm := found[1]
	b.submit(confirm, url.Values{}, "Anmeldung bestätigt")

	subs := []*crier.Subscriber{
		{Town: "soest", Email: imported, State: crier.SubscriberConfirmed, Source: "Test"},
		{Town: "soest", Email: removed, State: crier.SubscriberConfirmed, Source: "Test"},
	}
	if _, _, err := srv.Client.AddSubscribers(ctx, subs); err != nil {
		t.Fatal(err)
	}
	if err := srv.Client.RemoveSubscriber(ctx, "soest", removed); err != nil {
		t.Fatal(err)
	}

	n := e2eNotice()
	n.Towns = []string{"soest"}
	res, err := srv.Client.Publish(ctx, n, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, srv.Client, res.Announcement.ID, time.Minute); st.Totals[crier.StateSent] != 3 {
		t.Fatalf("notice: %v, want 3 sent (2 mails, 1 webhook)", st.Totals)
	}
	var unsubscribe []string
	for i, addr := range []string{citizen, imported} {
		notice := waitMail(t, smtp, addr, 1-i)
		link := strings.TrimPrefix(strings.Trim(notice.Header.Get("List-Unsubscribe"), "<>"), "https://krisen.kreis-soest.example")
		if !strings.HasPrefix(link, "/unsubscribe/") {
			t.Fatalf("notice to %s: List-Unsubscribe %q", addr, notice.Header.Get("List-Unsubscribe"))
		}
		unsubscribe = append(unsubscribe, link)
	}
	b.submit(unsubscribe[0], url.Values{}, "")
	if code := b.post(unsubscribe[1], url.Values{"List-Unsubscribe": {"One-Click"}}); code != http.StatusOK {
		t.Fatalf("one-click POST: %d", code)
	}
	if got, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberUnsubscribed); err != nil || len(got) != 3 {
		t.Fatalf("unsubscribed: %v, %v; want all three", got, err)
	}

	log := srv.Stderr.String()
	if !strings.Contains(log, "http request") {
		t.Fatalf("no request log to check:\n%s", log)
	}
	secrets := map[string]string{
		"admin token":          srv.Client.Token,
		"link secret":          linkSecret,
		"webhook secret":       hookSecret,
		"webhook secret's key": strings.TrimPrefix(hookSecret, "whsec_"),
	}
	for _, link := range append([]string{confirm}, unsubscribe...) {
		_, token, _ := strings.Cut(link[1:], "/")
		secrets["link token "+token] = token
	}
	for _, addr := range []string{citizen, imported, removed} {
		secrets["address "+addr] = addr
		secrets["address "+addr+", escaped"] = url.QueryEscape(addr)
	}
	for what, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the log shows the %s", what)
		}
	}
	for _, word := range base64Words.FindAllString(log, -1) {
		for _, addr := range []string{citizen, imported, removed} {
			if decodesTo(word, addr) {
				t.Errorf("the log shows %s in base64: %s", addr, word)
			}
		}
	}
	if t.Failed() {
		t.Logf("the log:\n%s", log)
	}
}

// base64Words are the runs of base64 (standard or URL alphabet) in a text
// long enough to hide an address.
var base64Words = regexp.MustCompile(`[A-Za-z0-9+/_\-]{8,}={0,2}`)

// decodesTo reports whether s, decoded as base64 in any of the usual
// alphabets and at any of the four alignments, contains want.
func decodesTo(s, want string) bool {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.RawStdEncoding} {
		for skip := range 4 {
			if skip >= len(s) {
				break
			}
			t := strings.TrimRight(s[skip:], "=")
			if len(t)%4 == 1 { // no whole byte in the last character
				t = t[:len(t)-1]
			}
			if b, err := enc.DecodeString(t); err == nil && strings.Contains(string(b), want) {
				return true
			}
		}
	}
	return false
}

// browser is a citizen's browser: it keeps cookies and submits forms with
// their hidden fields, as a person clicking through the pages would.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var hiddenInput = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
var inputAttr = regexp.MustCompile(`(name|value)="([^"]*)"`)

// submit loads the page at path, posts its form with the page's hidden
// fields and form added, and checks that the answer is 200 and contains
// want.
func (b *browser) submit(path string, form url.Values, want string) {
	b.t.Helper()
	code, page := b.do(http.MethodGet, path, nil)
	if code != http.StatusOK || !strings.Contains(page, `<form method="post"`) {
		b.t.Fatalf("GET %s: %d\n%s", path, code, page)
	}
	for _, in := range hiddenInput.FindAllString(page, -1) {
		var name, value string
		for _, a := range inputAttr.FindAllStringSubmatch(in, -1) {
			if a[1] == "name" {
				name = a[2]
			} else {
				value = a[2]
			}
		}
		if name != "" && !form.Has(name) {
			form.Set(name, html.UnescapeString(value))
		}
	}
	code, page = b.do(http.MethodPost, path, form)
	if code != http.StatusOK || !strings.Contains(page, want) {
		b.t.Fatalf("POST %s: %d\n%s", path, code, page)
	}
}

// post posts form to path without loading a page first, as a mail client's
// one-click unsubscribe does.
func (b *browser) post(path string, form url.Values) int {
	b.t.Helper()
	code, _ := b.do(http.MethodPost, path, form)
	return code
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, string(page)
}
