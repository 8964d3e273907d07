package templates

import (
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

var urlRE = regexp.MustCompile(`https?://\S+`)

// mastodonLength approximates how Mastodon counts a post: every URL as 23
// characters, everything else in graphemes. It counts code points instead
// of graphemes, which is never less (an e followed by a combining accent is
// two code points and one grapheme), so a post that fits here fits there.
func mastodonLength(s string) int {
	return runes(urlRE.ReplaceAllString(s, strings.Repeat("x", 23)))
}

// TestSocialLength checks the built-in social post of the example notices
// for every town of Kreis Soest, and of a notice with the longest title
// allowed and an endless first paragraph, against Mastodon's default limit.
func TestSocialLength(t *testing.T) {
	const limit = 500
	r := mustNew(t, "")
	long := kfz(crier.ModeExercise)
	long.Title = strings.Repeat("Sehr langer Titel ", 12)[:200]
	long.Body = strings.Repeat("Ein sehr langer erster Absatz ohne Ende in Sicht ", 30)
	banners := map[crier.Mode]string{crier.ModeActual: "", crier.ModeExercise: "ÜBUNG – keine echte Meldung\n\n", crier.ModeTest: "TEST – keine echte Meldung\n\n"}
	for _, tw := range kreisSoest() {
		for _, a := range []*crier.Announcement{buergerbuero(crier.ModeExercise), kfz(crier.ModeTest), kfz(crier.ModeActual), long} {
			for _, typ := range []string{"mastodon", "slack"} {
				m := mustRender(t, r, request(tw, a, typ, typ+"-"+tw.ID))
				if n := mastodonLength(m.Text); n >= limit {
					t.Errorf("%s %s %q: %d characters, want < %d:\n%s", tw.ID, typ, a.Title, n, limit, m.Text)
				}
				if want := banners[a.Mode] + a.Title + "\n\n"; !strings.HasPrefix(m.Text, want) {
					t.Errorf("%s %s: the post does not start with %q:\n%s", tw.ID, typ, want, m.Text)
				}
				if want := hashtag(tw.Vars["hashtag"]) + " " + link(tw, a); !strings.HasSuffix(m.Text, want) {
					t.Errorf("%s %s: the post does not end with %q:\n%s", tw.ID, typ, want, m.Text)
				}
			}
		}
	}
}

func TestSocialWithoutHashtag(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	delete(tw.Vars, "hashtag")
	a := kfz(crier.ModeActual)
	m := mustRender(t, r, request(tw, a, "mastodon", "mastodon-soest"))
	if want := "entfallen; Sie müssen nichts absagen.\n\n" + link(tw, a); !strings.HasSuffix(m.Text, want) {
		t.Errorf("post without a hashtag does not end with %q:\n%s", want, m.Text)
	}
}
