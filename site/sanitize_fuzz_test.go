package site

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FuzzSanitize feeds bodies to the sanitizer as the site gets them, HTML
// or plain text, and checks that what comes out is inert: only text
// elements, headings and links; no attribute but a link's href and rel
// and a list's start; links only to http, https, mailto and tel; and no
// script, style or frame, as markup, anywhere in the output.
func FuzzSanitize(f *testing.F) {
	for _, p := range payloads {
		f.Add(p, false)
		f.Add(p, true)
	}
	for _, s := range []string{
		`<h1>A</h1><h3>B</h3><h6>C</h6><h2>D</h2><h5>E</h5><h4>F</h4>`,
		`<a href="https://soest.de/"><img src="https://soest.de/x.png" alt="x"></a>`,
		`<a href=" javascript:alert(1)">x</a><a href="java&#x09;script:alert(1)">y</a><a href="JaVaScRiPt:alert(1)">z</a>`,
		`<a href="mailto:">m</a><a href="tel:+49 2921 103-0">t</a><a href="https://">h</a>`,
		`<ol start="-1"><li>a</ol><ol start="3" onclick="x"><li>b</ol><ol start="99999999999999999999">`,
		strings.Repeat("<b>", 200) + "tief" + strings.Repeat("</b>", 200),
		`<math><mi><table><mglyph><style><img src=x onerror=alert(1)>`,
		`<svg><foreignObject><script>alert(1)</script></foreignObject></svg>`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
		`<template><script>alert(1)</script></template><xmp><script>`,
		"<p>Zeile\r\neins</p>\x00<!-- <script> --><![CDATA[<script>]]>",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, src string, text bool) {
		b := Body{HTML: src}
		if text {
			b = Body{Text: src}
		}
		out, _ := b.render()
		checkInert(t, src, string(out))
	})
}

// bodyAttrs are the attributes each element of a sanitized body may have.
var bodyAttrs = map[atom.Atom][]string{
	atom.A: {"href", "rel"}, atom.Ol: {"start"}, atom.H4: nil, atom.H5: nil, atom.H6: nil,
}

// checkInert fails t unless out, the sanitized form of src, holds only
// what a body may hold.
func checkInert(t *testing.T, src, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	for _, bad := range []string{"<script", "<style", "<iframe", "<svg", "<math", "<img", "<object", "<embed", "<base", "<form"} {
		if strings.Contains(lower, bad) {
			t.Fatalf("sanitize(%q) = %q: holds %s", src, out, bad)
		}
	}
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(out), ctx)
	if err != nil {
		t.Fatalf("sanitize(%q) = %q, which does not parse: %v", src, out, err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			allowed, ok := bodyAttrs[n.DataAtom]
			if !ok && !textTags[n.DataAtom] || n.Namespace != "" {
				t.Fatalf("sanitize(%q) = %q: holds element %s", src, out, n.Data)
			}
			for _, a := range n.Attr {
				if !slices.Contains(allowed, a.Key) || a.Namespace != "" {
					t.Fatalf("sanitize(%q) = %q: <%s> has attribute %s", src, out, n.Data, a.Key)
				}
				if a.Key == "href" && !browserSafe(a.Val) {
					t.Fatalf("sanitize(%q) = %q: links to %q", src, out, a.Val)
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

// browserSafe reports whether a link target, as a browser reads it, is
// http, https, mailto or tel: browsers drop tabs and line breaks and
// leading spaces and control characters before they look at the scheme.
func browserSafe(v string) bool {
	v = strings.TrimLeft(v, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	v = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(strings.ToLower(v))
	for _, scheme := range []string{"http://", "https://", "mailto:", "tel:"} {
		if strings.HasPrefix(v, scheme) {
			return true
		}
	}
	return false
}
