package mastodon_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier/channels/mastodon"
)

func TestLength(t *testing.T) {
	long := "https://krisen.kreis-soest.de/soest/announcements/k7q2m4x9p3z8w6v1?utm_source=mastodon#details"
	tests := []struct {
		name          string
		text, spoiler string
		urlChars      int
		want          int
	}{
		{"empty", "", "", 0, 0},
		{"blank", " \n ", "", 0, 0},
		{"ascii", "Rathaus geschlossen", "", 0, 19},
		{"umlauts", "Bürgerbüro", "", 0, 10},
		{"decomposed umlaut", "Bu\u0308rgerbu\u0308ro", "", 0, 10},
		{"family emoji", "👨‍👩‍👧", "", 0, 1},
		{"flag", "🇩🇪", "", 0, 1},
		{"spoiler included", "Rathaus", "IT-Ausfall", 0, 17},
		{"url", long, "", 0, 23},
		{"url in text", "Infos: " + long + " bitte teilen", "", 0, 7 + 23 + 13},
		{"url reserved per instance", long, "", 30, 30},
		{"short url", "https://x.de", "", 0, 23},
		{"http url", "http://soest.de/a", "", 0, 23},
		{"url and trailing period", "Siehe https://soest.de/info.", "", 0, 6 + 23 + 1},
		{"url in parentheses", "(https://soest.de/info)", "", 0, 1 + 23 + 1},
		{"url with balanced parentheses", "https://de.wikipedia.org/wiki/Soest_(Westfalen)", "", 0, 23},
		{"url with port", "https://soest.de:8443/x, ok", "", 0, 23 + 4},
		{"no url without host", "https:// soest", "", 0, 14},
		{"no url glued to a word", "xhttps://soest.de", "", 0, 17},
		{"two urls", "https://a.de https://b.de/x", "", 0, 47},
		{"remote mention", "@presse@social.example", "", 0, 7},
		{"remote mention in text", "Fragen an @presse@soest.social.", "", 0, 10 + 7 + 1},
		{"local mention", "@presse", "", 0, 7},
		{"not a mention", "presse@soest.de", "", 0, 15},
		{"mention inside url", "https://social.example/@soest", "", 0, 23},
		{"url is counted whatever its length", strings.Repeat("a", 10) + " https://soest.de/" + strings.Repeat("x", 400), "", 0, 11 + 23},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mastodon.Length(tt.text, tt.spoiler, tt.urlChars); got != tt.want {
				t.Errorf("Length(%q, %q, %d) = %d, want %d", tt.text, tt.spoiler, tt.urlChars, got, tt.want)
			}
		})
	}
}
