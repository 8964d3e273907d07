package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/channels/slack/slackfake"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// TestRevisionEndToEnd publishes to two towns on Mastodon, Slack, email
// and a webhook, corrects the notice with "crier update" and withdraws it
// with "crier cancel": statuses are edited and then deleted, Slack
// messages updated and deleted, subscribers get "Aktualisierung:" and
// "Aufgehoben:" mails, and the webhook gets announcement.updated and
// announcement.canceled referring to the revision before.
func TestRevisionEndToEnd(t *testing.T) {
	towns := e2eTowns[:2]
	var tokens []string
	for _, tw := range towns {
		tokens = append(tokens, "tok-"+tw.id)
	}
	masto := mastodontest.NewServer(t, mastodontest.Options{Tokens: tokens})
	slack := slackfake.NewServer(t, slackfake.Options{Tokens: []string{"xoxb-krisenstab"}})
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})

	var b strings.Builder
	b.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\nchannels:\n")
	fmt.Fprintf(&b, "  - {id: radio, type: webhook, endpoints: [{url: %q, secret: \"${RADIO_SECRET}\"}]}\n", hooks.URL())
	for _, tw := range towns {
		fmt.Fprintf(&b, "  - {id: mastodon-%s, type: mastodon, endpoints: [{server: %q, token: tok-%s}]}\n", tw.id, masto.URL(), tw.id)
		fmt.Fprintf(&b, "  - {id: slack-%s, type: slack, endpoints: [{token: xoxb-krisenstab, channel: \"#krisenstab-%s\", api_url: %q}]}\n", tw.id, tw.id, slack.URL())
		fmt.Fprintf(&b, "  - {id: mail-%s, type: email, from: \"%s <presse@%s.example>\", endpoints: [{host: 127.0.0.1, port: %d, tls: none}]}\n", tw.id, tw.name, tw.id, smtp.Port())
	}
	b.WriteString("towns:\n")
	for _, tw := range towns {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    ags: %q\n    vars: {phone: %q, office: %q}\n    channels: [radio, mastodon-%s, slack-%s, mail-%s]\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office, tw.id, tw.id, tw.id)
	}
	config := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": secret})
	for _, tw := range towns {
		var subs []*crier.Subscriber
		for i := range 3 {
			subs = append(subs, &crier.Subscriber{Town: tw.id, Email: fmt.Sprintf("buerger%d@%s.example", i, tw.id),
				State: crier.SubscriberConfirmed, Source: "Test"})
		}
		if _, _, err := srv.Client.AddSubscribers(context.Background(), subs); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}
	cli := func(args ...string) (int, string, string) {
		return run(t, env, append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	ctx := context.Background()

	res, err := srv.Client.Publish(ctx, &crier.Announcement{Title: "Bürgerbüro geschlossen",
		Body: "Das Bürgerbüro der {{.Town.Name}} bleibt geschlossen.", Towns: []string{"soest", "werl"}}, "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	if st := waitDone(t, srv.Client, id, time.Minute); st.Totals[crier.StateSent] != st.Total {
		t.Fatalf("publish: %v", st.Totals)
	}

	update := filepath.Join(t.TempDir(), "update.md")
	os.WriteFile(update, []byte("---\ntitle: Bürgerbüro geschlossen\ntowns: [soest, werl]\n---\n"+
		"Das Bürgerbüro der {{.Town.Name}} öffnet am Montag um 8 Uhr wieder.\n"), 0o600)
	code, out, errOut := cli("update", id, update, "--wait")
	if code != exitOK || !strings.Contains(out, "Updated: "+id+", revision 2") {
		t.Fatalf("update: exit %d\n%s%s", code, out, errOut)
	}
	// The same update again would send every subscriber a correction that
	// corrects nothing: it is refused, and nothing is queued.
	mailsBefore := len(smtp.Messages())
	code, out, errOut = cli("update", id, update)
	if code == exitOK || !strings.Contains(errOut, "nothing changed") {
		t.Errorf("the same update again: exit %d, want a refusal saying nothing changed\n%s%s", code, out, errOut)
	}
	if st, err := srv.Client.Status(ctx, id); err != nil || st.Announcement.Revision != 2 {
		t.Errorf("after the repeated update: %v, %v; want still revision 2", st, err)
	}
	if _, err := srv.Client.Update(ctx, id, &crier.Announcement{Title: "Bürgerbüro geschlossen", Towns: []string{"soest", "werl"},
		Body: "Das Bürgerbüro der {{.Town.Name}} öffnet am Montag um 8 Uhr wieder.\n"}, ""); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("the same update through the API: %v; want a conflict", err)
	}
	if n := len(smtp.Messages()); n != mailsBefore {
		t.Errorf("%d mails after the refused update, want none", n-mailsBefore)
	}
	for _, tw := range towns {
		ss := masto.StatusesOf("tok-" + tw.id)
		if len(ss) != 1 || len(ss[0].Edits) != 1 || !strings.Contains(ss[0].Text, "Aktualisierung: Bürgerbüro geschlossen") ||
			!strings.Contains(ss[0].Text, "Montag") {
			t.Errorf("%s on Mastodon after the update: %d statuses; want its one status edited", tw.id, len(ss))
		}
	}
	slackOf := func(town string) []*slackfake.Message {
		cid, _ := slack.ChannelID("#krisenstab-" + town)
		var out []*slackfake.Message
		for _, m := range slack.Messages() {
			if m.Channel == cid {
				out = append(out, m)
			}
		}
		return out
	}
	for _, tw := range towns {
		ms := slackOf(tw.id)
		if len(ms) != 1 || len(ms[0].Edits) != 1 || !strings.Contains(ms[0].Text, "Aktualisierung:") {
			t.Errorf("%s on Slack after the update: %+v; want its one message updated", tw.id, ms)
		}
	}

	code, out, errOut = cli("cancel", id, "--reason", "Die Störung ist behoben.", "--wait", "--idempotency-key", "cancel-1")
	if code != exitOK || !strings.Contains(out, "Canceled: "+id+", revision 3") {
		t.Fatalf("cancel: exit %d\n%s%s", code, out, errOut)
	}
	for _, tw := range towns {
		if ss := masto.StatusesOf("tok-" + tw.id); len(ss) != 1 || !ss[0].Deleted {
			t.Errorf("%s on Mastodon after the cancel: %+v; want its status deleted", tw.id, ss)
		}
		if ms := slackOf(tw.id); len(ms) != 1 || !ms[0].Deleted {
			t.Errorf("%s on Slack after the cancel: %+v; want its message deleted", tw.id, ms)
		}
	}

	// Every subscriber got the notice, the update and the cancel, in order.
	subjects := map[string][]string{}
	for _, m := range smtp.Messages() {
		subjects[m.To[0]] = append(subjects[m.To[0]], m.Subject)
		if strings.HasPrefix(m.Subject, "Aufgehoben") && !strings.Contains(m.Text, "Die Störung ist behoben.") {
			t.Errorf("cancel mail to %s lacks the reason:\n%s", m.To[0], m.Text)
		}
	}
	want := []string{"Bürgerbüro geschlossen", "Aktualisierung: Bürgerbüro geschlossen", "Aufgehoben: Bürgerbüro geschlossen"}
	if len(subjects) != 2*3 {
		t.Errorf("mails went to %d addresses, want 6", len(subjects))
	}
	for to, got := range subjects {
		if !slices.Equal(got, want) {
			t.Errorf("mails to %s: %q, want %q", to, got, want)
		}
	}

	// The webhook got each revision once per town, each referring to the one before.
	events := map[string][]string{}
	for _, r := range hooks.Requests() {
		data, _ := r.Payload["data"].(map[string]any)
		town, _ := data["town"].(map[string]any)
		event, _ := r.Payload["type"].(string)
		if event != crier.EventPublished {
			ref, _ := data["references"].(map[string]any)
			if ref["id"] != id || ref["revision"] != data["revision"].(float64)-1 {
				t.Errorf("%s webhook for %v refers to %v", event, town["id"], ref)
			}
		}
		events[fmt.Sprint(town["id"])] = append(events[fmt.Sprint(town["id"])], event)
	}
	for _, tw := range towns {
		if want := []string{crier.EventPublished, crier.EventUpdated, crier.EventCanceled}; !slices.Equal(events[tw.id], want) {
			t.Errorf("webhooks for %s: %v, want %v", tw.id, events[tw.id], want)
		}
	}

	// A canceled announcement stays canceled. A cancel repeated with its
	// idempotency key, as after a lost answer, gets the first answer.
	if code, _, errOut := cli("cancel", id); code == exitOK || !strings.Contains(errOut, "canceled") {
		t.Errorf("second cancel: exit %d\n%s", code, errOut)
	}
	code, out, errOut = cli("cancel", id, "--reason", "Die Störung ist behoben.", "--idempotency-key", "cancel-1")
	if code != exitOK || !strings.Contains(out, "revision 3") {
		t.Errorf("cancel repeated with its key: exit %d\n%s%s", code, out, errOut)
	}
	if st, err := srv.Client.Status(ctx, id); err != nil || st.Announcement.Revision != 3 {
		t.Errorf("after the repeated cancel: %+v, %v; want revision 3 still the latest", st, err)
	}
}
