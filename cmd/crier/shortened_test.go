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
	"github.com/crierhq/crier/channels/mastodon"
	"github.com/crierhq/crier/channels/slack/slackfake"
)

// slackMessagesOf returns what the Slack fake got in the town's channel.
func slackMessagesOf(t *testing.T, f *slackfake.Server, town string) []*slackfake.Message {
	t.Helper()
	id, ok := f.ChannelID("#krisenstab-" + town)
	if !ok {
		t.Fatalf("no Slack channel of %s", town)
	}
	var out []*slackfake.Message
	for _, m := range f.Messages() {
		if m.Channel == id {
			out = append(out, m)
		}
	}
	return out
}

// TestSocialWholeNotice publishes the example notice whose emergency phone
// number stands in its second paragraph: every town's number reaches its
// posts on both Mastodon instances (500 and 1 000 characters) and its
// Slack message; where the whole notice fits (1 000 characters, Slack) the
// post carries all of it, and the 500-character posts fit as Mastodon
// counts.
func TestSocialWholeNotice(t *testing.T) {
	f := newSocialFakes(t, crier.SystemClock{})
	srv := mustServe(t, socialConfig(t, f, nil), nil)
	waitProbed(t, srv.Client, time.Minute)
	a, _, err := readNoticeAt(filepath.Join("..", "..", "examples", "buergerbuero-notdienst.md"), berlin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a.Towns = nil
	for _, tw := range e2eTowns {
		a.Towns = append(a.Towns, tw.id)
	}
	res, err := srv.Client.Publish(context.Background(), a, "")
	if err != nil {
		t.Fatal(err)
	}
	st := waitDone(t, srv.Client, res.Announcement.ID, time.Minute)
	if want := 3 * len(e2eTowns); st.Totals[crier.StateSent] != want {
		t.Fatalf("status %v, want all %d sent", st.Totals, want)
	}
	const last = "Sobald es Neuigkeiten gibt, informieren wir Sie erneut."
	for _, tw := range e2eTowns {
		phone := "Telefonisch erreichen Sie uns unter " + tw.phone
		small, large := f.small.StatusesOf("tok-"+tw.id+"-small"), f.large.StatusesOf("tok-"+tw.id+"-large")
		if len(small) != 1 || len(large) != 1 {
			t.Errorf("%s: %d and %d statuses, want 1 on each instance", tw.id, len(small), len(large))
			continue
		}
		if s := small[0]; !strings.Contains(s.Text, phone) || mastodon.Length(s.Text, s.SpoilerText, 23) > 500 {
			t.Errorf("%s, 500-character instance: want the phone number within 500 characters:\n%s", tw.id, s.Text)
		}
		if s := large[0]; !strings.Contains(s.Text, phone) || !strings.Contains(s.Text, last) {
			t.Errorf("%s, 1 000-character instance: want the whole notice:\n%s", tw.id, s.Text)
		}
		ms := slackMessagesOf(t, f.slack, tw.id)
		if len(ms) != 1 {
			t.Errorf("%s: %d Slack messages, want 1", tw.id, len(ms))
			continue
		}
		if !strings.Contains(ms[0].Text, phone) || !strings.Contains(string(ms[0].Blocks), phone) || !strings.Contains(string(ms[0].Blocks), last) {
			t.Errorf("%s: the Slack message lacks the phone number or the end of the notice:\n%s\n%s", tw.id, ms[0].Text, ms[0].Blocks)
		}
	}
}

// longNotice is a notice too long for 500 characters, with the emergency
// number in its last paragraph.
func longNotice() *crier.Announcement {
	a := e2eNotice()
	a.Body = "Das Bürgerbüro der **{{.Town.Name}}** bleibt wegen einer IT-Störung geschlossen.\n\n" +
		strings.Repeat("Die Fachverfahren des Rechenzentrums sind nicht erreichbar. ", 8) + "\n\n" +
		"Im Notfall erreichen Sie uns unter {{.Vars.phone}}."
	return a
}

// TestSocialShortenedPreview: a notice too long for Mastodon's 500
// characters is shortened to fit, as Mastodon counts, with "Mehr:" and the
// link at its end; the API's preview says so per town in the message's
// omitted and in a note in the reader's language, crier preview says so
// under the post and in its notes, and what is published is what the
// preview showed. The 1 000-character instance and Slack get it whole.
func TestSocialShortenedPreview(t *testing.T) {
	f := newSocialFakes(t, crier.SystemClock{})
	config := socialConfig(t, f, nil)
	srv := mustServe(t, config, nil)
	waitProbed(t, srv.Client, time.Minute)
	ctx := context.Background()

	plan, err := srv.Client.Preview(ctx, longNotice())
	if err != nil || len(plan.Problems) != 0 {
		t.Fatalf("preview: %v, problems %v", err, plan.Problems)
	}
	shortened := map[string]string{} // town → the preview's post
	for _, m := range plan.Messages {
		small := m.Channel == "mastodon-"+m.Town
		switch {
		case small && (m.Omitted == nil || m.Omitted.Paragraphs != 2 || m.Omitted.Total != 3 || !strings.HasPrefix(m.Omitted.From, "Die Fachverfahren")):
			t.Errorf("%s: omitted %+v, want 2 of 3 paragraphs from \"Die Fachverfahren …\"", m.Channel, m.Omitted)
		case small:
			shortened[m.Town] = m.Text
			if n := mastodon.Length(m.Text, m.SpoilerText, 23); n > 500 || !strings.HasSuffix(m.Text, " Mehr: "+m.Link) {
				t.Errorf("%s: %d characters, want at most 500 ending with \"Mehr:\" and the link:\n%s", m.Channel, n, m.Text)
			}
		case m.Omitted != nil:
			t.Errorf("%s: omitted %+v, want the whole notice", m.Channel, m.Omitted)
		}
	}
	if len(shortened) != len(e2eTowns) {
		t.Errorf("%d shortened posts, want one per town", len(shortened))
	}
	notes := map[string]string{}
	for _, n := range plan.Notes {
		if n.Code == crier.NoteShortened {
			notes[n.Town+" "+n.Channel] = n.Message
		}
	}
	for _, tw := range e2eTowns {
		if msg := notes[tw.id+" mastodon-"+tw.id]; !strings.HasPrefix(msg, "gekürzt um ") || !strings.Contains(msg, " Zeichen (betroffene Absätze: 2 von 3), ab „") {
			t.Errorf("%s: note %q, want it to say what is left out", tw.id, msg)
		}
	}
	if len(notes) != len(e2eTowns) {
		t.Errorf("shortened notes %v, want one per town on the 500-character instance", notes)
	}
	en := previewIn(t, srv, "en", longNotice())
	if !strings.Contains(fmt.Sprint(en.Notes), "(paragraphs affected: 2 of 3), from “") {
		t.Errorf("notes in English: %+v", en.Notes)
	}

	// crier preview counts against the default of 500 everywhere: it reads
	// no stored limits from this configuration's data directory.
	notice := filepath.Join(t.TempDir(), "notice.md")
	a := longNotice()
	text := "---\ntitle: " + a.Title + "\ntowns: [soest]\n---\n" + a.Body + "\n"
	if err := os.WriteFile(notice, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, under, note string }{
		{"de", "(betroffene Absätze: 2 von 3), ab „", "  - soest × mastodon-soest: gekürzt um "},
		{"en", "(paragraphs affected: 2 of 3), from “", "  - soest × mastodon-soest: shortened by "},
	} {
		code, out, errOut := run(t, map[string]string{"CRIER_LANG": tc.lang}, "preview", "--config", config, "--channel", "mastodon-soest", notice)
		post, _, _ := strings.Cut(strings.SplitN(out, "\n\n", 2)[1], "\n\n[")
		if code != exitOK || !strings.Contains(out, "Mehr: https://krisen.kreis-soest.example/soest/") ||
			!strings.Contains(out, tc.under) || !strings.Contains(errOut, tc.note) || strings.Contains(post, "Im Notfall") {
			t.Errorf("preview in %s: exit %d, want %d, the shortened post marked %q and the note %q:\n%s\n%s",
				tc.lang, code, exitOK, tc.under, tc.note, out, errOut)
		}
	}

	// What is published is what the preview showed.
	res, err := srv.Client.Publish(ctx, longNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, res.Announcement.ID, time.Minute)
	for _, tw := range e2eTowns {
		ss := f.small.StatusesOf("tok-" + tw.id + "-small")
		want := strings.ReplaceAll(shortened[tw.id], plan.Announcement.ID, res.Announcement.ID)
		if len(ss) != 1 || ss[0].Text != want {
			t.Errorf("%s: posted %d statuses, want one with the preview's text:\n%v\nwant:\n%s", tw.id, len(ss), ss, want)
		}
		if ms := slackMessagesOf(t, f.slack, tw.id); len(ms) != 1 || !strings.Contains(ms[0].Text, "Im Notfall erreichen Sie uns unter "+tw.phone) {
			t.Errorf("%s: the Slack message lacks the emergency number: %+v", tw.id, ms)
		}
	}
}
