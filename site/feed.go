package site

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Atom 1.0 (RFC 4287). An announcement is one entry, whose id stays the
// same across revisions: an update or a cancel changes the entry's title,
// content and updated time, as Atom intends.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel   string `xml:"rel,attr,omitempty"`
	Type  string `xml:"type,attr,omitempty"`
	Href  string `xml:"href,attr"`
	Title string `xml:"title,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr,omitempty"`
	Label  string `xml:"label,attr,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title     string         `xml:"title"`
	ID        string         `xml:"id"`
	Published string         `xml:"published"`
	Updated   string         `xml:"updated"`
	Links     []atomLink     `xml:"link"`
	Author    atomPerson     `xml:"author"`
	Category  []atomCategory `xml:"category"`
	Content   atomText       `xml:"content"`
}

// RSS 2.0. An item's guid names the latest revision, so that readers that
// know nothing of updates show an update or a cancel as a new item.
type rssFeed struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate,omitempty"`
	TTL           int       `xml:"ttl"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	Description string   `xml:"description"`
	Category    []string `xml:"category"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// feedItem is one notice of one town in a feed.
type feedItem struct {
	town *crier.Town
	n    *Notice
}

// feedItems returns the notices of one town, or of every town for "",
// newest change first, at most s.limit.
func (s *Site) feedItems(ctx context.Context, town string) (*crier.Town, []feedItem, error) {
	var items []feedItem
	if town != "" {
		t, err := s.town(ctx, town)
		if err != nil {
			return nil, nil, err
		}
		ns, err := s.notices(ctx, town)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range ns {
			items = append(items, feedItem{t, n})
		}
		return t, items, nil
	}
	all, err := s.all(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, tn := range all {
		for _, n := range tn.notices {
			items = append(items, feedItem{tn.town, n})
		}
	}
	slices.SortStableFunc(items, func(a, b feedItem) int {
		return b.n.Latest().Announcement.CreatedAt.Compare(a.n.Latest().Announcement.CreatedAt)
	})
	if s.limit > 0 && len(items) > s.limit {
		items = items[:s.limit]
	}
	return nil, items, nil
}

// feedTitle returns a feed's title and language.
func (s *Site) feedTitle(t *crier.Town) (title, lang string) {
	if t == nil {
		return locale.T(s.lang, "site.feed.all", s.title), s.lang
	}
	return t.Name + " – " + s.title, townLang(t, s.lang)
}

// itemTitle is an entry's title: the headline, and in the combined feed
// the town's name after it.
func (s *Site) itemTitle(it feedItem, combined bool) string {
	lang := townLang(it.town, s.lang)
	h := s.headline(lang, it.n.Latest().Announcement)
	if combined {
		h += " – " + it.town.Name
	}
	return h
}

// itemHTML is an entry's content: the exercise banner, the reason of an
// update, and the town's text.
func (s *Site) itemHTML(it feedItem) (html, text string) {
	lang := townLang(it.town, s.lang)
	last := it.n.Latest()
	r := revision(lang, s.zone(it.town.TimeZone), last, last.Announcement.Title, true)
	var b strings.Builder
	if banner := modeBanner(lang, s.effectiveMode(last.Announcement)); banner != "" {
		b.WriteString("<p><strong>" + escapeHTML(banner) + "</strong></p>\n")
	}
	if r.Reason != "" {
		b.WriteString("<p><strong>" + escapeHTML(locale.T(lang, "site.reason")) + ":</strong> " + escapeHTML(r.Reason) + "</p>\n")
	}
	b.WriteString(string(r.Body))
	return b.String(), htmlText(r.Body)
}

// atom renders the Atom feed of a town, or of every town for "".
func (s *Site) atom(ctx context.Context, p paths, town string) (*document, error) {
	t, items, err := s.feedItems(ctx, town)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	self := p.feed(town, "atom")
	title, lang := s.feedTitle(t)
	f := &atomFeed{Lang: lang, Title: title, ID: s.uuid(town)}
	page := p.index()
	if t != nil {
		page = p.town(town)
	}
	f.Links = []atomLink{
		{Rel: "self", Type: "application/atom+xml", Href: s.abs(self, self)},
		{Rel: "alternate", Type: "text/html", Href: s.abs(self, page)},
	}
	f.Author.Name = s.title
	if t != nil {
		f.Author.Name = t.Name
	}
	var modified time.Time
	for _, it := range items {
		modified = later(modified, it.n.modified(now))
		first, last := it.n.First().Announcement, it.n.Latest().Announcement
		category := vocabulary(last.Category, crier.Categories, "Other")
		content, _ := s.itemHTML(it)
		f.Entries = append(f.Entries, atomEntry{
			Title:     s.itemTitle(it, t == nil),
			ID:        s.uuid(it.town.ID, it.n.ID()),
			Published: first.CreatedAt.UTC().Format(time.RFC3339),
			Updated:   last.CreatedAt.UTC().Format(time.RFC3339),
			Links: []atomLink{
				{Rel: "alternate", Type: "text/html", Href: s.abs(self, p.notice(it.town.ID, it.n.ID()))},
				{Rel: "alternate", Type: "application/cap+xml", Href: s.abs(self, p.capXML(it.town.ID, it.n.ID())), Title: "CAP 1.2"},
			},
			Author: atomPerson{Name: it.town.Name},
			Category: []atomCategory{{
				Term: category, Scheme: CAPNamespace + "#category",
				Label: locale.T(townLang(it.town, s.lang), "site.cap.event."+category),
			}},
			Content: atomText{Type: "html", Body: content},
		})
	}
	f.Updated = feedUpdated(items)
	return marshalFeed(f, "application/atom+xml; charset=utf-8", modified)
}

// feedUpdated is the newest revision's time; a feed without entries says
// it never changed (the Unix epoch), so that it stays the same document.
func feedUpdated(items []feedItem) string {
	var t time.Time
	for _, it := range items {
		t = later(t, it.n.Latest().Announcement.CreatedAt)
	}
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(time.RFC3339)
}

// rss renders the RSS feed of a town, or of every town for "".
func (s *Site) rss(ctx context.Context, p paths, town string) (*document, error) {
	t, items, err := s.feedItems(ctx, town)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	self := p.feed(town, "rss")
	title, lang := s.feedTitle(t)
	page := p.index()
	if t != nil {
		page = p.town(town)
	}
	c := rssChannel{
		Title: title, Link: s.abs(self, page), Description: title, Language: lang,
		TTL: max(1, int(s.maxAge/time.Minute)),
	}
	var modified, newest time.Time
	for _, it := range items {
		modified = later(modified, it.n.modified(now))
		last := it.n.Latest().Announcement
		newest = later(newest, last.CreatedAt)
		content, _ := s.itemHTML(it)
		c.Items = append(c.Items, rssItem{
			Title:       s.itemTitle(it, t == nil),
			Link:        s.abs(self, p.notice(it.town.ID, it.n.ID())),
			Description: content,
			Category:    []string{vocabulary(last.Category, crier.Categories, "Other")},
			GUID:        rssGUID{IsPermaLink: "false", Value: s.Identifier(it.town.ID, it.n.ID(), last.Revision)},
			PubDate:     last.CreatedAt.In(s.zone(it.town.TimeZone)).Format(time.RFC1123Z),
		})
	}
	if !newest.IsZero() {
		c.LastBuildDate = newest.In(s.fallback).Format(time.RFC1123Z)
	}
	return marshalFeed(&rssFeed{Version: "2.0", Channel: c}, "application/rss+xml; charset=utf-8", modified)
}

func marshalFeed(v any, contentType string, modified time.Time) (*document, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal feed: %w", err)
	}
	out := append([]byte(xml.Header), b...)
	out = append(out, '\n')
	return &document{body: out, contentType: contentType, modified: modified}, nil
}

// uuid returns a stable urn:uuid for the sender and names: a feed's or an
// entry's Atom id, which must not change when the site moves.
func (s *Site) uuid(names ...string) string {
	h := sha1.Sum([]byte("crier:" + s.sender + "/" + strings.Join(names, "/")))
	h[6] = h[6]&0x0f | 0x50 // version 5: name-based, SHA-1
	h[8] = h[8]&0x3f | 0x80 // RFC 4122 variant
	x := hex.EncodeToString(h[:16])
	return "urn:uuid:" + x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }
