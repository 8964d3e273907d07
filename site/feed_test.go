package site

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/crierhq/crier"
)

const atomNS = "http://www.w3.org/2005/Atom"

// Atom and RSS as a test reads them, independent of the package's types.
type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string   `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Type string `xml:"type,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Author struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Entries []struct {
		Title     string `xml:"title"`
		ID        string `xml:"id"`
		Published string `xml:"published"`
		Updated   string `xml:"updated"`
		Links     []struct {
			Rel  string `xml:"rel,attr"`
			Type string `xml:"type,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Author struct {
			Name string `xml:"name"`
		} `xml:"author"`
		Category []struct {
			Term string `xml:"term,attr"`
		} `xml:"category"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title         string `xml:"title"`
		Link          string `xml:"link"`
		Description   string `xml:"description"`
		Language      string `xml:"language"`
		LastBuildDate string `xml:"lastBuildDate"`
		TTL           int    `xml:"ttl"`
		Items         []struct {
			Title       string   `xml:"title"`
			Link        string   `xml:"link"`
			Description string   `xml:"description"`
			Category    []string `xml:"category"`
			GUID        struct {
				IsPermaLink string `xml:"isPermaLink,attr"`
				Value       string `xml:",chardata"`
			} `xml:"guid"`
			PubDate string `xml:"pubDate"`
		} `xml:"item"`
	} `xml:"channel"`
}

// Elements each format allows, by namespace and name. strictDecode fails
// on any other, so that a misspelt or misplaced element cannot hide.
var (
	atomElements = map[string]bool{
		"feed": true, "title": true, "id": true, "updated": true, "link": true, "author": true, "name": true,
		"entry": true, "published": true, "category": true, "content": true,
	}
	rssElements = map[string]bool{
		"rss": true, "channel": true, "title": true, "link": true, "description": true, "language": true,
		"lastBuildDate": true, "ttl": true, "item": true, "category": true, "guid": true, "pubDate": true,
	}
)

// strictDecode checks that b is well-formed XML in one namespace whose
// every element is allowed, then decodes it into v.
func strictDecode(t *testing.T, name string, b []byte, ns string, allowed map[string]bool, v any) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok && (se.Name.Space != ns || !allowed[se.Name.Local]) {
			t.Errorf("%s: unexpected element {%s}%s", name, se.Name.Space, se.Name.Local)
		}
	}
	dec = xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func atomFeedOf(t *testing.T, s *Site, path string) *atomDoc {
	t.Helper()
	var f atomDoc
	strictDecode(t, path, mustGet(t, s, path), atomNS, atomElements, &f)
	for _, e := range f.Entries {
		for _, ts := range []string{e.Published, e.Updated} {
			if _, err := time.Parse(time.RFC3339, ts); err != nil {
				t.Errorf("%s: entry %q: %v", path, e.Title, err)
			}
		}
		if e.Content.Type != "html" {
			t.Errorf("%s: content type %q", path, e.Content.Type)
		}
		checkFragment(t, path, e.Content.Body)
	}
	return &f
}

func rssFeedOf(t *testing.T, s *Site, path string) *rssDoc {
	t.Helper()
	var f rssDoc
	strictDecode(t, path, mustGet(t, s, path), "", rssElements, &f)
	if f.Version != "2.0" {
		t.Errorf("%s: version %q", path, f.Version)
	}
	for _, it := range f.Channel.Items {
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
			t.Errorf("%s: item %q: %v", path, it.Title, err)
		}
		checkFragment(t, path, it.Description)
	}
	return &f
}

// readerSees parses the feed at path with gofeed, the parser many feed
// readers are built on, and checks that it finds exactly one item with the
// title and the link.
func readerSees(t *testing.T, step string, s *Site, path, title, link string) {
	t.Helper()
	f, err := gofeed.NewParser().ParseString(string(mustGet(t, s, path)))
	if err != nil {
		t.Fatalf("%s: gofeed cannot parse %s: %v", step, path, err)
	}
	if len(f.Items) != 1 || f.Items[0].Title != title || f.Items[0].Link != link {
		var got []string
		for _, it := range f.Items {
			got = append(got, it.Title+" <"+it.Link+">")
		}
		t.Errorf("%s: gofeed reads %s as %q, want one item %q <%s>", step, path, got, title, link)
	}
}

// TestFeedsFollowRevisions publishes, updates and cancels a notice and
// reads the Atom and RSS feeds after each step: one entry per notice whose
// Atom id stays while its title, content and updated time change, whose
// RSS guid names the latest revision; the town page lists it as current
// until the cancel.
func TestFeedsFollowRevisions(t *testing.T) {
	src := newSource(t)
	s := mustSite(t, options(src))
	const id = "r5vnx8kq"
	t0 := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

	type step struct {
		name, title, content, guid, updated string
		current                             bool
	}
	steps := []struct {
		do   func()
		want step
	}{
		{func() {
			src.publish(&crier.Announcement{ID: id, Title: "Rathaus geschlossen", Body: "Bitte rufen Sie {{.Vars.phone}} an.",
				Towns: []string{"soest", "lippstadt"}, CreatedAt: t0})
		}, step{"published", "Rathaus geschlossen", "Bitte rufen Sie 02921 103-0 an.", ".1", "2026-11-26T07:00:00Z", true}},
		{func() {
			src.update(id, &crier.Announcement{Title: "Rathaus bis Freitag geschlossen", Body: "Neu: {{.Vars.phone}} oder {{.Vars.office}}.",
				Reason: "Dauer ergänzt"}, t0.Add(time.Hour))
		}, step{"updated", "Aktualisierung: Rathaus bis Freitag geschlossen", "Neu: 02921 103-0 oder Bürgerbüro, Am Vreithof 8.", ".2", "2026-11-26T08:00:00Z", true}},
		{func() { src.cancel(id, "Das Rathaus ist wieder geöffnet.", t0.Add(2*time.Hour)) },
			step{"canceled", "Aufgehoben: Rathaus bis Freitag geschlossen", "Das Rathaus ist wieder geöffnet.", ".3", "2026-11-26T09:00:00Z", false}},
	}
	var atomID string
	for _, st := range steps {
		st.do()
		w := st.want
		f := atomFeedOf(t, s, "/soest/feed.atom")
		if len(f.Entries) != 1 {
			t.Fatalf("%s: %d Atom entries, want 1", w.name, len(f.Entries))
		}
		e := f.Entries[0]
		if atomID == "" {
			atomID = e.ID
		}
		if e.ID != atomID || e.Title != w.title || e.Published != "2026-11-26T07:00:00Z" || e.Updated != w.updated ||
			!strings.Contains(e.Content.Body, w.content) || f.Updated != w.updated {
			t.Errorf("%s: Atom entry id %q title %q published %q updated %q feed updated %q content %q; want id %q title %q updated %q content with %q",
				w.name, e.ID, e.Title, e.Published, e.Updated, f.Updated, e.Content.Body, atomID, w.title, w.updated, w.content)
		}
		if e.Author.Name != "Stadt Soest" || len(e.Links) != 2 || e.Links[0].Href != baseURL+"/soest/"+id ||
			e.Links[1].Type != "application/cap+xml" || e.Links[1].Href != baseURL+"/soest/"+id+".cap.xml" {
			t.Errorf("%s: Atom entry author %q links %+v", w.name, e.Author.Name, e.Links)
		}
		if w.name == "updated" && !strings.Contains(e.Content.Body, "Dauer ergänzt") {
			t.Errorf("updated: the entry does not say why: %q", e.Content.Body)
		}

		r := rssFeedOf(t, s, "/soest/feed.rss")
		if len(r.Channel.Items) != 1 {
			t.Fatalf("%s: %d RSS items, want 1", w.name, len(r.Channel.Items))
		}
		it := r.Channel.Items[0]
		if it.Title != w.title || it.GUID.IsPermaLink != "false" || !strings.HasSuffix(it.GUID.Value, "soest."+id+w.guid) ||
			it.Link != baseURL+"/soest/"+id || !strings.Contains(it.Description, w.content) {
			t.Errorf("%s: RSS item title %q guid %q link %q description %q", w.name, it.Title, it.GUID.Value, it.Link, it.Description)
		}

		page := string(mustGet(t, s, "/soest/"))
		current, _, _ := strings.Cut(page, `id="status"`)
		current, _, _ = strings.Cut(current, `id="frueher"`)
		if strings.Contains(current, `href="`+id+`"`) != w.current {
			t.Errorf("%s: listed among the current notices: %v, want %v", w.name, !w.current, w.current)
		}
		if !strings.Contains(page, `href="`+id+`"`) {
			t.Errorf("%s: the town page does not list the notice at all", w.name)
		}

		readerSees(t, w.name, s, "/soest/feed.atom", w.title, baseURL+"/soest/"+id)
		readerSees(t, w.name, s, "/soest/feed.rss", w.title, baseURL+"/soest/"+id)

		all := atomFeedOf(t, s, "/feed.atom")
		if len(all.Entries) != 2 {
			t.Fatalf("%s: %d entries in the combined feed, want one per town", w.name, len(all.Entries))
		}
		for _, e := range all.Entries {
			if !strings.HasPrefix(e.Title, w.title+" – Stadt ") {
				t.Errorf("%s: combined entry title %q does not name its town", w.name, e.Title)
			}
		}
		if all.Entries[0].ID == all.Entries[1].ID {
			t.Errorf("%s: both towns' entries have the id %s", w.name, all.Entries[0].ID)
		}
		rssFeedOf(t, s, "/feed.rss")
	}
}

// TestFeedOfKreisSoest reads the fixture's feeds: newest change first,
// exercise notices marked, every entry of the town's own and the
// combined feed linking to the town's page and CAP document.
func TestFeedOfKreisSoest(t *testing.T) {
	s := mustSite(t, options(kreisSoestSource(t)))
	f := atomFeedOf(t, s, "/soest/feed.atom")
	var titles []string
	for _, e := range f.Entries {
		titles = append(titles, e.Title)
	}
	want := []string{
		"[ÜBUNG] Trinkwasser abkochen im Ortsteil Ostönnen",
		"Aktualisierung: Bürgerbüro geschlossen wegen IT-Ausfall",
		"Kfz-Zulassungsstelle: Termine entfallen",
		"Aufgehoben: Bürgersprechstunde des Bürgermeisters entfällt",
		"Wertstoffhof am Samstag geschlossen",
	}
	if strings.Join(titles, "\n") != strings.Join(want, "\n") {
		t.Errorf("Soest's feed:\n%s\nwant\n%s", strings.Join(titles, "\n"), strings.Join(want, "\n"))
	}
	if f.Lang != "de" || f.Links[0].Rel != "self" || f.Links[0].Href != baseURL+"/soest/feed.atom" {
		t.Errorf("feed lang %q links %+v", f.Lang, f.Links)
	}
	all := atomFeedOf(t, s, "/feed.atom")
	if n := len(all.Entries); n != 14+2+3 {
		t.Errorf("combined feed has %d entries, want 19 (14 towns, Kfz for 2, 3 more for Soest)", n)
	}
	r := rssFeedOf(t, s, "/feed.rss")
	if len(r.Channel.Items) != len(all.Entries) || r.Channel.Link != baseURL+"/" {
		t.Errorf("combined RSS: %d items, link %q", len(r.Channel.Items), r.Channel.Link)
	}
}
