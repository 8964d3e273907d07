package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

var confirmMailLink = regexp.MustCompile(`https://krisen\.kreis-soest\.example(/confirm/[A-Za-z0-9_.\-]+)`)

// waitMail polls the SMTP server until a mail to rcpt has arrived that
// was not among skip, and returns it; the deadline bounds the wait.
func waitMail(t *testing.T, smtp *smtptest.Server, rcpt string, skip int) *smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := 0
		for _, m := range smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == rcpt {
				if seen == skip {
					return m
				}
				seen++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail %d to %s within 30s", skip+1, rcpt)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSubscribeDoubleOptIn subscribes through the public form of a server
// in actual mode: the confirmation mail arrives over SMTP, its link
// confirms (GET asks, POST acts), the next notice reaches the address,
// and the mail client's one-click POST unsubscribes it.
func TestSubscribeDoubleOptIn(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	srv := mustServe(t, actualConfig(t, hooks.URL(), smtp.Port(), ""), map[string]string{"RADIO_SECRET": secret})
	ctx := context.Background()
	const addr = "neu@buerger.example"
	send := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		code, _, body := sendForm(t, srv.URL+path, method, form, nil)
		return code, body
	}

	if code, page := send(http.MethodGet, "/soest/subscribe", nil); code != http.StatusOK || !strings.Contains(page, `name="email"`) {
		t.Fatalf("GET form: %d\n%s", code, page)
	}
	if code, page := send(http.MethodPost, "/soest/subscribe", url.Values{"email": {addr}, "name": {"Neu"}}); code != http.StatusOK ||
		!strings.Contains(page, "wir haben Ihnen eine E-Mail geschickt") {
		t.Fatalf("POST form: %d\n%s", code, page)
	}
	m := waitMail(t, smtp, addr, 0)
	if !strings.Contains(m.Subject, "Stadt Soest") || !strings.Contains(m.Header.Get("From"), "presse@soest.example") {
		t.Errorf("confirmation mail: subject %q, from %q", m.Subject, m.Header.Get("From"))
	}
	found := confirmMailLink.FindStringSubmatch(m.Text)
	if found == nil || !strings.Contains(m.HTML, found[0]) {
		t.Fatalf("no confirmation link in the mail:\n%s\n%s", m.Text, m.HTML)
	}
	link := found[1]

	// The operator sees the mail in the delivery record, not in the list.
	id, _, _ := strings.Cut(m.Key, ".")
	if st := waitDone(t, srv.Client, id, time.Minute); st.Totals[crier.StateSent] != 1 {
		t.Errorf("status of %s: %v, want 1 sent", id, st.Totals)
	}
	if as, err := srv.Client.Announcements(ctx, 100); err != nil || len(as) != 0 {
		t.Errorf("announcement list: %v, %v; want no confirmation mails", as, err)
	}

	if code, page := send(http.MethodGet, link, nil); code != http.StatusOK || !strings.Contains(page, `<form method="post">`) {
		t.Fatalf("GET %s: %d\n%s", link, code, page)
	}
	if subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberConfirmed); err != nil || len(subs) != 0 {
		t.Fatalf("after GET: confirmed %v, %v; want none", subs, err)
	}
	if code, page := send(http.MethodPost, link, url.Values{}); code != http.StatusOK || !strings.Contains(page, "Anmeldung bestätigt") {
		t.Fatalf("POST %s: %d\n%s", link, code, page)
	}
	subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberConfirmed)
	if err != nil || len(subs) != 1 || subs[0].Email != addr || subs[0].Name != "Neu" {
		t.Fatalf("after POST: confirmed %v, %v", subs, err)
	}

	n := e2eNotice()
	n.Towns, n.Channels = []string{"soest"}, []string{"mail-soest"}
	res, err := srv.Client.Publish(ctx, n, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, srv.Client, res.Announcement.ID, time.Minute); st.Totals[crier.StateSent] != 1 {
		t.Fatalf("notice: %v, want 1 sent", st.Totals)
	}
	notice := waitMail(t, smtp, addr, 1)
	if notice.Subject != n.Title || notice.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("notice mail: %q, %v", notice.Subject, notice.Header)
	}
	unsub := strings.TrimPrefix(strings.Trim(notice.Header.Get("List-Unsubscribe"), "<>"), "https://krisen.kreis-soest.example")
	if code, _ := send(http.MethodPost, unsub, url.Values{"List-Unsubscribe": {"One-Click"}}); code != http.StatusOK {
		t.Fatalf("one-click POST %s: %d", unsub, code)
	}
	if subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberUnsubscribed); err != nil || len(subs) != 1 || subs[0].Email != addr {
		t.Errorf("after the one-click POST: unsubscribed %v, %v", subs, err)
	}

	// The confirmation mail's link, still within its week, is void now:
	// it subscribes nobody who has left.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if code, page := send(method, link, url.Values{}); code != http.StatusBadRequest || strings.Contains(page, "<form") {
			t.Errorf("%s %s after unsubscribing: %d, want 400\n%s", method, link, code, page)
		}
	}
	if subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberConfirmed); err != nil || len(subs) != 0 {
		t.Errorf("after the old link: confirmed %v, %v; want none", subs, err)
	}
}
