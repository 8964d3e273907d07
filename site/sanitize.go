package site

import (
	"cmp"
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// firstHeading is the level of a body's top headings: a notice's title is
// an h3 (town page) or a revision's heading is one (notice page), so the
// body's own headings start below it.
const firstHeading = 4

// maxDepth bounds the nesting of a body's elements; anything deeper is
// kept as text only.
const maxDepth = 64

// textTags are the elements a body keeps, without attributes.
var textTags = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.Hr: true, atom.Strong: true, atom.B: true, atom.Em: true, atom.I: true,
	atom.Del: true, atom.S: true, atom.Code: true, atom.Pre: true, atom.Blockquote: true, atom.Ul: true,
	atom.Ol: true, atom.Li: true, atom.Sub: true, atom.Sup: true,
}

// droppedTags are removed with everything inside them.
var droppedTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Frame: true, atom.Frameset: true,
	atom.Object: true, atom.Embed: true, atom.Applet: true, atom.Template: true, atom.Noscript: true,
	atom.Textarea: true, atom.Select: true, atom.Title: true, atom.Head: true, atom.Meta: true,
	atom.Link: true, atom.Base: true, atom.Svg: true, atom.Math: true, atom.Audio: true, atom.Video: true,
	atom.Canvas: true, atom.Input: true, atom.Button: true, atom.Noembed: true, atom.Noframes: true,
	atom.Xmp: true, atom.Plaintext: true,
}

// sanitize returns a body's HTML reduced to text elements: paragraphs,
// line breaks, emphasis, lists, quotes, code, headings (moved below the
// page's own), and links to http, https, mailto and tel, which are the
// only attributes kept. Everything else is unwrapped to its text, or
// dropped with its content where that content is code (script, style,
// svg...). Headings move below the page's own (see headingLevels). Images
// become links to them, so that a page loads nothing from elsewhere. The
// result is balanced, so that a body cannot close or open the page's own
// elements.
func sanitize(src string) template.HTML {
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(src), ctx)
	if err != nil {
		return template.HTML(html.EscapeString(src))
	}
	w := &writer{levels: headingLevels(nodes)}
	for _, n := range nodes {
		w.node(n, 0)
	}
	return template.HTML(strings.TrimSpace(w.String()))
}

// headingLevels maps the heading levels a body uses, in order, to h4, h5
// and h6, so that "# A" and "### B" become h4 and h5 and the page's
// outline skips no level.
func headingLevels(nodes []*html.Node) map[int]int {
	used := map[int]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if l := headingLevel(n); l > 0 {
				used[l] = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	levels, next := map[int]int{}, firstHeading
	for l := 1; l <= 6; l++ {
		if used[l] {
			levels[l] = min(next, 6)
			next++
		}
	}
	return levels
}

// headingLevel returns 1 to 6 for h1 to h6, else 0.
func headingLevel(n *html.Node) int {
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return int(n.Data[1] - '0')
	}
	return 0
}

// writer writes sanitized HTML.
type writer struct {
	strings.Builder
	levels map[int]int // heading level in the body → on the page
}

func (w *writer) node(n *html.Node, depth int) {
	b := &w.Builder
	switch n.Type {
	case html.TextNode:
		b.WriteString(html.EscapeString(n.Data))
		return
	case html.ElementNode:
	default: // comments, doctypes
		return
	}
	children := func() {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			w.node(c, depth+1)
		}
	}
	if depth >= maxDepth {
		b.WriteString(html.EscapeString(textOf(n)))
		return
	}
	a := n.DataAtom
	switch {
	case droppedTags[a] || (a == 0 && n.Namespace != ""):
		return
	case a == atom.Br || a == atom.Hr:
		b.WriteString("<" + a.String() + ">")
	case a == atom.Ol:
		b.WriteString("<ol")
		if v, err := strconv.Atoi(attr(n, "start")); err == nil && v >= 0 {
			b.WriteString(` start="` + strconv.Itoa(v) + `"`)
		}
		b.WriteString(">")
		children()
		b.WriteString("</ol>")
	case textTags[a]:
		b.WriteString("<" + a.String() + ">")
		children()
		b.WriteString("</" + a.String() + ">")
	case headingLevel(n) > 0:
		tag := "h" + strconv.Itoa(w.levels[headingLevel(n)])
		b.WriteString("<" + tag + ">")
		children()
		b.WriteString("</" + tag + ">")
	case a == atom.A:
		href := attr(n, "href")
		if !allowedURL(href) {
			children()
			return
		}
		writeLinkStart(b, href)
		children()
		b.WriteString("</a>")
	case a == atom.Img:
		alt, src := strings.TrimSpace(attr(n, "alt")), attr(n, "src")
		if !allowedURL(src) {
			b.WriteString(html.EscapeString(alt))
			return
		}
		writeLinkStart(b, src)
		b.WriteString(html.EscapeString(cmp.Or(alt, src)))
		b.WriteString("</a>")
	default:
		children()
	}
}

// writeLinkStart writes the start tag of a link to an allowed address;
// links to other hosts are marked rel="external".
func writeLinkStart(b *strings.Builder, href string) {
	b.WriteString(`<a href="` + html.EscapeString(href) + `"`)
	if isWeb(href) {
		b.WriteString(` rel="external"`)
	}
	b.WriteString(">")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// allowedURL reports whether a link may appear in a body: absolute http
// and https addresses, mailto and tel; as the templates package decides
// for messages.
func allowedURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || s != strings.TrimSpace(s) {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto", "tel":
		return u.Opaque != ""
	}
	return false
}

// isWeb reports whether s is an http or https address.
func isWeb(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// textOf returns the text inside n, without scripts and styles.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && droppedTags[n.DataAtom]:
		default:
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// htmlText returns the plain text of sanitized body HTML: blocks
// separated by blank lines, list items with "- ".
func htmlText(h template.HTML) string {
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(string(h)), ctx)
	if err != nil {
		return ""
	}
	var blocks []string
	var line strings.Builder
	flush := func() {
		if s := strings.Join(strings.Fields(line.String()), " "); s != "" {
			blocks = append(blocks, s)
		}
		line.Reset()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			line.WriteString(n.Data)
			return
		}
		block := false
		switch n.DataAtom {
		case atom.P, atom.Pre, atom.Blockquote, atom.Ul, atom.Ol, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Hr:
			block = true
			flush()
		case atom.Li:
			flush()
			line.WriteString("- ")
			block = true
		case atom.Br:
			line.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			flush()
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	flush()
	return strings.Join(blocks, "\n\n")
}

// textHTML returns plain text as HTML paragraphs: blank lines separate
// paragraphs, single line breaks stay.
func textHTML(text string) template.HTML {
	var b strings.Builder
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		lines := strings.Split(p, "\n")
		for i, l := range lines {
			lines[i] = html.EscapeString(strings.TrimSpace(l))
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>") + "</p>\n")
	}
	return template.HTML(strings.TrimSpace(b.String()))
}

// render returns a body's safe HTML and plain text, each derived from the
// other when missing.
func (b Body) render() (template.HTML, string) {
	h, text := template.HTML(""), strings.TrimSpace(b.Text)
	if strings.TrimSpace(b.HTML) != "" {
		h = sanitize(b.HTML)
	} else if text != "" {
		h = textHTML(text)
	}
	if text == "" && h != "" {
		text = htmlText(h)
	}
	return h, text
}

// SafeHTML returns the body as HTML that is safe to show on a page of
// crier's own: its HTML sanitized as the site shows it, or its plain text
// in paragraphs. The body's headings start at h4.
func (b Body) SafeHTML() template.HTML {
	h, _ := b.render()
	return h
}
