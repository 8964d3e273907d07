package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FuzzMarkdown renders bodies as announcements are rendered and checks
// that the HTML is inert: raw HTML is dropped, no element carries an event
// handler or a style, and every link and image points to http, https,
// mailto or tel, as a browser reads the address.
func FuzzMarkdown(f *testing.F) {
	examples, _ := filepath.Glob("../examples/*.md")
	for _, name := range examples {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(string(data))
		}
	}
	for _, s := range []string{
		`[Formular](javascript:alert(1))`,
		`![Bild](javascript:alert(1))`,
		`[x](JaVaScRiPt:alert(1)) [y](java&#x09;script:alert(1)) [z](&#106;avascript:alert(1))`,
		`[a](<javascript:alert(1)>) <javascript:alert(1)> www.example.com/<script>`,
		`[Daten](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
		`<script>alert(1)</script><img src=x onerror=alert(1)>`,
		"[ref]\n\n[ref]: javascript:alert(1)\n",
		"[x](https://soest.de \"title\" onmouseover=alert(1))",
		"```js\"><script>alert(1)</script>\ncode\n```",
		"- a\n  - b\n    > c\n\n1. eins\n99999999999. zwei",
		"~~weg~~ **fett** _kursiv_ `code` https://soest.de/a?b=(c) mailto:presse@soest.example",
		strings.Repeat(">", 500) + " tief",
		strings.Repeat("[", 1000) + "x" + strings.Repeat("](https://a.de)", 100),
	} {
		f.Add(s)
	}
	md := newMarkdown()
	f.Fuzz(func(t *testing.T, src string) {
		out, _, err := renderMarkdown(md, []byte(src))
		if err != nil {
			return
		}
		checkMarkdownHTML(t, src, out)
	})
}

func checkMarkdownHTML(t *testing.T, src, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", "<style", "<iframe", "<svg", "<math", "<object", "<embed", "<form"} {
		if strings.Contains(lower, bad) {
			t.Fatalf("markdown %q gives %q: holds %s", src, out, bad)
		}
	}
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(out), ctx)
	if err != nil {
		t.Fatalf("markdown %q gives %q, which does not parse: %v", src, out, err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch key := strings.ToLower(a.Key); {
				case strings.HasPrefix(key, "on"), key == "style", key == "srcdoc", key == "formaction":
					t.Fatalf("markdown %q gives %q: <%s> has attribute %s", src, out, n.Data, a.Key)
				case key == "href" || key == "src":
					if !linkTarget(a.Val) {
						t.Fatalf("markdown %q gives %q: <%s> points to %q", src, out, n.Data, a.Val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
}

// linkTarget reports whether an address, as a browser reads it (without
// tabs and line breaks, leading spaces and control characters), is http,
// https, mailto or tel.
func linkTarget(v string) bool {
	v = strings.TrimLeftFunc(v, func(r rune) bool { return r <= ' ' })
	v = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(strings.ToLower(v))
	for _, scheme := range []string{"http://", "https://", "mailto:", "tel:"} {
		if strings.HasPrefix(v, scheme) {
			return true
		}
	}
	return false
}
