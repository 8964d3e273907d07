package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzNotice reads announcement files, Markdown with YAML front matter,
// as crier publish and preview do. Reading never panics; what is read has
// a trimmed title and a body that ends in one line break; and a file that
// is read once reads the same after its line breaks become CRLF and a
// byte order mark is put in front, as an editor on Windows saves it.
func FuzzNotice(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/*.md")
	for _, name := range examples {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"---\ntitle: x\n---",
		"---\ntitle: x\n---\n",
		"---\n---\n",
		"---\ntitle: [1, 2]\n---\nbody",
		"---\ntowns: all\nchannels: [a, b]\nexpires: 2026-11-30 18:00\npublish_at: 2026-11-30T18:00:00+01:00\n---\nText\n",
		"---\nexpires: 2026-13-45\n---\n",
		"---\npublish_at: 31.12.2026\n---\n",
		"---\ntitle: a\ntitle: b\n---\n",
		"---\nunknown: 1\n---\n",
		"---\ntowns: {a: b}\n---\n",
		"---\na: &a [*a]\n---\n",
		"---\ntitle: |\n  zwei\n  Zeilen\n---\n---\n---\n",
		"\ufeff---\r\ntitle: Windows\r\n---\r\nText\r\n",
		"title: no front matter\n",
	} {
		f.Add([]byte(s))
	}
	loc := mustLoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, at, err := parseNoticeAt(data, loc, now)
		if err != nil {
			return
		}
		if a.Title != strings.TrimSpace(a.Title) {
			t.Fatalf("%q: title %q is not trimmed", data, a.Title)
		}
		if !strings.HasSuffix(a.Body, "\n") || strings.HasSuffix(a.Body, "\n\n") && strings.TrimSpace(a.Body) != "" {
			t.Fatalf("%q: body %q does not end in one line break", data, a.Body)
		}
		if strings.Contains(string(data), "\r") {
			return
		}
		crlf := "\ufeff" + strings.ReplaceAll(strings.TrimPrefix(string(data), "\ufeff"), "\n", "\r\n")
		b, atb, err := parseNoticeAt([]byte(crlf), loc, now)
		if err != nil {
			t.Fatalf("%q reads, but not with CRLF line breaks: %v", data, err)
		}
		if b.Title != a.Title || b.Body != a.Body || !b.Expires.Equal(a.Expires) || !atb.Equal(at) {
			t.Fatalf("%q reads differently with CRLF line breaks: %q, %q", data, b.Title, b.Body)
		}
	})
}

// FuzzParseTime reads the times of front matter. A time that is read
// reads again, as the same instant, from its RFC 3339 form in UTC, as
// the store keeps it.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-30 18:00", "2026-11-30T18:00", "2026-11-30", "2026-11-30T18:00:00+01:00",
		"2026-11-30T18:00:00Z", "2026-03-29 02:30", "2026-10-25 02:30", "0000-01-01", "9999-12-31T23:59:59+23:59",
		"2026-11-30T18:00:00.999999999-00:00", "2026-02-30", "2026-11-30 24:00", " 2026-11-30",
		"+2h", "+3d", "+1d12h", "+0s", "+-1h", "+99999d", "morgen 07:30", "today 24:00", "heute 7:5",
	} {
		f.Add(s)
	}
	loc := mustLoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTime(s, loc, now)
		if err != nil {
			if !strings.Contains(err.Error(), "is not a time") {
				t.Fatalf("parseTime(%q): %v", s, err)
			}
			return
		}
		if y := tm.UTC().Year(); y < 1 || y > 9999 {
			return // RFC 3339 has four digits for the year
		}
		again, err := parseTime(tm.UTC().Format(time.RFC3339Nano), loc, now)
		if err != nil || !again.Equal(tm) {
			t.Fatalf("parseTime(%q) = %s, which reads back as %s, %v", s, tm, again, err)
		}
	})
}
