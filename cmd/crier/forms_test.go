package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

const testPrivacyURL = "https://soest.example/datenschutz"

// formsServer serves the e2e towns in actual mode with a privacy
// statement configured; do sends one request to it with the given headers.
func formsServer(t *testing.T) (*served, func(method, path string, form url.Values, header map[string]string) (int, http.Header, string)) {
	t.Helper()
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	srv := mustServe(t, actualConfig(t, hooks.URL(), smtp.Port(), "site:\n  privacy_url: "+testPrivacyURL),
		map[string]string{"RADIO_SECRET": secret})
	do := func(method, path string, form url.Values, header map[string]string) (int, http.Header, string) {
		t.Helper()
		return sendForm(t, srv.URL+path, method, form, header)
	}
	return srv, do
}

// sendForm sends a request to url, with form as its urlencoded body when
// it is not nil and the given headers, and returns the answer's status,
// headers and body.
func sendForm(t *testing.T, url, method string, form url.Values, header map[string]string) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestPublicPagesHeaders: no public page, the subscriber pages included,
// may be framed by another site or sniffed as another type, and the
// subscriber pages link the configured privacy statement.
func TestPublicPagesHeaders(t *testing.T) {
	_, do := formsServer(t)
	for _, path := range []string{"/", "/soest/", "/soest/subscribe", "/confirm/nonsense", "/unsubscribe/nonsense"} {
		_, h, body := do(http.MethodGet, path, nil, nil)
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want frame-ancestors 'none' added to default-src 'none'", path, csp)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", path, got)
		}
		if path != "/" && path != "/soest/" && !strings.Contains(body, `href="`+testPrivacyURL+`"`) {
			t.Errorf("GET %s: no link to the privacy statement:\n%s", path, body)
		}
	}
	code, _, body := do(http.MethodPost, "/soest/subscribe", url.Values{"email": {"neu@buerger.example"}}, nil)
	if code != http.StatusOK || !strings.Contains(body, `href="`+testPrivacyURL+`"`) || !strings.Contains(body, "Datenschutzerklärung") {
		t.Errorf("POST /soest/subscribe: %d, no link to the privacy statement:\n%s", code, body)
	}
}

// TestAddressSyntax: the form and the API refuse the same addresses that
// mail on the internet cannot reach.
func TestAddressSyntax(t *testing.T) {
	srv, do := formsServer(t)
	for _, addr := range []string{"a@b", "x@[127.0.0.1]", "x@127.0.0.1", "x@localhost", strings.Repeat("a", 65) + "@soest.example"} {
		if code, _, _ := do(http.MethodPost, "/soest/subscribe", url.Values{"email": {addr}}, nil); code != http.StatusUnprocessableEntity {
			t.Errorf("form with %q: %d, want 422", addr, code)
		}
		if _, _, err := srv.Client.AddSubscribers(context.Background(), []*crier.Subscriber{
			{Town: "soest", Email: addr, State: crier.SubscriberConfirmed, Source: "Test"}}); crier.ErrorCode(err) != crier.EINVALID {
			t.Errorf("API with %q: %v, want invalid", addr, err)
		}
	}
	subs, err := srv.Client.Subscribers(context.Background(), "soest", "")
	if err != nil || len(subs) != 0 {
		t.Errorf("subscribers %v, %v; want none", subs, err)
	}
}

// TestSubscribeCrossSite: another site's page cannot make a visitor's
// browser subscribe an address (and queue a confirmation mail to it).
func TestSubscribeCrossSite(t *testing.T) {
	srv, do := formsServer(t)
	form := url.Values{"email": {"opfer@buerger.example"}}
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		if code, _, _ := do(http.MethodPost, "/soest/subscribe", form, h); code != http.StatusForbidden {
			t.Errorf("POST with %v: %d, want 403", h, code)
		}
	}
	if subs, err := srv.Client.Subscribers(context.Background(), "soest", ""); err != nil || len(subs) != 0 {
		t.Errorf("after cross-site posts: subscribers %v, %v; want none", subs, err)
	}
	if code, _, _ := do(http.MethodPost, "/soest/subscribe", form, map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusOK {
		t.Errorf("same-origin POST: %d, want 200", code)
	}
}
