package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestFormsCrossOrigin: a POST to a public form from another site's page
// is refused and changes nothing; the same form from the site itself, and
// a mail client's one-click unsubscribe (no Origin, no Sec-Fetch-Site),
// still work.
func TestFormsCrossOrigin(t *testing.T) {
	e, clock := subscribeEnv(t)
	ctx := context.Background()
	if _, err := e.subs.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "pending@example.org", State: crier.SubscriberPending},
		{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed},
	}, testNow); err != nil {
		t.Fatal(err)
	}
	post := func(path string, form url.Values, header map[string]string) (int, string) {
		t.Helper()
		clock.Advance(3 * time.Minute) // stay within the rate limit
		req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	confirm := confirmPath(t, e, "soest", "pending@example.org")
	unsub := "/unsubscribe/" + subscribeTokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(time.Hour))
	subscribe := url.Values{"email": {"new@example.org"}}
	oneClick := url.Values{"List-Unsubscribe": {"One-Click"}}

	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site", "Origin": "https://www.example.org"},
		{"Origin": "https://evil.example"},
	} {
		for _, c := range []struct {
			path string
			form url.Values
		}{{"/soest/subscribe", subscribe}, {confirm, url.Values{}}, {unsub, oneClick}} {
			code, body := post(c.path, c.form, h)
			if code != http.StatusForbidden || !strings.Contains(body, "Anfrage abgelehnt") {
				t.Errorf("POST %s with %v: %d, want 403\n%s", c.path, h, code, body)
			}
		}
	}
	for email, want := range map[string]crier.SubscriberState{
		"new@example.org": "", "pending@example.org": crier.SubscriberPending, "anna@example.org": crier.SubscriberConfirmed,
	} {
		if got := e.subs.state(t, "soest", email); got != want {
			t.Errorf("after cross-site posts %s is %q, want %q", email, got, want)
		}
	}
	if n := len(e.store.confirmations()); n != 0 {
		t.Errorf("cross-site posts queued %d confirmation mails", n)
	}

	// From the site itself, and from a mail client.
	if code, _ := post("/soest/subscribe", subscribe, map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusOK {
		t.Errorf("same-origin subscribe: %d", code)
	}
	if code, _ := post("/soest/subscribe", url.Values{"email": {"other@example.org"}}, map[string]string{"Origin": "https://krisen.example"}); code != http.StatusOK {
		t.Errorf("subscribe from the public URL's origin: %d", code)
	}
	if code, _ := post(confirm, url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.url}); code != http.StatusOK {
		t.Errorf("same-origin confirm: %d", code)
	}
	if code, _ := post(unsub, oneClick, nil); code != http.StatusOK {
		t.Errorf("one-click unsubscribe without Origin: %d", code)
	}
	for email, want := range map[string]crier.SubscriberState{
		"new@example.org": crier.SubscriberPending, "pending@example.org": crier.SubscriberConfirmed, "anna@example.org": crier.SubscriberUnsubscribed,
	} {
		if got := e.subs.state(t, "soest", email); got != want {
			t.Errorf("%s is %q, want %q", email, got, want)
		}
	}
}
