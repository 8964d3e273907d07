package templates

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crierhq/crier"
)

// writeFiles creates files (path → content) under a new directory.
func writeFiles(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// problems returns the Details of an EINVALID *crier.Error, failing the
// test for any other error.
func problems(tb testing.TB, err error) []crier.Problem {
	tb.Helper()
	var e *crier.Error
	if !errors.As(err, &e) || e.Code != crier.EINVALID {
		tb.Fatalf("error = %v, want an EINVALID *crier.Error", err)
	}
	return e.Details
}

func TestMessageFields(t *testing.T) {
	r := mustNew(t, "")
	soest := town(t, "soest")
	a := kfz(crier.ModeExercise)
	want := map[string]*crier.Message{
		"email":    {Type: "email", Channel: "mail-soest", PerSubscriber: true},
		"webhook":  {Type: "webhook", Channel: "radio"},
		"mastodon": {Type: "mastodon", Channel: "mastodon-soest"},
		"slack":    {Type: "slack", Channel: "krisenstab"},
	}
	for typ, w := range want {
		w.Announcement, w.Revision, w.Town = "p8d4wx6n", 1, "soest"
		w.Event, w.Mode, w.Language = crier.EventPublished, crier.ModeExercise, "de"
		w.Link, w.Expires = link(soest, a), a.Expires
		m := mustRender(t, r, request(soest, a, typ, w.Channel))
		// Omitted depends on the length of the text; the social tests check it.
		ignore := cmpopts.IgnoreFields(crier.Message{}, "Subject", "Text", "HTML", "Payload", "Omitted")
		if diff := cmp.Diff(w, m, ignore); diff != "" {
			t.Errorf("%s message (-want +got):\n%s", typ, diff)
		}
		parts := map[string]bool{"subject": m.Subject != "", "text": m.Text != "", "html": m.HTML != "", "payload": m.Payload != nil}
		wantParts := map[string]bool{
			"subject": typ != "webhook", "text": typ != "webhook", "html": typ == "email", "payload": typ == "webhook",
		}
		if diff := cmp.Diff(wantParts, parts); diff != "" {
			t.Errorf("%s: parts set (-want +got):\n%s", typ, diff)
		}
	}
}

func TestUnsubscribePlaceholder(t *testing.T) {
	r := mustNew(t, "")
	for _, c := range goldenCases {
		m := mustRender(t, r, request(town(t, c.town), c.ann(c.mode), "email", "mail"))
		if !strings.Contains(m.Text, crier.UnsubscribePlaceholder) {
			t.Errorf("%s: text part lacks the unsubscribe placeholder", c.name)
		}
		if !strings.Contains(m.HTML, `href="`+crier.UnsubscribePlaceholder+`"`) {
			t.Errorf("%s: HTML part lacks a link to the unsubscribe placeholder", c.name)
		}
	}
}

func TestOverridePrecedence(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"social.text.tmpl":                               "dir",
		"channel/krisenstab/social.text.tmpl":            "channel",
		"soest/social.text.tmpl":                         "town",
		"soest/channel/krisenstab/social.text.tmpl":      "town+channel",
		"lippstadt/email.subject.tmpl":                   "Lippstadt: {{.Title}}",
		"channel/mastodon-werl/social.text.tmpl":         "werl mastodon",
		"README.md":                                      "not a template",
		".git/social.text.tmpl":                          "{{ hidden, never parsed",
		"soest/channel/krisenstab/.social.text.tmpl.swp": "editor junk",
	})
	r := mustNew(t, dir)
	tests := []struct {
		town, typ, channel, want string
	}{
		{"soest", "slack", "krisenstab", "town+channel"},
		{"soest", "mastodon", "mastodon-soest", "town"},
		{"lippstadt", "slack", "krisenstab", "channel"},
		{"lippstadt", "mastodon", "mastodon-lippstadt", "dir"},
		{"werl", "mastodon", "mastodon-werl", "werl mastodon"},
		{"werl", "slack", "krisenstab", "channel"},
	}
	a := buergerbuero(crier.ModeActual)
	for _, tt := range tests {
		m := mustRender(t, r, request(town(t, tt.town), a, tt.typ, tt.channel))
		if m.Text != tt.want {
			t.Errorf("%s/%s: text = %q, want %q", tt.town, tt.channel, m.Text, tt.want)
		}
	}
	// Parts without an override keep the built-in template.
	m := mustRender(t, r, request(town(t, "lippstadt"), a, "email", "mail-lippstadt"))
	if want := "Lippstadt: " + a.Title; m.Subject != want {
		t.Errorf("overridden subject = %q, want %q", m.Subject, want)
	}
	if !strings.Contains(m.HTML, "<!DOCTYPE html>") {
		t.Error("HTML part without override is not the built-in one")
	}
	m = mustRender(t, r, request(town(t, "soest"), a, "email", "mail-soest"))
	if m.Subject != a.Title {
		t.Errorf("subject of another town = %q, want the built-in %q", m.Subject, a.Title)
	}
}

func TestBrokenOverrides(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"soest/email.text.tmpl":               "Hallo\n\n{{.Title\n",
		"channel/radio/webhook.payload.tmpl":  "{\"a\": {{json .Title}}}\n{{end}}\n",
		"email.html.tmpl":                     "<p>ok</p>\n<a href=\"{{.Link}}>x</a>\n",
		"lippstadt/email.body.tmpl":           "unknown part",
		"soest/extra/email.text.tmpl":         "misplaced",
		"channel/email.text.tmpl":             "misplaced",
		"soest/channel/mail/social.text.tmpl": "{{nosuchfunc .Title}}",
		"channel/krisenstab/social.text.tmpl": "fine {{.Title}}",
	})
	_, err := New(Options{Dir: dir})
	got := problems(t, err)
	// html/template cannot tell the line of an attribute left open, and the
	// rest of its message is its internal state.
	for i, p := range got {
		if prefix, _, ok := strings.Cut(p.Message, ": ends in a non-text context"); ok {
			got[i].Message = prefix
			got[i].Args[len(got[i].Args)-1], _, _ = strings.Cut(got[i].Args[len(got[i].Args)-1], ": ends in a non-text context")
		}
	}
	want := []crier.Problem{
		{Field: "template channel/email.text.tmpl", Code: "template.misplaced", Message: "misplaced; templates go in the directory itself, in <town>/, in channel/<channel>/ or in <town>/channel/<channel>/"},
		{Field: "template channel/radio/webhook.payload.tmpl", Code: "template.error_line", Args: []string{"2", `unexpected {{end}}`}, Message: `template error in line 2: unexpected {{end}}`},
		{Field: "template email.html.tmpl", Code: "template.error", Args: []string{"an HTML tag, attribute or comment is left open"}, Message: "template error: an HTML tag, attribute or comment is left open"},
		{Field: "template lippstadt/email.body.tmpl", Code: "template.unknown_name",
			Args: []string{"email.body.tmpl", "email.subject.tmpl, email.html.tmpl, email.text.tmpl, social.text.tmpl, webhook.payload.tmpl"}, Message: `unknown template "email.body.tmpl"; the names are email.subject.tmpl, email.html.tmpl, email.text.tmpl, social.text.tmpl, webhook.payload.tmpl`},
		{Field: "template soest/channel/mail/social.text.tmpl", Code: "template.error_line", Args: []string{"1", `function "nosuchfunc" not defined`}, Message: `template error in line 1: function "nosuchfunc" not defined`},
		{Field: "template soest/email.text.tmpl", Code: "template.error_line", Args: []string{"4", "unclosed action started at line 3"}, Message: "template error in line 4: unclosed action started at line 3"},
		{Field: "template soest/extra/email.text.tmpl", Code: "template.misplaced", Message: "misplaced; templates go in the directory itself, in <town>/, in channel/<channel>/ or in <town>/channel/<channel>/"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory", err)
	}
}

func TestDir(t *testing.T) {
	if _, err := New(Options{}); err != nil {
		t.Errorf("New without Dir: %v", err)
	}
	if _, err := New(Options{Dir: t.TempDir()}); err != nil {
		t.Errorf("New with an empty Dir: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "vorlagen")
	_, err := New(Options{Dir: missing})
	if crier.ErrorCode(err) != crier.EINVALID || !strings.Contains(err.Error(), missing) {
		t.Errorf("New with a missing Dir: error %v, want EINVALID naming the directory", err)
	}
	file := filepath.Join(writeFiles(t, map[string]string{"f": ""}), "f")
	if _, err := New(Options{Dir: file}); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("New with a file as Dir: error %v, want EINVALID", err)
	}
}

func TestMissingVariable(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"soest/email.text.tmpl": "{{.Title}}\n\nFax: {{.Vars.fax}}\n",
	})
	r := mustNew(t, dir)
	soest := town(t, "soest")

	// In an override: the problem names the file and the line.
	_, err := r.Render(request(soest, buergerbuero(crier.ModeActual), "email", "mail-soest"))
	want := []crier.Problem{{
		Town: "soest", Channel: "mail-soest", Field: "template soest/email.text.tmpl",
		Code: "template.missing_var_line", Args: []string{"3", "fax", "{{.Vars.fax}}", "fax"},
		Message: `line 3: the town has no variable "fax" ({{.Vars.fax}}); set it in the town's vars, ` +
			`or write {{with index .Vars "fax"}}…{{end}} where it is optional`,
	}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	for _, s := range []string{"town soest", "channel mail-soest", "soest/email.text.tmpl", "line 3", `"fax"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error text does not contain %q:\n%s", s, err)
		}
	}

	// In the body: the problem names the body and its line.
	a := buergerbuero(crier.ModeActual)
	a.Body = "Wir sind erreichbar.\n\n" + "Telefon: {{.Vars.phone}}, Fax: {{.Vars.fax}}\n"
	_, err = r.Render(request(soest, a, "mastodon", "mastodon-soest"))
	want = []crier.Problem{{
		Town: "soest", Channel: "mastodon-soest", Field: "body",
		Code: "template.missing_var_line", Args: []string{"3", "fax", "{{.Vars.fax}}", "fax"},
		Message: `line 3: the town has no variable "fax" ({{.Vars.fax}}); set it in the town's vars, ` +
			`or write {{with index .Vars "fax"}}…{{end}} where it is optional`,
	}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}

	// Optional variables do not fail.
	a.Body = `Telefon: {{.Vars.phone}}{{with index .Vars "fax"}}, Fax: {{.}}{{end}}`
	m := mustRender(t, r, request(soest, a, "slack", "krisenstab"))
	if !strings.Contains(m.Text, "Telefon: 02921 103-0") || strings.Contains(m.Text, "Fax") {
		t.Errorf("optional variable: text = %q", m.Text)
	}
}

func TestBodyParseError(t *testing.T) {
	r := mustNew(t, "")
	a := buergerbuero(crier.ModeActual)
	a.Body = "Erste Zeile\n{{if .Vars.phone}}\nkein Ende\n"
	_, err := r.Render(request(town(t, "soest"), a, "email", "mail-soest"))
	got := problems(t, err)
	if len(got) != 1 || got[0].Field != "body" || !strings.HasPrefix(got[0].Message, "template error in line 4: ") {
		t.Errorf("problems = %v, want one for the body at line 4", got)
	}
}

func TestSubjectSingleLine(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"email.subject.tmpl":      "{{.Title}}\n{{.Town.Name}}\n",
		"werl/email.subject.tmpl": "{{if false}}x{{end}}\n",
	})
	r := mustNew(t, dir)
	_, err := r.Render(request(town(t, "soest"), kfz(crier.ModeActual), "email", "mail-soest"))
	want := []crier.Problem{{
		Town: "soest", Channel: "mail-soest", Field: "template email.subject.tmpl", Code: "template.subject_line",
		Args:    []string{"Kfz-Zulassungsstelle: Termine entfallen\nStadt Soest"},
		Message: `the subject must be a single line without control characters, got "Kfz-Zulassungsstelle: Termine entfallen\nStadt Soest"`,
	}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	_, err = r.Render(request(town(t, "werl"), kfz(crier.ModeActual), "email", "mail-werl"))
	want = []crier.Problem{{Town: "werl", Channel: "mail-werl", Field: "template werl/email.subject.tmpl", Code: "template.subject_empty",
		Message: "the subject is empty"}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestSubjectModes(t *testing.T) {
	r := mustNew(t, "")
	tests := []struct {
		mode crier.Mode
		lang string
		want string
	}{
		{crier.ModeActual, "de", "Kfz-Zulassungsstelle: Termine entfallen"},
		{crier.ModeExercise, "de", "[ÜBUNG] Kfz-Zulassungsstelle: Termine entfallen"},
		{crier.ModeTest, "de", "[TEST] Kfz-Zulassungsstelle: Termine entfallen"},
		{crier.ModeExercise, "en", "[EXERCISE] Kfz-Zulassungsstelle: Termine entfallen"},
	}
	for _, tt := range tests {
		tw := town(t, "soest")
		tw.Language = tt.lang
		m := mustRender(t, r, request(tw, kfz(tt.mode), "email", "mail-soest"))
		if m.Subject != tt.want {
			t.Errorf("%s/%s: subject = %q, want %q", tt.mode, tt.lang, m.Subject, tt.want)
		}
	}
}

func TestEnglishTown(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	tw.Language = "en-GB"
	m := mustRender(t, r, request(tw, kfz(crier.ModeExercise), "email", "mail-soest"))
	if m.Language != "en" {
		t.Errorf("Language = %q, want en", m.Language)
	}
	for _, s := range []string{`<html lang="en">`, "EXERCISE – not a real notice", "Valid until:</strong> Thursday, 31 December 2026, 18:00",
		"More information", "Phone:", "You receive this email because you subscribed to notices from Stadt Soest.", ">Unsubscribe</a>"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("English HTML lacks %q", s)
		}
	}
}

func TestTimeZone(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	tw.TimeZone = "America/New_York"
	m := mustRender(t, r, request(tw, kfz(crier.ModeActual), "email", "mail-soest"))
	if want := "Donnerstag, 31. Dezember 2026, 12:00 Uhr"; !strings.Contains(m.Text, want) {
		t.Errorf("text lacks the expiry in the town's zone %q:\n%s", want, m.Text)
	}
	tw.TimeZone = "Europe/Nirgendwo"
	_, err := r.Render(request(tw, kfz(crier.ModeActual), "email", "mail-soest"))
	want := []crier.Problem{{Town: "soest", Channel: "mail-soest", Field: "time_zone",
		Code: "schedule.unknown_zone", Args: []string{"Europe/Nirgendwo"}, Message: `unknown time zone "Europe/Nirgendwo"`}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestUnknownType(t *testing.T) {
	r := mustNew(t, "")
	_, err := r.Render(request(town(t, "soest"), kfz(crier.ModeActual), "telegram", "tg-soest"))
	want := []crier.Problem{{
		Town: "soest", Channel: "tg-soest", Field: "type", Code: "template.unknown_type",
		Args:    []string{"telegram", "email, mastodon, site, slack, webhook"},
		Message: `unknown channel type "telegram"; crier renders email, mastodon, site, slack, webhook`,
	}}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if _, err := r.Render(&crier.RenderRequest{Type: "email"}); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("empty request: error %v, want EINVALID", err)
	}
}

func TestWebhookTimestamp(t *testing.T) {
	r := mustNew(t, "") // its clock says created + 1h
	a := kfz(crier.ModeActual)
	a.CreatedAt = time.Time{}
	m := mustRender(t, r, request(town(t, "soest"), a, "webhook", "radio"))
	var p struct {
		Timestamp string `json:"timestamp"`
		Data      struct {
			Expires *string `json:"expires"`
		} `json:"data"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if want := "2026-11-26T08:30:00Z"; p.Timestamp != want {
		t.Errorf("timestamp without CreatedAt = %q, want the clock's %q", p.Timestamp, want)
	}
	a = buergerbuero(crier.ModeActual)
	m = mustRender(t, r, request(town(t, "soest"), a, "webhook", "radio"))
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.Data.Expires != nil {
		t.Errorf("expires = %q for an announcement that does not expire, want null", *p.Data.Expires)
	}
}

func TestWebhookOverride(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"webhook.payload.tmpl": `{
  "event": {{json .Event}},
  "ort": {{json .Town.Name}},
  "titel": {{json .Title}},
  "text": {{json .BodyText}}
}`,
		"channel/kaputt/webhook.payload.tmpl": `{"titel": "{{.Title}}", "ort": {{.Town.Name}}}`,
	})
	r := mustNew(t, dir)
	a := kfz(crier.ModeActual)
	a.Title = `Kfz-Zulassung: "Termine" entfallen`
	m := mustRender(t, r, request(town(t, "soest"), a, "webhook", "radio"))
	var got map[string]string
	if err := json.Unmarshal(m.Payload, &got); err != nil {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
	if got["event"] != crier.EventPublished || got["ort"] != "Stadt Soest" || got["titel"] != a.Title ||
		!strings.HasPrefix(got["text"], "Die Kfz-Zulassungsstelle") {
		t.Errorf("payload = %v", got)
	}
	if strings.Contains(string(m.Payload), "\n  ") {
		t.Errorf("payload is not compact: %s", m.Payload)
	}
	_, err := r.Render(request(town(t, "soest"), a, "webhook", "kaputt"))
	p := problems(t, err)
	if len(p) != 1 || p[0].Field != "template channel/kaputt/webhook.payload.tmpl" ||
		!strings.HasPrefix(p[0].Message, "the output is not valid JSON: ") {
		t.Errorf("problems = %v, want one saying the output is not JSON", p)
	}
}

// TestConcurrentRender renders from many goroutines, for the race detector.
func TestConcurrentRender(t *testing.T) {
	r := mustNew(t, writeFiles(t, map[string]string{"soest/email.html.tmpl": "<p>{{.Title}} {{t \"notice.more_info\"}}</p>"}))
	var wg sync.WaitGroup
	for _, tw := range kreisSoest() {
		for _, ch := range channels {
			wg.Go(func() {
				for _, a := range []*crier.Announcement{buergerbuero(crier.ModeExercise), kfz(crier.ModeActual)} {
					if _, err := r.Render(request(tw, a, ch.typ, ch.id)); err != nil {
						t.Errorf("%s/%s: %v", tw.ID, ch.typ, err)
					}
				}
			})
		}
	}
	wg.Wait()
}

func BenchmarkRender(b *testing.B) {
	r := mustNew(b, "")
	soest := town(b, "soest")
	a := buergerbuero(crier.ModeExercise)
	for _, ch := range channels {
		b.Run(ch.typ, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Render(request(soest, a, ch.typ, ch.id)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
