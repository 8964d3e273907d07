package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/server"
)

// e2eTowns are five Kreis Soest towns with the vars their notices use.
var e2eTowns = []struct{ id, name, ags, phone, office string }{
	{"soest", "Stadt Soest", "05974040", "02921 103-0", "Bürgerbüro, Am Vreithof 8"},
	{"werl", "Stadt Werl", "05974052", "02922 800-0", "Rathaus, Hedwig-Dransfeld-Straße 23"},
	{"lippstadt", "Stadt Lippstadt", "05974028", "02941 980-0", "Rathaus, Ostwall 1"},
	{"warstein", "Stadt Warstein", "05974044", "02902 81-0", "Rathaus, Dieplohstraße 1"},
	{"erwitte", "Stadt Erwitte", "05974016", "02943 896-0", "Rathaus, Am Markt 13"},
}

// actualConfig writes a configuration in actual mode whose five towns each
// publish to a shared webhook receiver and their own email list on smtp.
func actualConfig(t *testing.T, webhookURL string, smtpPort int, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: https://krisen.kreis-soest.example\n%s\nchannels:\n", extra)
	fmt.Fprintf(&b, "  - id: radio\n    type: webhook\n    endpoints: [{url: %q, secret: \"${RADIO_SECRET}\"}]\n", webhookURL)
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - id: mail-%s\n    type: email\n    from: \"%s <presse@%s.example>\"\n", tw.id, tw.name, tw.id)
		fmt.Fprintf(&b, "    endpoints: [{host: 127.0.0.1, port: %d, tls: none}]\n", smtpPort)
	}
	b.WriteString("towns:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    ags: %q\n    vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\", hashtag: %s}\n    channels: [radio, mail-%s]\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office, strings.ToUpper(tw.id[:1])+tw.id[1:], tw.id)
	}
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// addSubscribers puts n confirmed subscribers on every e2e town's list.
func addSubscribers(t *testing.T, srv *served, n int) {
	t.Helper()
	for _, tw := range e2eTowns {
		var subs []*crier.Subscriber
		for i := range n {
			subs = append(subs, &crier.Subscriber{
				Town: tw.id, Email: fmt.Sprintf("buerger%03d@%s.example", i, tw.id),
				State: crier.SubscriberConfirmed, Source: "Test",
			})
		}
		if _, _, err := srv.Client.AddSubscribers(context.Background(), subs); err != nil {
			t.Fatal(err)
		}
	}
}

func e2eNotice() *crier.Announcement {
	return &crier.Announcement{
		Title: "Bürgerbüro geschlossen – IT-Störung",
		Body: "Das Bürgerbüro der **{{.Town.Name}}** bleibt wegen einer IT-Störung geschlossen.\n\n" +
			"Telefonisch erreichen Sie uns unter {{.Vars.phone}} ({{.Vars.hours}}), persönlich im {{.Vars.office}}.",
		Towns: []string{"soest", "werl", "lippstadt", "warstein", "erwitte"},
	}
}

// TestEndToEnd publishes to 5 towns × (webhook + email) with 200
// subscribers per town through a real server, a real SMTP server and a
// real webhook receiver, and checks every message that arrived.
func TestEndToEnd(t *testing.T) {
	const perTown = 200
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := actualConfig(t, hooks.URL(), smtp.Port(), "")
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": secret})
	addSubscribers(t, srv, perTown)
	ctx := context.Background()

	res, err := srv.Client.Publish(ctx, e2eNotice(), "e2e-1")
	if err != nil {
		t.Fatal(err)
	}
	want := len(e2eTowns) * (1 + perTown)
	if res.Deliveries != want {
		t.Fatalf("publish created %d deliveries, want %d", res.Deliveries, want)
	}
	id := res.Announcement.ID
	st := waitDone(t, srv.Client, id, time.Minute)
	if st.Totals[crier.StateSent] != want {
		t.Fatalf("status: %v, want all %d sent", st.Totals, want)
	}

	// Every endpoint is healthy, and the API says so.
	eps, err := srv.Client.Endpoints(ctx)
	if err != nil || len(eps) != 1+len(e2eTowns) {
		t.Fatalf("endpoints: %d, %v; want %d", len(eps), err, 1+len(e2eTowns))
	}
	for _, ep := range eps {
		if ep.State != "closed" || ep.Network != "default" {
			t.Errorf("endpoint %s of %s: %s on %q, want closed on default", ep.Endpoint, ep.Channel, ep.State, ep.Network)
		}
	}

	// Webhooks: one per town, signed, with the town's own text, keyed by delivery.
	got := map[string]*webhooktest.Request{}
	for _, r := range hooks.Requests() {
		if !r.Verified {
			t.Errorf("webhook %s: signature not valid: %v", r.ID, r.VerifyErr)
		}
		got[r.ID] = r
	}
	for _, tw := range e2eTowns {
		r := got[crier.DeliveryKey(id, 1, tw.id, "radio", 0)]
		if r == nil {
			t.Errorf("no webhook for %s", tw.id)
			continue
		}
		data, _ := r.Payload["data"].(map[string]any)
		text, _ := data["text"].(string)
		if r.Payload["type"] != crier.EventPublished || !strings.Contains(text, tw.name) || !strings.Contains(text, tw.phone) {
			t.Errorf("webhook for %s: type %v, text %q", tw.id, r.Payload["type"], text)
		}
	}
	if len(hooks.Requests()) != len(e2eTowns) {
		t.Errorf("%d webhook requests, want %d", len(hooks.Requests()), len(e2eTowns))
	}

	// Mails: one per subscriber, to the right address, with the town's text.
	ds, err := srv.Client.AllDeliveries(ctx, id, server.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*crier.Delivery{}
	for _, d := range ds {
		byKey[d.Key] = d
	}
	msgs := smtp.Messages()
	if len(msgs) != len(e2eTowns)*perTown {
		t.Fatalf("SMTP server received %d mails, want %d", len(msgs), len(e2eTowns)*perTown)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		d := byKey[m.Key]
		if d == nil || d.Type != "email" {
			t.Errorf("mail with Message-ID %s matches no email delivery", m.MessageID)
			continue
		}
		if seen[m.Key] {
			t.Errorf("mail %s received twice", m.Key)
		}
		seen[m.Key] = true
		tw := townByID(d.Town)
		if len(m.To) != 1 || m.To[0] != d.Recipient || !strings.HasSuffix(d.Recipient, "@"+tw.id+".example") {
			t.Errorf("mail %s to %v, want %s", m.Key, m.To, d.Recipient)
		}
		if m.Subject != "Bürgerbüro geschlossen – IT-Störung" {
			t.Errorf("subject %q", m.Subject)
		}
		if raw := m.Header.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?") {
			t.Errorf("raw subject %q is not RFC 2047 encoded", raw)
		}
		if !strings.Contains(m.Header.Get("From"), "presse@"+tw.id+".example") {
			t.Errorf("from %q", m.Header.Get("From"))
		}
		for _, part := range []string{m.Text, m.HTML} {
			if !strings.Contains(part, tw.name) || !strings.Contains(part, "Bürgerbüro") || !strings.Contains(part, tw.phone) {
				t.Errorf("mail %s part lacks the town's text:\n%s", m.Key, part)
			}
		}
		lu := m.Header.Get("List-Unsubscribe")
		if !strings.HasPrefix(lu, "<https://krisen.kreis-soest.example/unsubscribe/") ||
			m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("unsubscribe headers %q, %q", lu, m.Header.Get("List-Unsubscribe-Post"))
		}
		if !strings.Contains(m.Text, strings.Trim(lu, "<>")) {
			t.Errorf("mail text lacks the recipient's own unsubscribe link %s", lu)
		}
	}
}

func townByID(id string) struct{ id, name, ags, phone, office string } {
	for _, tw := range e2eTowns {
		if tw.id == id {
			return tw
		}
	}
	panic("unknown town " + id)
}
