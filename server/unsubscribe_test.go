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

// TestUnsubscribe follows a mail's unsubscribe link: GET shows a button
// and changes nothing, POST (the button, or a mail client's RFC 8058
// one-click request) takes the address off the list, and the answer is the
// same when it was off already. Bad, forged, expired and foreign-purpose
// links get 400; no page names the address.
func TestUnsubscribe(t *testing.T) {
	tokens := &crier.Tokens{Secret: []byte("0123456789abcdef0123456789abcdef")}
	e := newEnv(t, func(o *Options) { o.Tokens = tokens })
	ctx := context.Background()
	if _, err := e.subs.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed},
	}, testNow); err != nil {
		t.Fatal(err)
	}
	link := e.url + "/unsubscribe/" + tokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(time.Hour))
	do := func(method, u, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "anna@example.org") {
			t.Errorf("%s %s names the address", method, u)
		}
		return resp.StatusCode, string(b)
	}
	state := func() crier.SubscriberState {
		t.Helper()
		subs, err := e.subs.Subscribers(ctx, "soest", "")
		if err != nil || len(subs) != 1 {
			t.Fatalf("subscribers: %v, %v", subs, err)
		}
		return subs[0].State
	}

	code, page := do(http.MethodGet, link, "")
	if code != http.StatusOK || !strings.Contains(page, `<form method="post">`) || !strings.Contains(page, "Stadt Soest") ||
		!strings.Contains(page, `lang="de"`) {
		t.Errorf("GET: %d\n%s", code, page)
	}
	if s := state(); s != crier.SubscriberConfirmed {
		t.Errorf("after GET the address is %s; a link scanner must not unsubscribe anyone", s)
	}
	for range 2 { // the button, then a mail client's one-click request: the same answer
		code, page = do(http.MethodPost, link, url.Values{"List-Unsubscribe": {"One-Click"}}.Encode())
		if code != http.StatusOK || !strings.Contains(page, "abgemeldet") {
			t.Errorf("POST: %d\n%s", code, page)
		}
	}
	if s := state(); s != crier.SubscriberUnsubscribed {
		t.Errorf("after POST the address is %s, want unsubscribed", s)
	}

	for name, token := range map[string]string{
		"forged":  tokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(time.Hour)) + "x",
		"expired": tokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(-time.Second)),
		"confirm": tokens.Sign(crier.PurposeConfirm, "soest", "anna@example.org", testNow.Add(time.Hour)),
		"garbage": "<script>alert(1)</script>",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			code, page := do(method, e.url+"/unsubscribe/"+url.PathEscape(token), "")
			if code != http.StatusBadRequest || strings.Contains(page, "<form") || strings.Contains(page, "<script>") {
				t.Errorf("%s %s link: %d\n%s", method, name, code, page)
			}
		}
	}
}
