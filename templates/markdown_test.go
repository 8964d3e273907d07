package templates

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

func TestPlainText(t *testing.T) {
	tests := []struct {
		name, md, want string
	}{
		{"paragraphs", "Erste Zeile\nim selben Absatz.\n\nZweiter Absatz.", "Erste Zeile im selben Absatz.\n\nZweiter Absatz."},
		{"hard break", "Rathaus  \nAm Vreithof 8", "Rathaus\nAm Vreithof 8"},
		{"markup", "**fett**, *kursiv*, `code` und ~~alt~~", "fett, kursiv, code und alt"},
		{"link", "Siehe [Website der Stadt](https://www.soest.de/).", "Siehe Website der Stadt (https://www.soest.de/)."},
		{"bare url", "Infos: https://www.soest.de und www.lippstadt.de", "Infos: https://www.soest.de und www.lippstadt.de"},
		{"link to itself", "[https://www.soest.de](https://www.soest.de)", "https://www.soest.de"},
		{"mail and phone", "[Schreiben Sie uns](mailto:info@soest.de) oder [rufen Sie an](tel:+4929211030).",
			"Schreiben Sie uns (info@soest.de) oder rufen Sie an (+4929211030)."},
		{"escapes and entities", `\*kein Stern\* &amp; &lt;kein Tag&gt; &auml;`, "*kein Stern* & <kein Tag> ä"},
		{"bullets", "- eins\n- zwei\n  weiter\n- drei", "- eins\n- zwei weiter\n- drei"},
		{"numbers", "3. drei\n4. vier", "3. drei\n4. vier"},
		{"nested", "- oben\n  - unten\n- wieder oben", "- oben\n  - unten\n- wieder oben"},
		{"loose list", "- eins\n\n- zwei", "- eins\n\n- zwei"},
		{"heading", "## Was ist passiert?\n\nEin Ausfall.", "Was ist passiert?\n\nEin Ausfall."},
		{"quote", "> Zitat\n> weiter", "> Zitat weiter"},
		{"code block", "```\nzeile 1\nzeile 2\n```", "zeile 1\nzeile 2"},
		{"image", "![Karte der Sperrung](https://www.soest.de/karte.png)", "Karte der Sperrung (https://www.soest.de/karte.png)"},
		{"raw html", "Text <b>fett</b>\n\n<div>Block</div>\n\nEnde", "Text fett\n\nEnde"},
	}
	md := newMarkdown()
	for _, tt := range tests {
		_, got, err := renderMarkdown(md, []byte(tt.md))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestAllowedURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://www.soest.de/a?b=c": true,
		"http://www.soest.de":        true,
		"mailto:info@soest.de":       true,
		"tel:+4929211030":            true,
		"HTTPS://WWW.SOEST.DE":       true,
		"javascript:alert(1)":        false,
		"JavaScript:alert(1)":        false,
		"vbscript:msgbox(1)":         false,
		"data:text/html,<script>":    false,
		"file:///etc/passwd":         false,
		"/relativ":                   false,
		"#anker":                     false,
		"https:":                     false,
		"mailto:":                    false,
		"java%09script:alert(1)":     false,
		"%20javascript:alert(1)":     false,
	} {
		if got := allowedURL(u); got != want {
			t.Errorf("allowedURL(%q) = %v, want %v", u, got, want)
		}
	}
}

// xss are attacks on a renderer that puts user text into HTML.
var xss = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`[x](javascript:alert(1))`,
	`"><svg onload=alert(1)>`,
	`[y](JaVaScRiPt:alert(1))`,
	`[z](&#106;avascript:alert(1))`,
	`[w](<javascript:alert(1)>)`,
	`<javascript:alert(1)>`,
	`![i](javascript:alert(1))`,
	`[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`<a href="javascript:alert(1)">a</a>`,
	`' onmouseover='alert(1)`,
	`<iframe src="https://evil.example"></iframe>`,
}

var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)
	attrRE = regexp.MustCompile(`\s+([a-zA-Z-]+)(?:="([^"]*)")?`)
	// safeTags are the elements the built-in email template and goldmark
	// produce.
	safeTags = map[string]bool{
		"html": true, "head": true, "meta": true, "title": true, "body": true, "table": true, "tr": true, "td": true,
		"p": true, "h1": true, "h2": true, "h3": true, "strong": true, "em": true, "a": true, "br": true, "ul": true,
		"ol": true, "li": true, "blockquote": true, "code": true, "pre": true, "hr": true, "del": true, "img": true,
	}
)

// checkInert fails unless every tag of h is a known one whose attributes are
// well formed, no event handlers, and whose links are http, https, mailto,
// tel or the unsubscribe placeholder.
func checkInert(t *testing.T, what, h string) {
	t.Helper()
	for _, m := range tagRE.FindAllStringSubmatch(h, -1) {
		name, attrs := strings.ToLower(m[2]), m[3]
		if !safeTags[name] {
			t.Errorf("%s: element <%s> in the output: %s", what, name, m[0])
		}
		rest := strings.TrimSuffix(strings.TrimSpace(attrRE.ReplaceAllString(attrs, "")), "/")
		if rest != "" {
			t.Errorf("%s: malformed attributes %q in %s", what, rest, m[0])
		}
		for _, a := range attrRE.FindAllStringSubmatch(attrs, -1) {
			key, val := strings.ToLower(a[1]), a[2]
			if strings.HasPrefix(key, "on") {
				t.Errorf("%s: event handler in %s", what, m[0])
			}
			if (key == "href" || key == "src") && val != crier.UnsubscribePlaceholder && val != "" && !allowedURL(val) {
				t.Errorf("%s: link %q in %s", what, val, m[0])
			}
			if strings.Contains(strings.ToLower(val), "javascript") {
				t.Errorf("%s: javascript in %s", what, m[0])
			}
		}
	}
}

func TestXSS(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	for _, k := range []string{"phone", "office", "hours", "website", "hashtag", "email"} {
		tw.Vars[k] = strings.Join(xss, " ")
	}
	tw.Name = `Stadt <script>alert(1)</script> Soest`
	a := buergerbuero(crier.ModeExercise)
	a.Title = `Titel "><svg onload=alert(1)>`
	a.Body = strings.Join(xss, "\n\n") + "\n\n" +
		"Telefon: {{.Vars.phone}}\n\nOrt: {{.Town.Name}}\n\n[Website]({{.Vars.website}}) {{.Vars.website}}\n\n" +
		"- {{.Vars.office}}\n- {{.Title}}\n"

	m := mustRender(t, r, request(tw, a, "email", "mail-soest"))
	checkInert(t, "email HTML", m.HTML)
	for _, s := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&#34;&gt;&lt;svg onload=alert(1)&gt;"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("email HTML does not show the town's value %q as text", s)
		}
	}

	m = mustRender(t, r, request(tw, a, "webhook", "radio"))
	var p struct {
		Data struct{ HTML, Text string }
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	checkInert(t, "webhook html", p.Data.HTML)
	// The text shows the town's values literally, "[x](javascript:…)"
	// included; what it must not do is present a dropped link's target as
	// the plain-text form of a link, "x (javascript:…)".
	if m := regexp.MustCompile(`(?i)\w \((javascript|data):`).FindString(p.Data.Text); m != "" {
		t.Errorf("webhook text keeps a dangerous link target %q:\n%s", m, p.Data.Text)
	}
}

func TestVarsShowAsWritten(t *testing.T) {
	r := mustNew(t, "")
	tw := town(t, "soest")
	tw.Vars["office"] = `*Bürgerbüro* [Rathaus] <b>1. Etage</b> & _Eingang_ #2`
	tw.Vars["website"] = "https://www.soest.de/buergerbuero_oeffnungszeiten?a=1&b=2"
	tw.Vars["hours"] = "1. Mo–Fr 8–12 Uhr"
	a := kfz(crier.ModeActual)
	a.Body = "{{.Vars.office}}\n\n{{.Vars.hours}}\n\nWeb: {{.Vars.website}}"
	m := mustRender(t, r, request(tw, a, "email", "mail-soest"))
	want := "*Bürgerbüro* [Rathaus] <b>1. Etage</b> & _Eingang_ #2\n\n1. Mo–Fr 8–12 Uhr\n\nWeb: " + tw.Vars["website"]
	if !strings.Contains(m.Text, want) {
		t.Errorf("text part does not show the variables as written; want\n%s\nin\n%s", want, m.Text)
	}
	for _, s := range []string{
		"<p>*Bürgerbüro* [Rathaus] &lt;b&gt;1. Etage&lt;/b&gt; &amp; _Eingang_ #2</p>",
		"<p>1. Mo–Fr 8–12 Uhr</p>",
		`<a href="https://www.soest.de/buergerbuero_oeffnungszeiten?a=1&amp;b=2">`,
	} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML part lacks %q:\n%s", s, m.HTML)
		}
	}
}
