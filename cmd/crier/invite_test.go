package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// TestSubscribersInvite: addresses added without --confirmed stay pending;
// crier subscribers invite sends each of them the confirmation mail the
// subscribe form sends, through the queue, at most one per address and
// hour; confirmed addresses get none; an invited address that confirms is
// on the list.
func TestSubscribersInvite(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := actualConfig(t, hooks.URL(), smtp.Port(), "")
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": secret})
	cli := func(args ...string) (int, string, string) {
		return run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"},
			append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	for _, args := range [][]string{
		{"subscribers", "add", "--town", "soest", "anna@buerger.example"},
		{"subscribers", "add", "--town", "soest", "ben@buerger.example"},
		{"subscribers", "add", "--town", "soest", "--confirmed", "--source", "Papierliste", "clara@buerger.example"},
		{"subscribers", "add", "--town", "werl", "dora@buerger.example"},
	} {
		if code, out, errOut := cli(args...); code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}

	code, out, errOut := cli("subscribers", "invite", "--town", "soest")
	if code != exitOK || !strings.Contains(out, "Invited 2 pending addresses of list soest") {
		t.Fatalf("invite: exit %d\n%s%s", code, out, errOut)
	}
	links := map[string]string{}
	for _, addr := range []string{"anna@buerger.example", "ben@buerger.example"} {
		m := waitMail(t, smtp, addr, 0)
		found := confirmMailLink.FindStringSubmatch(m.Text)
		if found == nil {
			t.Fatalf("no confirmation link in the mail to %s:\n%s", addr, m.Text)
		}
		links[addr] = found[1]
	}
	code, out, _ = cli("subscribers", "invite", "--town", "soest")
	if code != exitOK || !strings.Contains(out, "Invited 0 pending addresses") || !strings.Contains(out, "(2 invited within the hour already)") {
		t.Errorf("invite again within the hour: exit %d\n%s", code, out)
	}
	for _, m := range smtp.Messages() {
		for _, to := range m.To {
			if to == "clara@buerger.example" || to == "dora@buerger.example" {
				t.Errorf("%s got a mail: confirmed addresses and other towns' lists are not invited", to)
			}
		}
	}
	if n := len(smtp.Messages()); n != 2 {
		t.Errorf("%d mails, want the 2 invitations", n)
	}

	resp, err := http.PostForm(srv.URL+links["anna@buerger.example"], url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	subs, err := srv.Client.Subscribers(context.Background(), "soest", crier.SubscriberConfirmed)
	if err != nil || len(subs) != 2 {
		t.Errorf("confirmed after anna's confirmation: %v, %v; want clara and anna", subs, err)
	}
	if code, _, errOut := cli("subscribers", "invite", "--town", "nowhere"); code == exitOK || !strings.Contains(errOut, "nowhere") {
		t.Errorf("invite for an unknown town: exit %d\n%s", code, errOut)
	}
}
