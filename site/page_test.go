package site

import (
	"bytes"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/crierhq/crier"
)

// pageElements are the elements a page may contain at all.
var pageElements = map[atom.Atom]bool{
	atom.Html: true, atom.Head: true, atom.Meta: true, atom.Title: true, atom.Link: true, atom.Style: true,
	atom.Body: true, atom.Header: true, atom.Main: true, atom.Footer: true, atom.Nav: true, atom.Article: true,
	atom.A: true, atom.Span: true, atom.Time: true, atom.Dl: true, atom.Dt: true, atom.Dd: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
}

func init() {
	for a := range textTags {
		pageElements[a] = true
	}
}

// checkPage fails unless b is a page as the site promises them: only
// known elements, no scripts, event handlers or javascript: anywhere, the
// one stylesheet, nothing loaded from elsewhere (no src at all), a lang,
// a viewport, a skip link to the main content, exactly one h1 and no
// skipped heading levels, unique ids, links with text, and under 50 KB.
func checkPage(t *testing.T, name string, b []byte) {
	t.Helper()
	if len(b) > maxPage {
		t.Errorf("%s: %d bytes, more than %d", name, len(b), maxPage)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var (
		h1s, styles, lastLevel int
		ids                    = map[string]bool{}
		skip, viewport, lang   string
		problems               []string
	)
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if !pageElements[n.DataAtom] {
				add("element <%s>", n.Data)
			}
			for _, a := range n.Attr {
				key, val := strings.ToLower(a.Key), strings.ToLower(a.Val)
				switch {
				case strings.HasPrefix(key, "on"):
					add("event handler %s=%q on <%s>", a.Key, a.Val, n.Data)
				case key == "src" || key == "srcset" || key == "style" || key == "formaction" || key == "action":
					add("attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
				case strings.Contains(val, "javascript:") || strings.Contains(val, "data:") || strings.Contains(val, "vbscript:"):
					add("script-like value %s=%q on <%s>", a.Key, a.Val, n.Data)
				case key == "href" && !safeHref(a.Val):
					add("link %q on <%s>", a.Val, n.Data)
				case key == "id":
					if ids[a.Val] {
						add("id %q twice", a.Val)
					}
					ids[a.Val] = true
				}
			}
			switch n.DataAtom {
			case atom.Html:
				lang = attr(n, "lang")
			case atom.Meta:
				if attr(n, "name") == "viewport" {
					viewport = attr(n, "content")
				}
				if attr(n, "http-equiv") != "" && attr(n, "content") != metaContentSecurityPolicy {
					add("<meta http-equiv=%q content=%q>", attr(n, "http-equiv"), attr(n, "content"))
				}
			case atom.Link:
				if rel := attr(n, "rel"); rel != "alternate" {
					add("<link rel=%q>", rel)
				}
			case atom.Style:
				styles++
				// exactly the text the Content-Security-Policy's hash allows
				if n.FirstChild == nil || n.FirstChild.Data != stylesheet || n.FirstChild != n.LastChild {
					add("a <style> that is not the site's stylesheet")
				}
			case atom.A:
				if skip == "" {
					skip = attr(n, "href")
				}
				if strings.TrimSpace(textOf(n)) == "" {
					add("link %q without text", attr(n, "href"))
				}
			case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
				level := int(n.Data[1] - '0')
				if level == 1 {
					h1s++
				}
				if level > lastLevel+1 {
					add("<%s> %q after <h%d>", n.Data, textOf(n), lastLevel)
				}
				lastLevel = level
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if lang == "" {
		add("no lang on <html>")
	}
	if !strings.Contains(viewport, "width=device-width") {
		add("no viewport for small screens")
	}
	if styles != 1 {
		add("%d stylesheets", styles)
	}
	if h1s != 1 {
		add("%d h1 headings", h1s)
	}
	if !strings.HasPrefix(skip, "#") || !ids[strings.TrimPrefix(skip, "#")] {
		add("the first link %q is not a skip link to an element of the page", skip)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", name, p)
	}
}

// checkFragment fails unless HTML meant for a feed reader keeps to the
// body's text elements and safe links.
func checkFragment(t *testing.T, name, h string) {
	t.Helper()
	nodes, err := html.ParseFragment(strings.NewReader(h), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			ok := textTags[n.DataAtom] || n.DataAtom == atom.A ||
				n.DataAtom == atom.H4 || n.DataAtom == atom.H5 || n.DataAtom == atom.H6
			if !ok {
				t.Errorf("%s: element <%s> in %s", name, n.Data, h)
			}
			for _, a := range n.Attr {
				if a.Key != "href" && a.Key != "rel" && !(a.Key == "start" && n.DataAtom == atom.Ol) {
					t.Errorf("%s: attribute %s=%q in %s", name, a.Key, a.Val, h)
				}
				if a.Key == "href" && !allowedURL(a.Val) {
					t.Errorf("%s: link %q in %s", name, a.Val, h)
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

// safeHref reports whether a page's link is relative, a fragment, or an
// http, https, mailto or tel address.
func safeHref(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if u.Scheme == "" {
		return u.Host == "" && !strings.HasPrefix(s, "//")
	}
	return allowedURL(s)
}

func TestContrast(t *testing.T) {
	for _, p := range contrastPairs {
		if r := contrast(t, p[0], p[1]); r < 4.5 {
			t.Errorf("%s on %s: contrast %.2f:1, WCAG AA needs 4.5:1", p[0], p[1], r)
		}
	}
	if !strings.Contains(stylesheet, "max-width:42rem") || strings.Contains(stylesheet, "px;") && strings.Contains(stylesheet, "width:3") {
		t.Error("the layout is no longer one fluid column")
	}
}

// contrast returns the WCAG 2.1 contrast ratio of two #rrggbb colours.
func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, c string) float64 {
	v, err := strconv.ParseUint(strings.TrimPrefix(c, "#"), 16, 32)
	if err != nil || len(c) != 7 {
		t.Fatalf("colour %q", c)
	}
	ch := func(x uint64) float64 {
		s := float64(x) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(v>>16&0xff) + 0.7152*ch(v>>8&0xff) + 0.0722*ch(v&0xff)
}

// TestPages checks every page of the fixture, served and exported, with
// checkPage.
func TestPages(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	for _, g := range goldenPaths {
		if strings.HasSuffix(g.file, ".html") {
			checkPage(t, g.path, mustGet(t, s, g.path))
		}
	}
	res, body := get(t, s, "GET", "/nirgendwo/")
	if res.StatusCode != 404 {
		t.Fatalf("GET /nirgendwo/: %s", res.Status)
	}
	checkPage(t, "404", body)
}

// TestPageWeight publishes far more than a crisis should need, for 72
// towns (the customers of Südwestfalen-IT in 2023): every page stays under
// 50 KB and still lists every current notice (the newest with their
// text).
func TestPageWeight(t *testing.T) {
	src := newSource(t)
	var ids []string
	for i := range 72 {
		id := fmt.Sprintf("ort-%02d", i)
		src.towns = append(src.towns, &crier.Town{ID: id, Name: "Gemeinde Musterort-Langer-Name " + strconv.Itoa(i), Language: "de",
			AGS: fmt.Sprintf("0597%04d", i), Vars: map[string]string{"phone": "02900 000-000"}})
		ids = append(ids, id)
	}
	src.dir = crier.NewDirectory(src.towns, map[string][]string{"alle": ids})
	body := strings.Repeat("Wegen des IT-Ausfalls sind die Systeme nicht erreichbar; rufen Sie {{.Vars.phone}} an. ", 12)
	for i := range DefaultLimit {
		src.publish(&crier.Announcement{ID: fmt.Sprintf("n%03d", i), Title: strings.Repeat("Lange Überschrift ", 10),
			Body: body, Towns: []string{"alle"}, CreatedAt: now.Add(-time.Duration(i) * time.Minute)})
	}
	s := mustSite(t, Options{Source: src, Clock: fixedClock(now)})
	for _, p := range []string{"/", "/ort-01/", "/ort-01/n001"} {
		page := mustGet(t, s, p)
		checkPage(t, p, page)
		t.Logf("%s: %d bytes", p, len(page))
	}
	page := string(mustGet(t, s, "/ort-01/"))
	if n := strings.Count(page, "<article>"); n != DefaultLimit {
		t.Errorf("the town page lists %d current notices, want %d", n, DefaultLimit)
	}
}
