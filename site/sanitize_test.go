package site

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>Text mit <strong>fett</strong> und <em>kursiv</em></p>", "<p>Text mit <strong>fett</strong> und <em>kursiv</em></p>"},
		{`<p class="x" style="color:red" id="inhalt">a</p>`, "<p>a</p>"},
		{"<script>alert(1)</script>b", "b"},
		{`<a href="https://a.example/x?y=1&amp;z=2" title="t" target="_blank">a</a>`, `<a href="https://a.example/x?y=1&amp;z=2" rel="external">a</a>`},
		{`<a href="mailto:a@b.example">m</a> <a href="tel:+4929211030">t</a>`, `<a href="mailto:a@b.example">m</a> <a href="tel:+4929211030">t</a>`},
		{`<a href="JAVASCRIPT:alert(1)">x</a>`, "x"},
		{`<a href="https:">x</a><a href="mailto:">y</a>`, "xy"},
		{`<a href="relative/path">x</a>`, "x"},
		{"<h1>A</h1><h3>B</h3><h5>C</h5>", "<h4>A</h4><h5>B</h5><h6>C</h6>"},
		{"<h3>A</h3><p>x</p><h3>B</h3>", "<h4>A</h4><p>x</p><h4>B</h4>"},
		{"<h1>1</h1><h2>2</h2><h3>3</h3><h4>4</h4>", "<h4>1</h4><h5>2</h5><h6>3</h6><h6>4</h6>"},
		{"<ul><li>a<li>b</ul>", "<ul><li>a</li><li>b</li></ul>"},
		{"<p>unclosed <b>bold", "<p>unclosed <b>bold</b></p>"},
		{"</p></div></main>text", "<p></p>text"},
		{"a<br/>b<hr>c", "a<br>b<hr>c"},
		{"<!-- raw HTML omitted -->x", "x"},
		{"1 &lt; 2 &amp; 3 &gt; 2 \"q\" 'a'", "1 &lt; 2 &amp; 3 &gt; 2 &#34;q&#34; &#39;a&#39;"},
		{`<img src="https://a.example/i.png">`, `<a href="https://a.example/i.png" rel="external">https://a.example/i.png</a>`},
		{`<ol start="-1"><li>x</li></ol>`, "<ol><li>x</li></ol>"},
		{"<pre><code>x  y</code></pre>", "<pre><code>x  y</code></pre>"},
		{"<svg><a href=\"https://a.example\">x</a></svg>y", "y"},
	}
	for _, tt := range tests {
		if got := string(sanitize(tt.in)); got != tt.want {
			t.Errorf("sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestBodyRender(t *testing.T) {
	h, text := Body{HTML: "<p>Eins <b>zwei</b></p><ul><li>a</li><li>b</li></ul>"}.render()
	if string(h) != "<p>Eins <b>zwei</b></p><ul><li>a</li><li>b</li></ul>" || text != "Eins zwei\n\n- a\n\n- b" {
		t.Errorf("from HTML: %q, %q", h, text)
	}
	h, text = Body{Text: "Zeile 1\nZeile <2>\n\nAbsatz"}.render()
	if string(h) != "<p>Zeile 1<br>Zeile &lt;2&gt;</p>\n<p>Absatz</p>" || text != "Zeile 1\nZeile <2>\n\nAbsatz" {
		t.Errorf("from text: %q, %q", h, text)
	}
	if h, text := (Body{}).render(); h != "" || text != "" {
		t.Errorf("empty: %q, %q", h, text)
	}
}

func TestBodyFromMessages(t *testing.T) {
	payload := func(town string, rev int, html string) []byte {
		b, _ := json.Marshal(map[string]any{"type": crier.EventPublished, "data": map[string]any{
			"revision": rev, "town": map[string]string{"id": town}, "html": html, "text": "T " + html,
		}})
		return b
	}
	msgs := []*crier.Message{
		{Town: "soest", Revision: 1, Type: "email", HTML: "<html>whole mail</html>"},
		{Town: "soest", Revision: 1, Type: "webhook", Payload: payload("soest", 1, "<p>soest 1</p>")},
		{Town: "soest", Revision: 2, Type: "webhook", Payload: []byte(`{"custom":"override"}`)},
		{Town: "soest", Revision: 2, Type: "webhook", Payload: payload("soest", 2, "<p>soest 2</p>")},
		{Town: "werl", Revision: 1, Type: "webhook", Payload: payload("soest", 1, "<p>wrong town</p>")},
		{Town: "lippstadt", Revision: 1, Type: "webhook", Payload: payload("lippstadt", 1, "<p>webhook</p>")},
		{Town: "lippstadt", Revision: 1, Type: MessageType, HTML: "<p>site</p>", Text: "site"},
	}
	tests := []struct {
		town string
		rev  int
		want Body
		ok   bool
	}{
		{"soest", 1, Body{HTML: "<p>soest 1</p>", Text: "T <p>soest 1</p>"}, true},
		{"soest", 2, Body{HTML: "<p>soest 2</p>", Text: "T <p>soest 2</p>"}, true},
		{"soest", 3, Body{}, false},
		{"werl", 1, Body{}, false},
		{"lippstadt", 1, Body{HTML: "<p>site</p>", Text: "site"}, true},
	}
	for _, tt := range tests {
		got, ok := BodyFromMessages(msgs, tt.town, tt.rev)
		if ok != tt.ok || got != tt.want {
			t.Errorf("BodyFromMessages(%s, %d) = %+v, %v; want %+v, %v", tt.town, tt.rev, got, ok, tt.want, tt.ok)
		}
	}
}

func TestContacts(t *testing.T) {
	got := contacts("de", map[string]string{
		"office": "Bürgerbüro", "address": "Am Vreithof 8", "phone": "+49 2921 103-0", "email": "a@b.example",
		"hours": "Mo–Fr", "website": "www.soest.de", "fax": "ignored",
	})
	want := []contact{
		{Key: "address", Label: "Adresse", Value: "Bürgerbüro, Am Vreithof 8"},
		{Key: "phone", Label: "Telefon", Value: "+49 2921 103-0", URL: "tel:+4929211030"},
		{Key: "email", Label: "E-Mail", Value: "a@b.example", URL: "mailto:a@b.example"},
		{Key: "hours", Label: "Öffnungszeiten", Value: "Mo–Fr"},
		{Key: "website", Label: "Website", Value: "www.soest.de", URL: "https://www.soest.de", External: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contacts (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"02921 103-0 (Zentrale)", "call me", "12", "+49+1"} {
		if u := telURL(bad); u != "" {
			t.Errorf("telURL(%q) = %q", bad, u)
		}
	}
	for _, bad := range []string{"javascript:alert(1)", "www.a b.de", `https://a.example/"x`, "ftp://a.example"} {
		if u := webURL(bad); u != "" {
			t.Errorf("webURL(%q) = %q", bad, u)
		}
	}
}
