package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var unsubscribeLink = regexp.MustCompile(`/unsubscribe/[A-Za-z0-9_.-]+`)

// TestUnsubscribeLink follows the unsubscribe link of a mail crier sent:
// the page asks, the button (or a mail client's one-click POST)
// unsubscribes, and the next notice no longer goes to the address.
func TestUnsubscribeLink(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}
	cli := func(args ...string) (int, string, string) {
		return run(t, env, append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	if code, out, errOut := cli("subscribers", "add", "--town", "soest", "--confirmed", "--source", "Übung", "anna@example.org"); code != 0 {
		t.Fatalf("subscribers add: exit %d\n%s%s", code, out, errOut)
	}
	var lastLink string // the unsubscribe link of the latest mail to the subscriber
	publish := func() (mails int) {
		t.Helper()
		code, out, errOut := cli("publish", "../../examples/buergerbuero-geschlossen.md", "--wait")
		if code != 0 {
			t.Fatalf("publish --wait: exit %d\n%s%s", code, out, errOut)
		}
		id := strings.Fields(strings.TrimPrefix(out, "Published: "))[0]
		caps, err := srv.Client.Captures(context.Background(), id, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range caps {
			if c.Recipient == "anna@example.org" {
				mails++
				if link := unsubscribeLink.FindString(c.Text); link != "" {
					lastLink = link
				}
			}
		}
		return mails
	}
	if n := publish(); n != 1 || lastLink == "" {
		t.Fatalf("first notice: %d mails to anna, link %q", n, lastLink)
	}

	resp, err := http.Get(srv.URL + lastLink)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", lastLink, resp.StatusCode)
	}
	resp, err = http.Post(srv.URL+lastLink, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST %s: %d", lastLink, resp.StatusCode)
	}
	if code, out, _ := cli("subscribers", "export", "--town", "soest", "--state", "unsubscribed"); code != 0 || !strings.Contains(out, "anna@example.org") {
		t.Errorf("after the one-click POST: exit %d\n%s", code, out)
	}
	if n := publish(); n != 0 {
		t.Errorf("the next notice went to the unsubscribed address %d times", n)
	}
}
