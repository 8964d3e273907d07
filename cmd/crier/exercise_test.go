package main

import (
	"context"
	"strings"
	"testing"
)

// TestExerciseModeQuickstart is the README's tour on a fresh data dir:
// serve with the example configuration and no secrets at all, add a
// subscriber, publish an example notice with --wait, and read what the
// capture sink received. Nothing leaves the machine.
func TestExerciseModeQuickstart(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "de"}
	cli := func(args ...string) (int, string, string) {
		return run(t, env, append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}

	if code, out, errOut := cli("subscribers", "add", "--town", "soest", "--confirmed", "--source", "Übung", "anna@example.org"); code != 0 {
		t.Fatalf("subscribers add: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := cli("publish", "../../examples/buergerbuero-geschlossen.md", "--wait")
	if code != 0 {
		t.Fatalf("publish --wait: exit %d\n%s%s", code, out, errOut)
	}
	// 14 towns on the shared radio webhook, one mail to Soest's only
	// subscriber, Soest's Mastodon account and the crisis staff's Slack.
	if !strings.Contains(out, "17 Zustellungen") || !strings.Contains(out, "Alle 17 Zustellungen versandt.") {
		t.Errorf("publish output:\n%s", out)
	}
	id := strings.Fields(strings.TrimPrefix(out, "Veröffentlicht: "))[0]

	caps, err := srv.Client.Captures(context.Background(), id, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(caps) != 17 {
		t.Fatalf("captured %d messages, want 17", len(caps))
	}
	var mail int
	for _, c := range caps {
		if c.Recipient == "" {
			continue
		}
		mail++
		if c.Recipient != "anna@example.org" || c.Town != "soest" {
			t.Errorf("mail captured for %s in %s", c.Recipient, c.Town)
		}
		if !strings.Contains(c.Subject, "Bürgerbüro geschlossen") || !strings.Contains(c.Subject, "ÜBUNG") {
			t.Errorf("subject %q: want the title and the exercise marker", c.Subject)
		}
		if !strings.Contains(c.Text, "Stadt Soest") || !strings.Contains(c.Text, "/unsubscribe/") {
			t.Errorf("mail text lacks the town or the personal unsubscribe link:\n%s", c.Text)
		}
	}
	if mail != 1 {
		t.Errorf("captured %d mails, want 1", mail)
	}
	social := 0
	for _, c := range caps {
		if c.Type != "mastodon" && c.Type != "slack" {
			continue
		}
		social++
		if c.Town != "soest" || !strings.Contains(c.Text, "ÜBUNG") || !strings.Contains(c.Text, "Bürgerbüro geschlossen") ||
			!strings.Contains(c.Text, "/soest/"+id) {
			t.Errorf("%s post for %s lacks the exercise marker, the title or the link:\n%s", c.Type, c.Town, c.Text)
		}
		if c.Type == "mastodon" && !strings.Contains(c.Text, "#Soest") {
			t.Errorf("Mastodon post without the town's hashtag:\n%s", c.Text)
		}
	}
	if social != 2 {
		t.Errorf("captured %d social posts, want 2 (Mastodon and Slack)", social)
	}

	code, out, errOut = cli("captures", id)
	if code != 0 || strings.Count(out, "\n") != 17 || !strings.Contains(out, "anna@example.org") {
		t.Errorf("captures: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli("status", id)
	if code != 0 || !strings.Contains(out, "17: gesendet 17") {
		t.Errorf("status: exit %d\n%s", code, out)
	}

	// A correction and a cancellation are captured like the notice.
	if code, out, errOut := cli("update", id, "../../examples/buergerbuero-notdienst.md", "--wait"); code != 0 {
		t.Fatalf("update --wait: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := cli("cancel", id, "--reason", "Das Bürgerbüro ist wieder geöffnet.", "--wait"); code != 0 {
		t.Fatalf("cancel --wait: exit %d\n%s%s", code, out, errOut)
	}
	caps, err = srv.Client.Captures(context.Background(), id, 100)
	if err != nil {
		t.Fatal(err)
	}
	perRevision := map[int]int{}
	for _, c := range caps {
		perRevision[c.Revision]++
		if c.Recipient == "" {
			continue
		}
		switch want := map[int]string{2: "Aktualisierung: ", 3: "Aufgehoben: "}[c.Revision]; {
		case want != "" && !strings.Contains(c.Subject, want):
			t.Errorf("revision %d mail subject %q, want %q in it", c.Revision, c.Subject, want)
		case c.Revision == 3 && !strings.Contains(c.Text, "Das Bürgerbüro ist wieder geöffnet."):
			t.Errorf("cancel mail without the reason:\n%s", c.Text)
		}
	}
	if perRevision[1] != 17 || perRevision[2] != 17 || perRevision[3] != 17 {
		t.Errorf("captures per revision: %v, want 17 each", perRevision)
	}
}
