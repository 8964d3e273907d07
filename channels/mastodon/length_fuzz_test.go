package mastodon_test

import (
	"strings"
	"testing"

	"github.com/rivo/uniseg"

	"github.com/crierhq/crier/channels/mastodon"
)

// FuzzLength checks Length against what it must hold for any text: it is
// never negative; a text without links or mentions counts exactly its
// grapheme clusters (not its code points or bytes); and links and mentions
// only ever save what they are made of, so the length is at least the
// grapheme clusters of spoiler text and text less the clusters of the
// words that hold a link or a mention.
func FuzzLength(f *testing.F) {
	for _, s := range []struct {
		text, spoiler string
		urlChars      int
	}{
		{"Rathaus geschlossen", "", 0},
		{"Bu\u0308rgerbu\u0308ro 👨‍👩‍👧 🇩🇪", "IT-Ausfall", 0},
		{"Infos: https://krisen.kreis-soest.de/soest/announcements/k7q2m4x9p3z8w6v1?utm_source=mastodon#details bitte teilen", "", 0},
		{"https://de.wikipedia.org/wiki/Soest_(Westfalen)", "", 30},
		{"Fragen an @presse@soest.social.", "", 0},
		{"https://social.example/@soest @a@b.c xhttps://soest.de", "", -1},
		{"(((https://a.de/(x)))) https:// soest ＠presse", "", 0},
		{"\u0301\u0301 https://a.\u0301de", "\u200d", 1},
		{"e\u0301 \xff\xfe https://\xffa.de", "", 0},
		{"@" + strings.Repeat("a", 300) + "@" + strings.Repeat("b.", 200) + "c", "", 0},
	} {
		f.Add(s.text, s.spoiler, s.urlChars)
	}
	f.Fuzz(func(t *testing.T, text, spoiler string, urlChars int) {
		got := mastodon.Length(text, spoiler, urlChars)
		if got < 0 {
			t.Fatalf("Length(%q, %q, %d) = %d, negative", text, spoiler, urlChars, got)
		}
		if strings.TrimSpace(text) == "" {
			if want := uniseg.GraphemeClusterCount(spoiler); got != want {
				t.Fatalf("Length(%q, %q, %d) = %d, want the spoiler's %d clusters", text, spoiler, urlChars, got, want)
			}
			return
		}
		all := uniseg.GraphemeClusterCount(spoiler + text)
		if !strings.Contains(text, "://") && !strings.Contains(text, "@") {
			if got != all {
				t.Fatalf("Length(%q, %q, %d) = %d, want its %d grapheme clusters", text, spoiler, urlChars, got, all)
			}
			return
		}
		// Every link and mention lies inside one word. Removing a word
		// can join the clusters on either side of it, hence the 2.
		savings := 0
		for _, w := range strings.Fields(text) {
			if strings.Contains(w, "://") || strings.Contains(w, "@") {
				savings += uniseg.GraphemeClusterCount(w) + 2
			}
		}
		if got < all-savings {
			t.Fatalf("Length(%q, %q, %d) = %d, less than %d clusters less %d for links and mentions",
				text, spoiler, urlChars, got, all, savings)
		}
	})
}
