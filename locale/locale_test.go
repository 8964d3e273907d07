package locale

import (
	"regexp"
	"slices"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/google/go-cmp/cmp"
)

func TestCatalogComplete(t *testing.T) {
	seen := make(map[string]bool)
	for _, e := range entries {
		if seen[e.key] {
			t.Errorf("key %q appears twice", e.key)
		}
		seen[e.key] = true
		for i, text := range []string{e.de, e.en} {
			if text == "" {
				t.Errorf("key %q has no %s text", e.key, languages[i])
			}
		}
		if diff := cmp.Diff(verbs(e.de), verbs(e.en)); diff != "" {
			t.Errorf("key %q: de and en use different fmt verbs (-de +en):\n%s", e.key, diff)
		}
	}
}

var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// verbs returns the fmt verbs of s, sorted, so that a translation may
// reorder them with explicit indexes.
func verbs(s string) []string {
	v := verbRE.FindAllString(s, -1)
	slices.Sort(v)
	return v
}

func TestT(t *testing.T) {
	tests := []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"de", "notice.more_info", nil, "Mehr Informationen"},
		{"en", "notice.more_info", nil, "More information"},
		{"en-GB", "notice.valid_until", nil, "Valid until"},
		{"en_US.UTF-8", "mode.exercise.banner", nil, "EXERCISE – not a real notice"},
		{"fr", "notice.more_info", nil, "Mehr Informationen"},
		{"", "mode.exercise.tag", nil, "ÜBUNG"},
		{"de", "no.such.key", nil, "no.such.key"},
		{"de", "mail.subscribed", []any{"Stadt Soest"},
			"Sie erhalten diese E-Mail, weil Sie die Benachrichtigungen von Stadt Soest abonniert haben."},
		{"en", "cli.failed", []any{3}, "3 failed"},
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", tt.lang, tt.key, tt.args, got, tt.want)
		}
	}
}

func TestN(t *testing.T) {
	tests := []struct {
		lang string
		n    int
		want string
	}{
		{"de", 0, "0 Zustellungen"},
		{"de", 1, "1 Zustellung"},
		{"de", 14, "14 Zustellungen"},
		{"en", 1, "1 delivery"},
		{"en", 2, "2 deliveries"},
	}
	for _, tt := range tests {
		if got := N(tt.lang, "cli.deliveries", tt.n); got != tt.want {
			t.Errorf("N(%q, cli.deliveries, %d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
	if got, want := N("de", "cli.failed", 1), "1 fehlgeschlagen"; got != want {
		t.Errorf("N without a .one form = %q, want %q", got, want)
	}
}

func TestLanguages(t *testing.T) {
	if diff := cmp.Diff([]string{"de", "en"}, Languages()); diff != "" {
		t.Errorf("Languages() (-want +got):\n%s", diff)
	}
	Languages()[0] = "xx"
	if Languages()[0] != "de" {
		t.Error("Languages() returns the package's own slice")
	}
	for _, l := range Languages() {
		if Match(l) != l {
			t.Errorf("Match(%q) = %q", l, Match(l))
		}
	}
}

func TestKeys(t *testing.T) {
	keys := Keys()
	if len(keys) != len(entries) {
		t.Fatalf("Keys() has %d keys, the catalogue %d", len(keys), len(entries))
	}
	for _, k := range keys {
		if !Has(k) {
			t.Errorf("Has(%q) = false for a listed key", k)
		}
	}
	if Has("no.such.key") {
		t.Error("Has reports an unknown key")
	}
}

func TestDate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 31, 17, 0, 0, 0, time.UTC).In(berlin)
	tests := []struct {
		lang, date, dateTime string
	}{
		{"de", "Donnerstag, 31. Dezember 2026", "Donnerstag, 31. Dezember 2026, 18:00 Uhr"},
		{"en", "Thursday, 31 December 2026", "Thursday, 31 December 2026, 18:00"},
	}
	for _, tt := range tests {
		if got := Date(tt.lang, at); got != tt.date {
			t.Errorf("Date(%q) = %q, want %q", tt.lang, got, tt.date)
		}
		if got := DateTime(tt.lang, at); got != tt.dateTime {
			t.Errorf("DateTime(%q) = %q, want %q", tt.lang, got, tt.dateTime)
		}
	}
}

func TestNote(t *testing.T) {
	args := []string{"social.example", "500"}
	for _, tt := range []struct{ lang, want string }{
		{"de", "Zeichenlimit von social.example unbekannt; geprüft gegen Mastodons Standard von 500 Zeichen"},
		{"en", "Character limit of social.example unknown; checked against Mastodon's default of 500 characters"},
	} {
		if got, ok := Note(tt.lang, "mastodon.limit_unknown", args); !ok || got != tt.want {
			t.Errorf("Note(%q) = %q, %v; want %q", tt.lang, got, ok, tt.want)
		}
	}
	if got, ok := Note("de", "no.such.note", args); ok {
		t.Errorf("Note of an unknown code = %q, true; want false", got)
	}
}

// TestAccept: the first supported language of Accept-Language, in the
// header's order; German when none is.
func TestAccept(t *testing.T) {
	for header, want := range map[string]string{
		"":                        "de",
		"en-GB,en;q=0.8,de;q=0.5": "en",
		"fr-FR, en;q=0.5":         "en",
		"de-AT":                   "de",
		"fr, it":                  "de",
		"*":                       "de",
		" EN ; q=1":               "en",
		"english, en-US":          "en",
	} {
		if got := Accept(header); got != want {
			t.Errorf("Accept(%q) = %q, want %q", header, got, want)
		}
	}
}
