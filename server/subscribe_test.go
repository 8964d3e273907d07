package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/internal/ratelimit"
)

var subscribeTokens = &crier.Tokens{Secret: []byte("0123456789abcdef0123456789abcdef")}

// subscribeEnv is a server with tokens and a clock the test moves.
func subscribeEnv(t *testing.T) (*env, *channeltest.Clock) {
	t.Helper()
	clock := channeltest.NewClock(testNow)
	e := newEnv(t, func(o *Options) { o.Tokens, o.Clock = subscribeTokens, clock })
	return e, clock
}

// page sends a request without following redirects and returns the
// status, header and body.
func page(t *testing.T, method, u string, form url.Values) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// confirmations returns the messages of the confirmation mails queued.
func (s *fakeStore) confirmations() []crier.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []crier.Message
	for _, a := range s.announcements {
		if a.Event == crier.EventSubscriptionConfirm {
			out = append(out, s.plans[a.ID]...)
		}
	}
	return out
}

func (s *fakeSubscribers) state(t *testing.T, town, email string) crier.SubscriberState {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.find(town, email); sub != nil {
		return sub.State
	}
	return ""
}

var confirmLink = regexp.MustCompile(`https://krisen\.example/confirm/[A-Za-z0-9_.\-%]+`)

func TestSubscribeForm(t *testing.T) {
	e, _ := subscribeEnv(t)
	code, h, body := page(t, http.MethodGet, e.url+"/soest/subscribe", nil)
	if code != http.StatusOK {
		t.Fatalf("GET: %d\n%s", code, body)
	}
	for _, want := range []string{`lang="de"`, `<form method="post">`, `<label for="email">E-Mail-Adresse</label>`,
		`<label for="name">`, `<label for="website">`, `name="website" type="text" tabindex="-1" autocomplete="off"`,
		`aria-hidden="true"`, "Stadt Soest"} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q\n%s", want, body)
		}
	}
	if strings.Count(body, "<h1>") != 1 || strings.Contains(body, "<script") {
		t.Errorf("form: want one h1 and no script\n%s", body)
	}
	if got := strings.Count(body, "<input"); got != strings.Count(body, "<label") {
		t.Errorf("%d inputs, %d labels", got, strings.Count(body, "<label"))
	}
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("headers: %v", h)
	}
	if n, _ := e.store.size(); n != 0 || len(e.subs.all()) != 0 {
		t.Errorf("GET stored something")
	}
	// The website's other pages are not taken over; without a site, 404.
	if code, _, _ := page(t, http.MethodGet, e.url+"/soest/abc", nil); code != http.StatusNotFound {
		t.Errorf("GET /soest/abc: %d", code)
	}
}

// TestSubscribeConfirm posts the form, finds exactly one confirmation
// mail addressed to the address, and follows its link: GET changes
// nothing, POST confirms.
func TestSubscribeConfirm(t *testing.T) {
	e, _ := subscribeEnv(t)
	code, _, body := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {"anna@Example.org"}, "name": {" Anna\n Beispiel "}})
	if code != http.StatusOK || !strings.Contains(body, "Bitte bestätigen Sie Ihre Anmeldung – wir haben Ihnen eine E-Mail geschickt") {
		t.Fatalf("POST: %d\n%s", code, body)
	}
	if strings.Contains(body, "anna@") {
		t.Errorf("the answer names the address")
	}
	subs := e.subs.all()
	if len(subs) != 1 || subs[0].Email != "anna@example.org" || subs[0].State != crier.SubscriberPending ||
		subs[0].Name != "Anna Beispiel" || subs[0].Source != "double opt-in, form" {
		t.Fatalf("subscribers: %+v", subs)
	}
	ms := e.store.confirmations()
	if len(ms) != 1 {
		t.Fatalf("%d confirmation messages, want 1: %+v", len(ms), ms)
	}
	m := ms[0]
	if m.Recipient != "anna@example.org" || m.Channel != "mail-soest" || m.Type != "email" || m.PerSubscriber ||
		!m.Capture || m.Mode != crier.ModeExercise || m.Event != crier.EventSubscriptionConfirm ||
		!strings.HasPrefix(m.Announcement, "confirm-") || m.Subject == "" || !strings.Contains(m.HTML, "<a href=") {
		t.Errorf("message: %+v", m)
	}
	if e.notified.Load() != 1 {
		t.Errorf("workers notified %d times, want 1", e.notified.Load())
	}
	link := confirmLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no link in\n%s", m.Text)
	}
	local := e.url + strings.TrimPrefix(link, "https://krisen.example")
	code, h, body := page(t, http.MethodGet, local, nil)
	if code != http.StatusOK || !strings.Contains(body, `<form method="post">`) || h.Get("Cache-Control") != "no-store" {
		t.Errorf("GET link: %d\n%s", code, body)
	}
	if st := e.subs.state(t, "soest", "anna@example.org"); st != crier.SubscriberPending {
		t.Errorf("after GET: %s; a link scanner must confirm nobody", st)
	}
	code, _, body = page(t, http.MethodPost, local, url.Values{})
	if code != http.StatusOK || !strings.Contains(body, "Anmeldung bestätigt") {
		t.Errorf("POST link: %d\n%s", code, body)
	}
	subs = e.subs.all()
	if subs[0].State != crier.SubscriberConfirmed || subs[0].Name != "Anna Beispiel" ||
		subs[0].Source != "double opt-in, confirmed 2026-11-26T10:00:00Z" {
		t.Errorf("after POST: %+v", subs[0])
	}

	for name, token := range map[string]string{
		"forged":      subscribeTokens.Sign(crier.PurposeConfirm, "soest", "anna@example.org", testNow.Add(time.Hour)) + "x",
		"expired":     subscribeTokens.Sign(crier.PurposeConfirm, "soest", "anna@example.org", testNow.Add(-time.Second)),
		"unsubscribe": subscribeTokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(time.Hour)),
		"town gone":   subscribeTokens.Sign(crier.PurposeConfirm, "hamm", "anna@example.org", testNow.Add(time.Hour)),
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			code, _, body := page(t, method, e.url+"/confirm/"+url.PathEscape(token), nil)
			if code != http.StatusBadRequest || strings.Contains(body, "<form") {
				t.Errorf("%s %s link: %d\n%s", method, name, code, body)
			}
		}
	}
}

// TestSubscribeSameAnswer: new, pending, confirmed and unsubscribed
// addresses get byte-identical answers; what happens differs.
func TestSubscribeSameAnswer(t *testing.T) {
	e, clock := subscribeEnv(t)
	ctx := context.Background()
	if _, err := e.subs.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "pending@example.org", State: crier.SubscriberPending},
		{Town: "soest", Email: "confirmed@example.org", State: crier.SubscriberConfirmed, Source: "import"},
		{Town: "soest", Email: "gone@example.org", State: crier.SubscriberUnsubscribed},
	}, testNow); err != nil {
		t.Fatal(err)
	}
	var first string
	post := func(email string) {
		t.Helper()
		clock.Advance(3 * time.Minute) // stay within the rate limit
		code, _, body := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {email}, "name": {""}, "website": {""}})
		if code != http.StatusOK {
			t.Errorf("%s: %d", email, code)
		}
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("%s: the answer differs:\n%s\n---\n%s", email, body, first)
		}
	}
	for _, email := range []string{"new@example.org", "pending@example.org", "confirmed@example.org", "gone@example.org", "pending@example.org"} {
		post(email)
	}
	for email, want := range map[string]crier.SubscriberState{
		"new@example.org": crier.SubscriberPending, "pending@example.org": crier.SubscriberPending,
		"confirmed@example.org": crier.SubscriberConfirmed, "gone@example.org": crier.SubscriberPending,
	} {
		if got := e.subs.state(t, "soest", email); got != want {
			t.Errorf("%s: %s, want %s", email, got, want)
		}
	}
	got := map[string]int{}
	for _, m := range e.store.confirmations() {
		got[m.Recipient]++
	}
	// pending twice within the hour: one mail (the idempotency key).
	want := map[string]int{"new@example.org": 1, "pending@example.org": 1, "gone@example.org": 1}
	if len(got) != len(want) || got["new@example.org"] != 1 || got["pending@example.org"] != 1 || got["gone@example.org"] != 1 {
		t.Errorf("confirmations %v, want %v", got, want)
	}
	for _, sub := range e.subs.all() {
		if sub.Email == "confirmed@example.org" && sub.Source != "import" {
			t.Errorf("the confirmed address was rewritten: %+v", sub)
		}
	}
	// An hour later, a pending address may get another mail.
	clock.Advance(time.Hour)
	post("pending@example.org")
	if n := len(e.store.confirmations()); n != 4 {
		t.Errorf("%d confirmations after an hour, want 4", n)
	}
}

func TestSubscribeHoneypot(t *testing.T) {
	e, _ := subscribeEnv(t)
	code, _, body := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {"bot@example.org"}, "website": {"http://spam.example"}})
	if code != http.StatusOK || !strings.Contains(body, "wir haben Ihnen eine E-Mail geschickt") {
		t.Errorf("honeypot: %d\n%s", code, body)
	}
	if n, _ := e.store.size(); n != 0 || len(e.subs.all()) != 0 || e.notified.Load() != 0 {
		t.Errorf("the honeypot stored or sent something")
	}
}

func TestSubscribeInvalid(t *testing.T) {
	e, _ := subscribeEnv(t)
	code, _, body := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {"anna<at>example"}, "name": {"<b>Anna</b>"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `<form method="post">`) ||
		!strings.Contains(body, `role="alert"`) || !strings.Contains(body, `aria-invalid="true"`) ||
		strings.Contains(body, "<b>") || !strings.Contains(body, "anna&lt;at&gt;example") {
		t.Errorf("invalid address: %d\n%s", code, body)
	}
	if n, _ := e.store.size(); n != 0 || len(e.subs.all()) != 0 {
		t.Errorf("an invalid address stored something")
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		code, _, body := page(t, method, e.url+"/hamm/subscribe", url.Values{"email": {"anna@example.org"}})
		if code != http.StatusNotFound || strings.Contains(body, "<form") {
			t.Errorf("%s unknown town: %d\n%s", method, code, body)
		}
	}
}

// TestSubscribeRateLimit: five posts from one address in ten minutes;
// the sixth gets 429 with Retry-After, and after the window it works again.
func TestSubscribeRateLimit(t *testing.T) {
	e, clock := subscribeEnv(t)
	form := url.Values{"email": {"anna@example.org"}}
	for i := range SubscribeLimit {
		if code, _, _ := page(t, http.MethodPost, e.url+"/soest/subscribe", form); code != http.StatusOK {
			t.Fatalf("post %d: %d", i+1, code)
		}
	}
	code, h, body := page(t, http.MethodPost, e.url+"/soest/subscribe", form)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "120" || !strings.Contains(body, "Zu viele") {
		t.Errorf("post 6: %d Retry-After %q\n%s", code, h.Get("Retry-After"), body)
	}
	// The form itself stays available.
	if code, _, _ := page(t, http.MethodGet, e.url+"/soest/subscribe", nil); code != http.StatusOK {
		t.Errorf("GET while limited: %d", code)
	}
	clock.Advance(SubscribeWindow)
	for i := range SubscribeLimit {
		if code, _, _ := page(t, http.MethodPost, e.url+"/soest/subscribe", form); code != http.StatusOK {
			t.Errorf("after the window, post %d: %d", i+1, code)
		}
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":      "192.0.2.7",
		"not an address":             "not an address",
	} {
		if got := ratelimit.ClientKey(in); got != want {
			t.Errorf("ratelimit.ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
