package site

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// TestExportCrawl exports the Kreis Soest fixture, serves the directory
// with http.FileServer and follows every link from index.html: each one
// resolves over HTTP and, for file://, names a file that exists (not a
// directory); every exported file is reached; no page loads anything; the
// only links to other hosts are the imprint, the privacy statement and the
// links the towns' texts and website variables contain, all marked
// rel="external". With a base URL, the feeds' and CAP documents' absolute
// links point into the export under it.
func TestExportCrawl(t *testing.T) {
	for _, base := range []string{"", "https://notfall.kreis-soest.example/"} {
		t.Run("base="+base, func(t *testing.T) {
			src := kreisSoestSource(t)
			o := options(src)
			o.BaseURL = base
			s := mustSite(t, o)
			dir := t.TempDir()
			written, err := s.Export(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			external := map[string]bool{imprintURL: true, privacyURL: true, "https://www.kreis-soest.de/it-ausfall": true, formURL: true}
			for _, tw := range src.towns {
				external[tw.Vars["website"]] = true
			}
			c := &crawler{t: t, dir: dir, base: base, external: external, seen: map[string]bool{}}
			srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
			defer srv.Close()
			c.srv = srv
			c.crawl("index.html")

			var unreached []string
			for _, w := range written {
				if !c.seen[w] {
					unreached = append(unreached, w)
				}
			}
			if len(unreached) > 0 {
				t.Errorf("exported files no link leads to: %v", unreached)
			}
			if len(written) != 3+14*3+(5+2*1+12*1)*3 {
				t.Errorf("%d files exported: %v", len(written), written)
			}
			// The modification time is the content's last change.
			fi, err := os.Stat(filepath.Join(dir, "soest", idSprechstunde+".html"))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(time.Date(2026, 11, 26, 7, 15, 0, 0, time.UTC)) {
				t.Errorf("mtime of the canceled notice's page: %v", fi.ModTime())
			}
			// A second export over the first replaces every file.
			if again, err := s.Export(context.Background(), dir); err != nil || len(again) != len(written) {
				t.Errorf("second export: %d files, %v", len(again), err)
			}
			if tmp, _ := filepath.Glob(filepath.Join(dir, "*", ".crier-*")); len(tmp) > 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

type crawler struct {
	t        *testing.T
	srv      *httptest.Server
	dir      string
	base     string
	external map[string]bool
	seen     map[string]bool
}

// crawl visits the exported file p (relative to the export, with slashes)
// and everything it links to.
func (c *crawler) crawl(p string) {
	t := c.t
	if c.seen[p] {
		return
	}
	c.seen[p] = true
	fi, err := os.Stat(filepath.Join(c.dir, filepath.FromSlash(p)))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("link to %s: not a file in the export (file:// would fail): %v", p, err)
		return
	}
	res, err := c.srv.Client().Get(c.srv.URL + "/" + p)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", p, res.Status)
		return
	}
	var links []link
	switch {
	case strings.HasSuffix(p, ".html"):
		checkPage(t, p, body)
		links = htmlLinks(t, p, body)
	case strings.HasSuffix(p, ".atom"), strings.HasSuffix(p, ".rss"), strings.HasSuffix(p, ".cap.xml"):
		links = xmlLinks(t, p, body)
	}
	for _, l := range links {
		c.follow(p, l)
	}
}

func (c *crawler) follow(from string, l link) {
	t := c.t
	u, err := url.Parse(l.href)
	if err != nil {
		t.Errorf("%s: link %q: %v", from, l.href, err)
		return
	}
	switch {
	case u.Scheme == "mailto" || u.Scheme == "tel":
		return
	case u.Scheme == "" && u.Host == "" && u.Path == "" && u.Fragment != "":
		return // checkPage checks that fragments name an element
	case u.Scheme == "" && u.Host == "":
		target := path.Join(path.Dir(from), u.Path)
		if strings.HasPrefix(target, "../") || target == ".." {
			t.Errorf("%s: link %q leaves the export", from, l.href)
			return
		}
		c.crawl(target)
	case c.base != "" && strings.HasPrefix(l.href, c.base) && !l.page:
		c.crawl(strings.TrimPrefix(l.href, c.base))
	case !c.external[l.href]:
		t.Errorf("%s: link to another host %q", from, l.href)
	case l.page && !slices.Contains(strings.Fields(l.rel), "external"):
		t.Errorf("%s: link to another host %q is not marked rel=external", from, l.href)
	}
}

// link is one reference found in a document.
type link struct {
	href, rel string
	page      bool // found in an HTML page
}

func htmlLinks(t *testing.T, name string, b []byte) []link {
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []link
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.DataAtom == atom.A || n.DataAtom == atom.Link) {
			out = append(out, link{href: attr(n, "href"), rel: attr(n, "rel"), page: true})
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// xmlLinks returns the links of a feed or CAP document: Atom link hrefs,
// RSS link elements, CAP web; not the links inside entries' HTML, which
// are the towns' texts.
func xmlLinks(t *testing.T, name string, b []byte) []link {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []link
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "link":
			for _, a := range se.Attr {
				if a.Name.Local == "href" {
					out = append(out, link{href: a.Value})
				}
			}
			if se.Name.Space == "" { // RSS
				var s string
				if err := dec.DecodeElement(&s, &se); err != nil {
					t.Fatal(err)
				}
				out = append(out, link{href: s})
			}
		case "web":
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			out = append(out, link{href: s})
		}
	}
}

// TestSubscribeLink checks the town page's link to the subscribe form:
// served, relative to the form beside the page; exported, the form's
// absolute address on the server (the static copy has none), marked
// external; no link for a town without a form or without Subscribe.
func TestSubscribeLink(t *testing.T) {
	const text = "E-Mail-Benachrichtigung abonnieren"
	o := options(kreisSoestSource(t))
	o.BaseURL = "https://notfall.kreis-soest.example/" // the export's web space, not the server
	s := mustSite(t, o)
	if page := string(mustGet(t, s, "/soest/")); !strings.Contains(page, `<a href="subscribe">`+text+`</a>`) {
		t.Errorf("served Soest page has no relative link to the form:\n%s", page)
	}
	if page := string(mustGet(t, s, "/lippstadt/")); strings.Contains(page, text) {
		t.Errorf("Lippstadt has no email channel, but its page links to a form")
	}
	dir := t.TempDir()
	if _, err := s.Export(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if page := read("soest/index.html"); !strings.Contains(page, `<a href="`+formURL+`" rel="external">`+text+`</a>`) {
		t.Errorf("exported Soest page does not link to %s:\n%s", formURL, page)
	}
	if page := read("lippstadt/index.html"); strings.Contains(page, text) {
		t.Errorf("exported Lippstadt page links to a form")
	}

	o.Subscribe = nil
	if page := string(mustGet(t, mustSite(t, o), "/soest/")); strings.Contains(page, text) || strings.Contains(page, "subscribe") {
		t.Errorf("without Subscribe the page links to a form")
	}
}

// TestExportFailure: a failing source stops the export with the error.
func TestExportFailure(t *testing.T) {
	src := kreisSoestSource(t)
	s := mustSite(t, options(src))
	src.fail = io.ErrUnexpectedEOF
	if _, err := s.Export(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("Export with a failing source: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src.fail = nil
	if written, err := s.Export(ctx, t.TempDir()); err == nil || len(written) > 1 {
		t.Errorf("Export with a canceled context: %d files, %v", len(written), err)
	}
}

// TestExportRemovesWhatIsNoLongerListed: a second export removes the files
// of the first that it does not write again, and nothing else: not a file
// someone put there, not a path outside the directory named in a tampered
// list.
func TestExportRemovesWhatIsNoLongerListed(t *testing.T) {
	src := kreisSoestSource(t)
	dir := t.TempDir()
	first, err := mustSite(t, options(src)).Export(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "keep.html")
	for path, body := range map[string]string{
		filepath.Join(dir, "robots.txt"): "User-agent: *\n",
		outside:                          "not crier's",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := filepath.Join(dir, ".crier-export")
	list, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, outside)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, append(list, filepath.ToSlash(rel)+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}

	o := options(src)
	o.Limit = 1 // every town now lists one announcement
	second, err := mustSite(t, o).Export(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) >= len(first) {
		t.Fatalf("second export wrote %d files, the first %d; want fewer", len(second), len(first))
	}
	kept := map[string]bool{}
	for _, w := range second {
		kept[w] = true
	}
	for _, w := range first {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(w)))
		switch {
		case kept[w] && err != nil:
			t.Errorf("%s written again but missing: %v", w, err)
		case !kept[w] && !errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s no longer listed but still there (err %v)", w, err)
		}
	}
	for _, path := range []string{filepath.Join(dir, "robots.txt"), outside} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s, which no export wrote, is gone: %v", path, err)
		}
	}
	list, err = os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(list)); !slices.Equal(got, second) {
		t.Errorf("the list names %d files, the export wrote %d", len(got), len(second))
	}
}
