package templates

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// newMarkdown returns the Markdown converter for announcement bodies:
// CommonMark with bare URLs turned into links and ~~strikethrough~~. Raw
// HTML is dropped (goldmark's default without html.WithUnsafe), and
// linkPolicy removes every link and image whose target is not http, https,
// mailto or tel.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Linkify, extension.Strikethrough),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(linkPolicy{}, 0))),
	)
}

// renderMarkdown converts src to HTML and to plain text.
func renderMarkdown(md goldmark.Markdown, src []byte) (htmlOut, textOut string, err error) {
	doc := md.Parser().Parse(text.NewReader(src))
	var b bytes.Buffer
	if err := md.Renderer().Render(&b, src, doc); err != nil {
		return "", "", fmt.Errorf("render markdown: %w", err)
	}
	p := &plain{src: src}
	return strings.TrimSpace(b.String()), strings.TrimSpace(p.blocks(doc, "\n\n")), nil
}

// allowedURL reports whether a link target may appear in a message: only
// absolute http and https URLs, mailto and tel. Everything else, relative
// links included, has no meaning in a mail or a post, and javascript:,
// data: and friends are how markup turns into code.
func allowedURL(dest string) bool {
	u, err := url.Parse(dest)
	if err != nil {
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

// linkPolicy replaces links and images with disallowed targets by their
// text, so "[Formular](javascript:alert(1))" becomes the word "Formular".
type linkPolicy struct{}

func (linkPolicy) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	src := reader.Source()
	var bad []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if !allowedURL(string(util.URLEscape(n.Destination, true))) {
				bad = append(bad, n)
			}
		case *ast.Image:
			if !allowedURL(string(util.URLEscape(n.Destination, true))) {
				bad = append(bad, n)
			}
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkURL && !allowedURL(string(n.URL(src))) {
				bad = append(bad, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range bad {
		parent := n.Parent()
		if a, ok := n.(*ast.AutoLink); ok {
			parent.ReplaceChild(parent, n, ast.NewString(a.Label(src)))
			continue
		}
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c)
			c = next
		}
		parent.RemoveChild(parent, n)
	}
}

// plain turns a Markdown tree into plain text: markup is dropped, link
// targets are kept in parentheses, paragraphs are separated by blank lines
// and run on one line unless the source breaks them hard, and list items
// keep their bullets or numbers.
type plain struct {
	src []byte
}

// blocks renders the block children of n joined by sep.
func (p *plain) blocks(n ast.Node, sep string) string {
	var parts []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if s := p.block(c); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep)
}

func (p *plain) block(n ast.Node) string {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock, *ast.Heading:
		return strings.TrimSpace(p.inlines(n))
	case *ast.ThematicBreak:
		return "----"
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		var b strings.Builder
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(p.src))
		}
		return strings.TrimRight(b.String(), "\n")
	case *ast.Blockquote:
		return prefixLines(p.blocks(n, "\n\n"), "> ", "> ")
	case *ast.List:
		return p.list(n)
	case *ast.HTMLBlock:
		return ""
	}
	return strings.TrimSpace(p.blocks(n, "\n\n"))
}

func (p *plain) list(l *ast.List) string {
	var items []string
	num := l.Start
	for c := l.FirstChild(); c != nil; c = c.NextSibling() {
		marker := "- "
		if l.IsOrdered() {
			marker = strconv.Itoa(num) + ". "
			num++
		}
		sep := "\n\n"
		if l.IsTight {
			sep = "\n"
		}
		body := p.blocks(c, sep)
		items = append(items, prefixLines(body, marker, strings.Repeat(" ", len(marker))))
	}
	if l.IsTight {
		return strings.Join(items, "\n")
	}
	return strings.Join(items, "\n\n")
}

// prefixLines puts first before the first line of s and rest before every
// other non-empty line.
func prefixLines(s, first, rest string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		switch {
		case i == 0:
			lines[i] = first + l
		case l != "":
			lines[i] = rest + l
		default:
			lines[i] = strings.TrimRight(rest, " ")
		}
	}
	return strings.Join(lines, "\n")
}

func (p *plain) inlines(n ast.Node) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		p.inline(&b, c)
	}
	return b.String()
}

func (p *plain) inline(b *strings.Builder, n ast.Node) {
	switch n := n.(type) {
	case *ast.Text:
		if n.IsRaw() {
			b.Write(n.Segment.Value(p.src))
		} else {
			b.WriteString(unescape(n.Segment.Value(p.src)))
		}
		switch {
		case n.HardLineBreak():
			b.WriteByte('\n')
		case n.SoftLineBreak():
			b.WriteByte(' ') // a line wrapped in the source, not in the text
		}
	case *ast.String:
		if n.IsCode() || n.IsRaw() {
			b.Write(n.Value)
		} else {
			b.WriteString(unescape(n.Value))
		}
	case *ast.AutoLink:
		b.Write(n.Label(p.src))
	case *ast.Link:
		label := p.inlines(n)
		b.WriteString(label)
		if dest := linkText(n.Destination); dest != label {
			fmt.Fprintf(b, " (%s)", dest)
		}
	case *ast.Image:
		if label := p.inlines(n); label != "" {
			fmt.Fprintf(b, "%s (%s)", label, linkText(n.Destination))
		} else {
			b.WriteString(linkText(n.Destination))
		}
	case *ast.RawHTML:
		// dropped, as in the HTML
	case *ast.CodeSpan, *ast.Emphasis, *extast.Strikethrough:
		b.WriteString(p.inlines(n))
	default:
		b.WriteString(p.inlines(n))
	}
}

// linkText returns a link target as people read it: resolved escapes and
// entities, and mailto: and tel: addresses without their scheme.
func linkText(dest []byte) string {
	s := string(util.URLEscape(dest, true))
	for _, scheme := range []string{"mailto:", "tel:"} {
		if len(s) > len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			if u, err := url.PathUnescape(s[len(scheme):]); err == nil {
				return u
			}
		}
	}
	return s
}

// unescape resolves Markdown backslash escapes and HTML entities in a text
// segment exactly as goldmark's HTML writer does, without the HTML escaping.
func unescape(v []byte) string {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	gmhtml.DefaultWriter.Write(w, v)
	_ = w.Flush()
	return html.UnescapeString(b.String())
}
