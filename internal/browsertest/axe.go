package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, kept in testdata with its licence (see
// testdata/axe-core/README.md): the tests never download it.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// Widths are the viewport widths, in CSS pixels, that CheckPage checks a
// page at: a desktop window and the narrowest phone WCAG 2.1's reflow
// criterion (1.4.10) names.
var Widths = []int{1280, 320}

// AxeTags are the axe-core rule tags a page is checked against: WCAG 2.0
// and 2.1, levels A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// maxNodes bounds the nodes reported for one rule.
const maxNodes = 10

// Violation is one rule a page breaks, as axe-core reports it, or one of
// the rules of this package that axe-core leaves to people: "reflow",
// content wider than the viewport; "text-spacing", the same with wider
// text spacing; and "focus-visible", an element the Tab key reaches
// without showing it.
type Violation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []Node `json:"nodes"`
}

// Node is an element that breaks a rule.
type Node struct {
	Target  []string `json:"target"`  // CSS selectors, outermost first
	HTML    string   `json:"html"`    // the element's HTML, shortened
	Summary string   `json:"summary"` // what to fix
}

// axeResult is what axeRun returns.
type axeResult struct {
	URL        string      `json:"url"`
	Violations []Violation `json:"violations"`
	Width      pageWidth   `json:"width"`
}

// pageWidth is what measureWidth returns: the width of the document and
// of the viewport, and the elements that reach past it.
type pageWidth struct {
	ScrollWidth int    `json:"scrollWidth"`
	InnerWidth  int    `json:"innerWidth"`
	Wide        []Node `json:"wide"`
}

// measureWidth is a script's function that measures whether the page
// scrolls sideways, naming the innermost elements whose box or content
// reaches past the viewport.
var measureWidth = `const measureWidth = () => {
	const over = [];
	for (const e of document.body ? document.body.querySelectorAll('*') : []) {
		const box = e.getBoundingClientRect();
		// Content that overflows an element counts, unless the element
		// clips or scrolls it.
		const spills = e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'visible';
		const right = spills ? Math.max(box.right, box.left + e.scrollWidth) : box.right;
		if (right > window.innerWidth + 0.5) over.push([e, right]);
	}
	// The innermost: an element's ancestors reach as far because of it.
	const wide = over.filter(([e]) => !over.some(([o]) => o !== e && e.contains(o))).slice(0, ` + strconv.Itoa(maxNodes) + `);
	return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
		wide: wide.map(([e, right]) => ({target: [e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
			(typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).join('.') : '')],
			html: e.outerHTML.slice(0, 300), summary: 'reaches to ' + Math.round(right) + ' px'}))};
};`

// axeRun runs axe-core on the document and measures its width. A target
// inside a shadow root is a list of selectors; it is joined.
var axeRun = `(async () => {
	` + measureWidth + `
	const r = await axe.run(document, {runOnly: {type: 'tag', values: ` + jsonString(AxeTags) + `},
		resultTypes: ['violations']});
	const sel = (t) => t.map((s) => Array.isArray(s) ? s.join(' >>> ') : String(s));
	return {
		url: location.href,
		violations: r.violations.map((v) => ({id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map((n) => ({target: sel(n.target), html: n.html, summary: n.failureSummary || ''}))})),
		width: measureWidth(),
	};
})()`

// textSpacing measures the document's width with the text spacing that
// WCAG 1.4.12 says a person may set, and takes the spacing away again. A
// constructed stylesheet is no inline style: the page's
// Content-Security-Policy allows it.
var textSpacing = `(() => {
	` + measureWidth + `
	const sheet = new CSSStyleSheet();
	sheet.replaceSync('* { line-height: 1.5 !important; letter-spacing: 0.12em !important; ' +
		'word-spacing: 0.16em !important } p { margin-bottom: 2em !important }');
	document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
	const width = measureWidth();
	document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
	return width;
})()`

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// height is the viewport height used with a width: a landscape window or
// a portrait phone.
func height(width int) int {
	if width >= 800 {
		return 800
	}
	return 2 * width
}

// Axe checks the page shown in ctx's tab at each of the widths (Widths
// when none are given): it sets the viewport, injects axe-core when the
// page lacks it, runs the rules tagged AxeTags, checks that the page does
// not scroll sideways, not even with wider text spacing, and presses Tab
// through the page to check that the focus always shows. Each violation
// fails the test with the rule, its impact and help, and the failing
// elements' selectors and HTML, and saves the page's artifacts as it
// looked at that width. The viewport is left at the last width, and the
// focus where the Tab key left it.
func Axe(t testing.TB, ctx context.Context, widths ...int) {
	t.Helper()
	if len(widths) == 0 {
		widths = Widths
	}
	n := nextCheck(ctx)
	for _, w := range widths {
		res, err := axeAt(ctx, w)
		if err != nil {
			t.Fatalf("axe at %d px: %v", w, err)
			return
		}
		if len(res.Violations) == 0 {
			continue
		}
		t.Errorf("%s", report(res, w))
		Artifacts(t, ctx, fmt.Sprintf("axe-%02d-%s-%dpx", n, pageName(res.URL), w))
	}
}

// CheckPage opens url in ctx's tab and checks it with Axe at Widths.
func CheckPage(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	Do(t, ctx, "open "+url, chromedp.Navigate(url))
	Axe(t, ctx, Widths...)
}

// axeAt runs axe-core on the page in ctx at width w, adds the violation
// "reflow" when the page is wider than the viewport, "text-spacing" when
// it is so with the text spacing of WCAG 1.4.12, and "focus-visible" for
// the elements that the Tab key reaches without showing it.
func axeAt(ctx context.Context, w int) (*axeResult, error) {
	ctx, cancel := Step(ctx, fmt.Sprintf("axe at %d px", w))
	defer cancel()
	// The injection runs through the DevTools protocol, which the page's
	// Content-Security-Policy does not govern: the page keeps its own.
	inject := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		has, err := chromedp.Evaluate[bool]("typeof window.axe === 'object'")(ctx, t)
		if err != nil || has {
			return err
		}
		_, err = chromedp.Evaluate[chromedp.Void](axeSource)(ctx, t)
		return err
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(height(w))), inject); err != nil {
		return nil, err
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[*axeResult](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	wide, err := widthViolation(ctx, res.Width)
	if err != nil {
		return nil, err
	}
	if wide != nil {
		res.Violations = append(res.Violations, *wide)
	}
	hidden, err := focusAt(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyboard focus: %w", err)
	}
	if len(hidden) > 0 {
		res.Violations = append(res.Violations, Violation{
			ID: "focus-visible", Impact: "serious",
			Help:    "Every element reached with the Tab key must show its focus, in the viewport (WCAG 2.4.7)",
			HelpURL: "https://www.w3.org/WAI/WCAG21/Understanding/focus-visible.html",
			Nodes:   hidden,
		})
	}
	return res, nil
}

// widthViolation returns the violation "reflow" when the page in ctx,
// measured as pw, is wider than its viewport; or else "text-spacing" when
// it is so with the text spacing of WCAG 1.4.12; or else nil.
func widthViolation(ctx context.Context, pw pageWidth) (*Violation, error) {
	if pw.ScrollWidth > pw.InnerWidth {
		return &Violation{
			ID: "reflow", Impact: "serious",
			Help: fmt.Sprintf("Content must not scroll sideways (WCAG 1.4.10): the page is %d px wide in a %d px viewport",
				pw.ScrollWidth, pw.InnerWidth),
			HelpURL: "https://www.w3.org/WAI/WCAG21/Understanding/reflow.html",
			Nodes:   pw.Wide,
		}, nil
	}
	pw, err := chromedp.Run(ctx, chromedp.Evaluate[pageWidth](textSpacing))
	if err != nil {
		return nil, fmt.Errorf("text spacing: %w", err)
	}
	if pw.ScrollWidth > pw.InnerWidth {
		return &Violation{
			ID: "text-spacing", Impact: "serious",
			Help: fmt.Sprintf("Content must not scroll sideways with wider text spacing (WCAG 1.4.12): the page is %d px wide in a %d px viewport",
				pw.ScrollWidth, pw.InnerWidth),
			HelpURL: "https://www.w3.org/WAI/WCAG21/Understanding/text-spacing.html",
			Nodes:   pw.Wide,
		}, nil
	}
	return nil, nil
}

// report says what is wrong with a page, readably.
func report(res *axeResult, w int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s at %d px: %d accessibility violation(s) (WCAG 2.1 AA)", res.URL, w, len(res.Violations))
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "\n  %s (%s): %s\n    %s", v.ID, v.Impact, v.Help, v.HelpURL)
		for i, n := range v.Nodes {
			if i == maxNodes {
				fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-maxNodes)
				break
			}
			fmt.Fprintf(&b, "\n    - %s\n      %s", strings.Join(n.Target, " "), shorten(n.HTML, 300))
			if n.Summary != "" {
				fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
			}
		}
	}
	return b.String()
}

// shorten returns s on one line, cut to at most n bytes at a rune.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utfStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utfStart(b byte) bool { return b&0xC0 != 0x80 }

// pageName names a page's artifacts after its path.
func pageName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return "page"
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return "index"
	}
	if len(p) > 60 { // a confirmation link's token
		p = p[:60]
	}
	return p
}
