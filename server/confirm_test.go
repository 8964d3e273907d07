package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// confirmPath is the path of a confirmation link for the subscription's
// current version, as the confirmation mail has it.
func confirmPath(t *testing.T, e *env, town, email string) string {
	t.Helper()
	sub := e.subs.find(town, email)
	if sub == nil {
		t.Fatalf("%s is not on the list of %s", email, town)
	}
	v := subscriptionVersion(sub)
	return "/confirm/" + v + confirmSep + subscribeTokens.Sign(confirmPurpose(v), town, email, testNow.Add(time.Hour))
}

// mailedConfirmPath is the path of the link in the last confirmation
// mail queued for email.
func mailedConfirmPath(t *testing.T, e *env, email string) string {
	t.Helper()
	var link string
	for _, m := range e.store.confirmations() {
		if m.Recipient == email {
			link = confirmLink.FindString(m.Text)
		}
	}
	if link == "" {
		t.Fatalf("no confirmation mail to %s", email)
	}
	return strings.TrimPrefix(link, "https://krisen.example")
}

// TestConfirmLinkVoid: a confirmation link works for the subscription it
// was made for, not after the address left the list, nor after it
// subscribed again (a new mail brings a new link).
func TestConfirmLinkVoid(t *testing.T) {
	e, clock := subscribeEnv(t)
	ctx := context.Background()
	subscribe := func(email string) {
		t.Helper()
		clock.Advance(time.Minute)
		if code, _, body := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {email}}); code != http.StatusOK {
			t.Fatalf("subscribe %s: %d\n%s", email, code, body)
		}
	}
	post := func(path string) int {
		t.Helper()
		code, _, _ := page(t, http.MethodPost, e.url+path, url.Values{})
		return code
	}

	subscribe("anna@example.org")
	first := mailedConfirmPath(t, e, "anna@example.org")
	clock.Advance(time.Minute)
	if err := e.subs.RemoveSubscriber(ctx, "soest", "anna@example.org", clock.Now()); err != nil {
		t.Fatal(err)
	}
	if code := post(first); code != http.StatusBadRequest {
		t.Errorf("first link after unsubscribing: %d, want 400", code)
	}
	if st := e.subs.state(t, "soest", "anna@example.org"); st != crier.SubscriberUnsubscribed {
		t.Fatalf("after the first link: %s, want unsubscribed", st)
	}

	// Within the same hour, subscribing again sends a new mail; only its
	// link confirms.
	subscribe("anna@example.org")
	second := mailedConfirmPath(t, e, "anna@example.org")
	if second == first {
		t.Fatalf("no new confirmation mail after subscribing again")
	}
	if code := post(first); code != http.StatusBadRequest {
		t.Errorf("first link after subscribing again: %d, want 400", code)
	}
	if st := e.subs.state(t, "soest", "anna@example.org"); st != crier.SubscriberPending {
		t.Fatalf("after the first link: %s, want pending", st)
	}
	if code := post(second); code != http.StatusOK {
		t.Errorf("second link: %d, want 200", code)
	}
	if st := e.subs.state(t, "soest", "anna@example.org"); st != crier.SubscriberConfirmed {
		t.Errorf("after the second link: %s, want confirmed", st)
	}

	// Posting the form again for a pending address neither voids its link
	// nor sends another mail, whatever name it gives.
	subscribe("bert@example.org")
	link := mailedConfirmPath(t, e, "bert@example.org")
	n := len(e.store.confirmations())
	clock.Advance(time.Minute)
	if code, _, _ := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {"bert@example.org"}, "name": {"Bert"}}); code != http.StatusOK {
		t.Fatalf("subscribe again: %d", code)
	}
	if got := len(e.store.confirmations()); got != n {
		t.Errorf("%d confirmation mails after posting a pending address again, want %d", got, n)
	}
	if code := post(link); code != http.StatusOK {
		t.Errorf("link after posting the form again: %d, want 200", code)
	}
}
