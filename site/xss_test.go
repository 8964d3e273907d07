package site

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// payloads are attempts to get markup or script into a page, a feed or a
// CAP document.
var payloads = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`"><svg onload=alert(1)>`,
	`'><iframe src=javascript:alert(1)>`,
	`[Formular](javascript:alert(1))`,
	`![Bild](javascript:alert(1))`,
	`<a href="javascript:alert(1)">Link</a>`,
	`[Daten](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`<style>body{display:none}</style>`,
	`</textarea></title></style></script><b onmouseover=alert(1)>x</b>`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`]]><x>&amp;&lt;script&gt;`,
	`javascript:alert(1)`,
}

// TestXSS puts the payloads into everything that reaches a page from
// outside the code: the announcement's title, body and reason, the town's
// name and variables, and the status list. Every page stays inert
// (checkPage: no scripts, handlers, javascript: links or foreign
// elements), every feed's HTML keeps to text elements and safe links,
// every CAP document still validates, and the values show as text.
func TestXSS(t *testing.T) {
	src := newSource(t)
	tw := src.town("soest")
	tw.Name = `Stadt <script>alert(1)</script> "Soest'`
	joined := strings.Join(payloads, " ")
	for _, k := range []string{"phone", "office", "address", "hours", "email", "hashtag"} {
		tw.Vars[k] = joined
	}
	tw.Vars["website"] = "javascript:alert(1)"
	src.town("lippstadt").Vars["website"] = `https://www.lippstadt.de/"><script>alert(1)</script>`
	src.town("lippstadt").Vars["email"] = `x@lippstadt.example?subject=<script>`
	src.status["soest"] = []ServiceStatus{
		{Service: payloads[0], Availability: `down" onclick="alert(1)`, Text: joined},
		{Service: "Telefon", Availability: Limited, Text: payloads[2]},
	}
	title := `Titel "><svg onload=alert(1)> <script>alert(1)</script>`
	body := strings.Join(payloads, "\n\n") + "\n\n" + `{{"<script>alert(2)</script>"}}` + "\n\n" +
		"Telefon: {{.Vars.phone}}\n\nOrt: {{.Town.Name}}\n\n[Website]({{.Vars.website}}) {{.Vars.website}} {{.Vars.email}}\n"
	at := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	src.publish(&crier.Announcement{ID: "xss1", Title: title, Body: body, Towns: []string{"soest", "lippstadt"}, CreatedAt: at})
	src.update("xss1", &crier.Announcement{Title: title + " 2", Body: body, Reason: joined}, at.Add(time.Hour))
	src.publish(&crier.Announcement{ID: "xss2", Title: title, Body: body, Towns: []string{"soest"}, CreatedAt: at,
		Mode: crier.ModeExercise})
	src.cancel("xss2", joined, at.Add(2*time.Hour))

	s := mustSite(t, options(src))
	for _, p := range []string{"/", "/soest/", "/soest/xss1", "/soest/xss2", "/lippstadt/", "/lippstadt/xss1"} {
		page := string(mustGet(t, s, p))
		checkPage(t, p, []byte(page))
		// Payloads shown as text are escaped; what is left after taking
		// those out must hold no script and no event handler.
		bare := strings.NewReplacer("&lt;svg onload=", "", "&lt;img src=x onerror=", "").Replace(page)
		if strings.Contains(bare, "<script") || strings.Contains(bare, "onload=") || strings.Contains(bare, "onerror=") {
			t.Errorf("%s: markup from a payload survives", p)
		}
	}
	town := string(mustGet(t, s, "/soest/"))
	for _, want := range []string{
		"Stadt &lt;script&gt;alert(1)&lt;/script&gt; &#34;Soest&#39;", // town name in the text
		"Titel &#34;&gt;&lt;svg onload=alert(1)&gt;",                  // title
		"&lt;img src=x onerror=alert(1)&gt;",                          // a variable, shown as written
		"<strong>&lt;script&gt;alert(1)&lt;/script&gt;:</strong>",     // a status line's service
	} {
		if !strings.Contains(town, want) {
			t.Errorf("Soest's page does not show %q as text", want)
		}
	}
	if strings.Contains(town, `href="javascript`) || strings.Contains(town, "onclick") {
		t.Error("a variable or a status line became a link or an attribute")
	}
	notice := string(mustGet(t, s, "/soest/xss1"))
	if !strings.Contains(notice, "<strong>Grund:</strong> &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the update's reason is not shown as text")
	}

	caps := map[string][]byte{}
	for _, p := range []string{"/soest/xss1.cap.xml", "/soest/xss2.cap.xml", "/lippstadt/xss1.cap.xml"} {
		b := mustGet(t, s, p)
		caps[p] = b
		d := parseCAP(t, p, b)
		if !strings.Contains(d.Info[0].SenderName+d.Info[0].Headline+d.Info[0].Description+d.Note, "<script>alert(1)</script>") {
			t.Errorf("%s does not carry the payload as text", p)
		}
	}
	validateCAP(t, caps)
	var j map[string]any
	if err := json.Unmarshal(mustGet(t, s, "/soest/xss1.cap.json"), &j); err != nil {
		t.Errorf("CAP JSON with payloads: %v", err)
	}
	for _, p := range []string{"/soest/feed.atom", "/feed.atom", "/lippstadt/feed.atom"} {
		atomFeedOf(t, s, p)
	}
	for _, p := range []string{"/soest/feed.rss", "/feed.rss"} {
		rssFeedOf(t, s, p)
	}
}

// hostileSource hands out bodies whose HTML is not what the templates
// package makes: a store adapter that takes HTML from somewhere else must
// not open a hole.
type hostileSource struct {
	*memSource
	html string
}

func (h hostileSource) Notice(ctx context.Context, town, id string) (*Notice, error) {
	n, err := h.memSource.Notice(ctx, town, id)
	if err != nil {
		return nil, err
	}
	out := &Notice{Town: n.Town}
	for _, r := range n.Revisions {
		out.Revisions = append(out.Revisions, &Revision{Announcement: r.Announcement, Body: Body{HTML: h.html}})
	}
	return out, nil
}

func (h hostileSource) Notices(ctx context.Context, town string, limit int) ([]*Notice, error) {
	ns, err := h.memSource.Notices(ctx, town, limit)
	for i, n := range ns {
		if ns[i], err = h.Notice(ctx, town, n.ID()); err != nil {
			return nil, err
		}
	}
	return ns, err
}

func TestHostileBodyHTML(t *testing.T) {
	src := kreisSoestSource(t)
	raw := strings.Join([]string{
		`<script>alert(1)</script><p onclick="alert(1)">Absatz</p>`,
		`<a href="javascript:alert(1)">js</a> <a href=" javascript:alert(1)">js2</a> <a href="java&#x09;script:alert(1)">js3</a>`,
		`<a href="//evil.example/">schemelos</a> <a href="/relativ">relativ</a> <a href="https://ok.example/?a=1&b=2">ok</a>`,
		`<img src="https://tracker.example/pixel.gif" alt="Karte"> <img src="javascript:alert(1)" alt="böse">`,
		`<iframe src="https://evil.example"></iframe><object data="x"></object><svg><script>alert(1)</script></svg>`,
		`<form action="https://evil.example"><input name=x><button>Senden</button></form>`,
		`</div></article></main><main><h1>Zweite Überschrift</h1><h2>h2</h2><h6>h6</h6>`,
		`<table><tr><td>Zelle</td></tr></table><ol start="3" type="a" onclick="x"><li>drei</li></ol>`,
		`<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example"><link rel=stylesheet href=https://evil.example/x.css>`,
		`<math><mi xlink:href="javascript:alert(1)">x</mi></math><template><script>alert(1)</script></template>`,
		strings.Repeat("<b>", 200) + "tief" + strings.Repeat("</b>", 200),
	}, "\n")
	s := mustSite(t, options(hostileSource{memSource: src, html: raw}))
	for _, p := range []string{"/", "/soest/", "/soest/" + idKfz} {
		checkPage(t, p, mustGet(t, s, p))
	}
	page := string(mustGet(t, s, "/soest/"+idKfz))
	for _, want := range []string{
		"<p>Absatz</p>", "js js2 js3", "schemelos relativ", `<a href="https://ok.example/?a=1&amp;b=2" rel="external">ok</a>`,
		`<a href="https://tracker.example/pixel.gif" rel="external">Karte</a> böse`,
		"<h4>Zweite Überschrift</h4><h5>h2</h5><h6>h6</h6>", "Zelle", `<ol start="3"><li>drei</li></ol>`, "tief",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the sanitized body lacks %q", want)
		}
	}
	if strings.Count(page, "<main") != 1 || strings.Count(page, "</main>") != 1 || strings.Count(page, "<h1>") != 1 {
		t.Error("the body changed the page's structure")
	}
	atomFeedOf(t, s, "/soest/feed.atom")
	rssFeedOf(t, s, "/soest/feed.rss")
}
