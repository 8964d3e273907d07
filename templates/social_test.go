package templates

import (
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/mastodon"
)

// TestSocialLength renders the built-in social post of the example notices
// for every town of Kreis Soest, and of a notice with the longest title
// allowed and an endless first paragraph, with Mastodon's default limit
// and Slack's: every post fits as the channel counts it, starts with the
// banner and the title and ends with the hashtag and the link. A post that
// fits carries the whole body; one that does not says "Mehr:" before the
// link and reports what it left out.
func TestSocialLength(t *testing.T) {
	r := mustNew(t, "")
	long := kfz(crier.ModeExercise)
	long.Title = strings.Repeat("Sehr langer Titel ", 12)[:200]
	long.Body = strings.Repeat("Ein sehr langer erster Absatz ohne Ende in Sicht ", 30)
	banners := map[crier.Mode]string{crier.ModeActual: "", crier.ModeExercise: "ÜBUNG – keine echte Meldung\n\n", crier.ModeTest: "TEST – keine echte Meldung\n\n"}
	shortened := 0
	for _, tw := range kreisSoest() {
		for _, a := range []*crier.Announcement{buergerbuero(crier.ModeExercise), kfz(crier.ModeTest), kfz(crier.ModeActual), long} {
			for _, typ := range []string{"mastodon", "slack"} {
				req := request(tw, a, typ, typ+"-"+tw.ID)
				m := mustRender(t, r, req)
				if n := req.Limit.Length(m); n > req.Limit.Max {
					t.Errorf("%s %s %q: %d characters as %s counts them, want at most %d:\n%s", tw.ID, typ, a.Title, n, typ, req.Limit.Max, m.Text)
				}
				if want := banners[a.Mode] + a.Title + "\n\n"; !strings.HasPrefix(m.Text, want) {
					t.Errorf("%s %s: the post does not start with %q:\n%s", tw.ID, typ, want, m.Text)
				}
				tail := hashtag(tw.Vars["hashtag"]) + " " + link(tw, a)
				if m.Omitted != nil {
					shortened++
					tail = hashtag(tw.Vars["hashtag"]) + " Mehr: " + link(tw, a)
				}
				if !strings.HasSuffix(m.Text, tail) {
					t.Errorf("%s %s: the post does not end with %q:\n%s", tw.ID, typ, tail, m.Text)
				}
				if m.Omitted == nil && !strings.Contains(m.Text, bodyText(t, r, tw, a)) {
					t.Errorf("%s %s: the post reports nothing left out but lacks some of the body:\n%s", tw.ID, typ, m.Text)
				}
			}
		}
	}
	if shortened == 0 {
		t.Error("no post was shortened; the long notice should be")
	}
}

// bodyText returns the announcement's body as plain text for the town,
// as the site renders it.
func bodyText(t *testing.T, r *Renderer, tw *crier.Town, a *crier.Announcement) string {
	t.Helper()
	return mustRender(t, r, request(tw, a, "site", "site")).Text
}

func TestSocialWithoutHashtag(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	delete(tw.Vars, "hashtag")
	a := kfz(crier.ModeActual)
	m := mustRender(t, r, request(tw, a, "mastodon", "mastodon-soest"))
	// The notice is too long for 500 characters: the post ends with the
	// link after "Mehr:", without a hashtag and a space before it.
	if want := "103-0 an.\n\nMehr: " + link(tw, a); !strings.HasSuffix(m.Text, want) {
		t.Errorf("post without a hashtag does not end with %q:\n%s", want, m.Text)
	}
}

// TestSocialWholeBody: the built-in post carries every paragraph of a body
// that fits the channel, the emergency phone number of the example's
// second paragraph included, and reports nothing left out.
func TestSocialWholeBody(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	a := buergerbuero(crier.ModeActual)
	a.Body = "Das Bürgerbüro bleibt geschlossen.\n\nIm Notfall erreichen Sie uns unter {{.Vars.phone}}.\n\n- Personalausweise: Notdienst\n- Pässe: später"
	for _, typ := range []string{"mastodon", "slack"} {
		m := mustRender(t, r, request(tw, a, typ, typ+"-soest"))
		for _, want := range []string{"Das Bürgerbüro bleibt geschlossen.", "Im Notfall erreichen Sie uns unter 02921 103-0.", "Pässe: später"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("%s: the post lacks %q:\n%s", typ, want, m.Text)
			}
		}
		if m.Omitted != nil {
			t.Errorf("%s: Omitted %+v, want nil", typ, *m.Omitted)
		}
	}
}

// TestSocialShortened: a body too long for Mastodon's 500 characters makes
// a post within the limit as Mastodon counts it (graphemes, every link as
// 23), with the lead, the hashtag and "Mehr:" before the link at its end,
// and Omitted says what is missing: here the paragraph with the phone
// number.
func TestSocialShortened(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	a := buergerbuero(crier.ModeActual)
	lead := "Das Bürgerbüro bleibt wegen eines IT-Ausfalls geschlossen."
	a.Body = lead + "\n\n" + strings.Repeat("Weitere Hinweise folgen hier ausführlich. ", 12) +
		"\n\nIm Notfall erreichen Sie uns unter {{.Vars.phone}}, siehe https://www.soest.de/" + strings.Repeat("notdienst/", 10)
	req := request(tw, a, "mastodon", "mastodon-soest")
	m := mustRender(t, r, req)
	if n := mastodon.Length(m.Text, m.SpoilerText, 23); n > 500 {
		t.Errorf("post of %d characters as Mastodon counts them, want at most 500:\n%s", n, m.Text)
	}
	if want := lead + "\n\n#Soest Mehr: " + link(tw, a); !strings.HasSuffix(m.Text, want) {
		t.Errorf("post does not end with %q:\n%s", want, m.Text)
	}
	o := m.Omitted
	if o == nil || o.Paragraphs != 2 || o.Total != 3 || !strings.HasPrefix(o.From, "Weitere Hinweise folgen") || o.Characters < 500 {
		t.Errorf("Omitted %+v, want 2 of 3 paragraphs from \"Weitere Hinweise folgen …\" and more than 500 characters", o)
	}

	// A content warning counts too: the post leaves room for it.
	a.SpoilerText = strings.Repeat("Achtung ", 10)
	m = mustRender(t, r, req)
	if n := mastodon.Length(m.Text, m.SpoilerText, 23); n > 500 {
		t.Errorf("post with a content warning: %d characters, want at most 500", n)
	}
}

// TestSocialShortenedFirstParagraph: when the first paragraph alone is too
// long, the post carries its beginning, cut at a word, and Omitted starts
// where the cut is.
func TestSocialShortenedFirstParagraph(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	a := buergerbuero(crier.ModeActual)
	a.Body = strings.Repeat("wort ", 200)
	req := request(tw, a, "mastodon", "mastodon-soest")
	m := mustRender(t, r, req)
	if n := req.Limit.Length(m); n > 500 || n < 450 {
		t.Errorf("post of %d characters, want between 450 and 500: the room is used, not wasted:\n%s", n, m.Text)
	}
	if o := m.Omitted; o == nil || o.Paragraphs != 1 || o.Total != 1 || !strings.HasPrefix(o.From, "wort wort") {
		t.Errorf("Omitted %+v, want the one paragraph, in part", o)
	}
}

// TestSocialOverrideOverflows: an override that ignores .Short makes a
// post over the limit; the renderer returns it as it is, for the channel's
// Check to refuse, after trying the short form. So does the built-in
// template when the rest of the post alone is over the limit.
func TestSocialOverrideOverflows(t *testing.T) {
	dir := writeFiles(t, map[string]string{"social.text.tmpl": `{{.Title}} {{.BodyText}} {{.BodyText}} {{.Link}}`})
	r := mustNew(t, dir)
	tw := town(t, "soest")
	a := buergerbuero(crier.ModeActual)
	req := request(tw, a, "mastodon", "mastodon-soest")
	m := mustRender(t, r, req)
	if n := req.Limit.Length(m); n <= 500 {
		t.Fatalf("post of %d characters; the test wants an override that overflows", n)
	}
	c, _ := mastodon.NewChecker("https://social.example", nil)
	if ps := c.Check(t.Context(), m); len(ps) != 1 || !strings.Contains(ps[0].Message, "500") {
		t.Errorf("Check: %v, want the post refused against 500", ps)
	}

	r = mustNew(t, "")
	tw.Vars["hashtag"] = strings.Repeat("SoestInformiert", 40)
	m = mustRender(t, r, req)
	if !strings.Contains(m.Text, "02921 103-0") || m.Omitted != nil {
		t.Errorf("post whose hashtag alone is over the limit: Omitted %+v, want the whole text, for Check to refuse:\n%s", m.Omitted, m.Text)
	}
	if ps := c.Check(t.Context(), m); len(ps) != 1 {
		t.Errorf("Check: %v, want the post refused", ps)
	}
}
