package site

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

//go:embed html/*.tmpl
var htmlFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"t": func(lang, key string, args ...any) string { return locale.T(lang, key, args...) },
}).ParseFS(htmlFiles, "html/*.tmpl"))

// document is one rendered page, feed or CAP document.
type document struct {
	body        []byte
	contentType string
	// modified is when what the document shows last changed; zero when
	// unknown.
	modified time.Time
}

// Limits that keep every page well under 50 KB however much is published.
const (
	// bodyBudget is how many bytes of notices' text a town page shows.
	bodyBudget = 20 << 10
	// recentShown is how many earlier notices a town page lists.
	recentShown = 20
	// indexCurrent and indexRecent bound the overview's lists.
	indexCurrent = 20
	indexRecent  = 10
	// townLinks is how many towns an overview entry links to; an
	// announcement for more names their number, and each town's page
	// has it.
	townLinks = 12
)

// pageData is what every page template sees.
type pageData struct {
	Lang    string
	Title   string // the document's title
	Site    string // the site's name
	Home    string // link to the overview
	Banner  string // the instance's exercise or test banner
	Style   template.CSS
	CSP     string
	Feeds   []feedLink
	Imprint string
	Privacy string
	AsOf    *stamp

	Index  *indexView
	Town   *townView
	Notice *noticeView
	Error  *errorView
}

type feedLink struct {
	Type, Title, URL string
}

// stamp is a time with the text around it: Before<time>Text</time>After.
type stamp struct {
	Before, After string
	ISO           string
	Text          string
}

type indexView struct {
	Current []*rollup
	Recent  []*rollup
	Towns   []townLink
}

// rollup is one announcement on the overview with the towns it concerns.
type rollup struct {
	id     string
	latest time.Time
	Title  string
	Banner string
	Meta   []*stamp
	Towns  []townLink
	// Many replaces Towns for an announcement of many towns: "14 Orte".
	Many string
}

type townLink struct {
	Name, URL string
	Current   string // "2 aktuelle Meldungen", or ""
}

type townView struct {
	Name string
	// Subscribe links to the town's subscribe form; "" when it has none.
	// External marks an export's absolute link to the server.
	Subscribe         string
	SubscribeExternal bool
	Current           []*summary
	Recent            []*summary
	Status            []statusView
	Contacts          []contact
}

// summary is a notice in a town's lists.
type summary struct {
	Title  string
	URL    string
	Banner string
	Meta   []*stamp
	Body   template.HTML // current notices only
}

type statusView struct {
	Service, Text string
	Word, Class   string
	Updated       *stamp
}

type noticeView struct {
	TownName, TownURL string
	Title             string
	Banner            string
	State             *stamp // canceled or expired; nil while current
	Meta              []*stamp
	Revisions         []*revisionView // newest first
	CAPXML, CAPJSON   string
}

type revisionView struct {
	Latest  bool
	Heading string
	Meta    []*stamp
	Title   string // when it differs from the notice's
	Reason  string
	Body    template.HTML
}

type errorView struct {
	Heading, Text string
}

// newStamp formats t in loc with the locale text key, whose one %s stands
// for the time; key "" gives the time alone.
func newStamp(lang string, loc *time.Location, key string, t time.Time) *stamp {
	t = t.In(loc)
	st := &stamp{ISO: t.Format(time.RFC3339), Text: locale.DateTime(lang, t)}
	if key != "" {
		const mark = "\x00"
		st.Before, st.After, _ = strings.Cut(locale.T(lang, key, mark), mark)
	}
	return st
}

// page returns the data common to every page at path.
func (s *Site) page(p paths, lang, path, title string) *pageData {
	return &pageData{
		Lang: lang, Title: title, Site: s.title, Home: rel(path, p.index()), Style: styleCSS, CSP: metaContentSecurityPolicy,
		Banner: modeBanner(lang, s.mode), Imprint: s.imprint, Privacy: s.privacy,
	}
}

func modeBanner(lang string, m crier.Mode) string {
	switch m {
	case crier.ModeExercise:
		return locale.T(lang, "mode.exercise.banner")
	case crier.ModeTest:
		return locale.T(lang, "mode.test.banner")
	}
	return ""
}

func modeTag(lang string, m crier.Mode) string {
	switch m {
	case crier.ModeExercise:
		return locale.T(lang, "mode.exercise.tag")
	case crier.ModeTest:
		return locale.T(lang, "mode.test.tag")
	}
	return ""
}

// noticeBanner is a notice's own banner, unless the whole site shows one.
func (s *Site) noticeBanner(lang string, a *crier.Announcement) string {
	if s.mode != crier.ModeActual {
		return ""
	}
	return modeBanner(lang, s.effectiveMode(a))
}

// headline returns a revision's title as messages show it: with the mode
// tag and the prefix of an update or a cancel.
func (s *Site) headline(lang string, a *crier.Announcement) string {
	t := a.Title
	switch a.Event {
	case crier.EventUpdated:
		t = locale.T(lang, "revision.updated.prefix") + t
	case crier.EventCanceled:
		t = locale.T(lang, "revision.canceled.prefix") + t
	}
	if tag := modeTag(lang, s.effectiveMode(a)); tag != "" {
		t = "[" + tag + "] " + t
	}
	return t
}

// lifecycle returns a notice's stamps: published, updated, valid until,
// and for a past notice when it was canceled or expired.
func (s *Site) lifecycle(lang string, loc *time.Location, n *Notice, now time.Time) []*stamp {
	first, last := n.First().Announcement, n.Latest().Announcement
	var out []*stamp
	switch {
	case n.Canceled():
		out = append(out, newStamp(lang, loc, "site.canceled", last.CreatedAt))
	case n.Expired(now):
		out = append(out, newStamp(lang, loc, "site.expired", last.Expires))
	}
	out = append(out, newStamp(lang, loc, "site.published", first.CreatedAt))
	if len(n.Revisions) > 1 && !n.Canceled() {
		out = append(out, newStamp(lang, loc, "site.updated", last.CreatedAt))
	}
	if n.Current(now) && !last.Expires.IsZero() {
		st := newStamp(lang, loc, "", last.Expires)
		st.Before = locale.T(lang, "notice.valid_until") + ": "
		out = append(out, st)
	}
	return out
}

// execute renders the page template name.
func execute(name string, d *pageData) ([]byte, error) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func htmlDoc(b []byte, modified time.Time) *document {
	return &document{body: b, contentType: "text/html; charset=utf-8", modified: modified}
}

// indexPage renders the overview: current notices of every town, the
// towns, earlier notices.
func (s *Site) indexPage(ctx context.Context, p paths) (*document, error) {
	all, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	path := p.index()
	d := s.page(p, s.lang, path, s.title)
	d.Feeds = s.feedLinks(s.lang, path, p, "")
	v := &indexView{}
	byID := map[string]*rollup{}
	var modified time.Time
	for _, tn := range all {
		lang, loc := townLang(tn.town, s.lang), s.zone(tn.town.TimeZone)
		current := 0
		for _, n := range tn.notices {
			modified = later(modified, n.modified(now))
			if n.Current(now) {
				current++
			}
			link := townLink{Name: tn.town.Name, URL: rel(path, p.notice(tn.town.ID, n.ID()))}
			if r := byID[n.ID()]; r != nil {
				r.Towns = append(r.Towns, link)
				continue
			}
			last := n.Latest().Announcement
			r := &rollup{
				id: n.ID(), latest: last.CreatedAt, Title: last.Title, Banner: s.noticeBanner(lang, last),
				Meta: s.lifecycle(s.lang, loc, n, now), Towns: []townLink{link},
			}
			byID[n.ID()] = r
			if n.Current(now) {
				v.Current = append(v.Current, r)
			} else {
				v.Recent = append(v.Recent, r)
			}
		}
		tl := townLink{Name: tn.town.Name, URL: rel(path, p.town(tn.town.ID))}
		if current > 0 {
			tl.Current = locale.N(s.lang, "site.current.count", current)
		}
		v.Towns = append(v.Towns, tl)
	}
	sortRollups(v.Current)
	sortRollups(v.Recent)
	v.Current = v.Current[:min(len(v.Current), indexCurrent)]
	v.Recent = v.Recent[:min(len(v.Recent), indexRecent)]
	for _, r := range append(slices.Clip(v.Current), v.Recent...) {
		if len(r.Towns) > townLinks {
			r.Many = locale.N(s.lang, "site.towns.count", len(r.Towns))
			r.Towns = nil
		}
	}
	d.Index = v
	d.AsOf = asOf(s.lang, s.fallback, modified)
	b, err := execute("index", d)
	if err != nil {
		return nil, err
	}
	return htmlDoc(b, modified), nil
}

// sortRollups orders announcements by their latest change, newest first.
func sortRollups(rs []*rollup) {
	slices.SortStableFunc(rs, func(a, b *rollup) int {
		if c := b.latest.Compare(a.latest); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// asOf returns the footer's "Stand: ..." for the time the page's content
// last changed.
func asOf(lang string, loc *time.Location, t time.Time) *stamp {
	if t.IsZero() {
		return nil
	}
	return newStamp(lang, loc, "site.as_of", t)
}

// feedLinks returns the feeds of a town, or the combined ones for "".
func (s *Site) feedLinks(lang, from string, p paths, town string) []feedLink {
	return []feedLink{
		{Type: "application/atom+xml", Title: locale.T(lang, "site.feed.atom"), URL: rel(from, p.feed(town, "atom"))},
		{Type: "application/rss+xml", Title: locale.T(lang, "site.feed.rss"), URL: rel(from, p.feed(town, "rss"))},
	}
}

// townPage renders a town's page: current notices with their text, the
// service status, contacts, earlier notices, feeds.
func (s *Site) townPage(ctx context.Context, p paths, id string) (*document, error) {
	t, err := s.town(ctx, id)
	if err != nil {
		return nil, err
	}
	ns, err := s.notices(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.status(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	lang, loc := townLang(t, s.lang), s.zone(t.TimeZone)
	path := p.town(id)
	d := s.page(p, lang, path, t.Name+" – "+s.title)
	d.Feeds = s.feedLinks(lang, path, p, id)
	v := &townView{Name: t.Name, Contacts: contacts(lang, t.Vars), Subscribe: s.subscribeLink(p, path, id)}
	v.SubscribeExternal = p.files && v.Subscribe != ""
	var modified time.Time
	budget := bodyBudget
	for _, n := range ns {
		modified = later(modified, n.modified(now))
		last := n.Latest()
		sm := &summary{
			Title: last.Announcement.Title, URL: rel(path, p.notice(id, n.ID())),
			Banner: s.noticeBanner(lang, last.Announcement), Meta: s.lifecycle(lang, loc, n, now),
		}
		if n.Current(now) {
			// The newest notices show their text; once the page is heavy
			// enough, older ones show their title and a link.
			if b, _ := last.Body.render(); len(b) <= budget {
				sm.Body, budget = b, budget-len(b)
			} else {
				budget = 0
			}
			v.Current = append(v.Current, sm)
		} else if len(v.Recent) < recentShown {
			v.Recent = append(v.Recent, sm)
		}
	}
	for _, x := range st {
		sv := statusView{Service: x.Service, Text: x.Text, Class: string(x.Availability)}
		switch x.Availability {
		case Available, Limited, Unavailable:
			sv.Word = locale.T(lang, "site.status."+string(x.Availability))
		default:
			sv.Class = ""
		}
		if !x.Updated.IsZero() {
			sv.Updated = newStamp(lang, loc, "site.as_of", x.Updated)
			modified = later(modified, x.Updated)
		}
		v.Status = append(v.Status, sv)
	}
	d.Town = v
	d.AsOf = asOf(lang, loc, modified)
	b, err := execute("town", d)
	if err != nil {
		return nil, err
	}
	return htmlDoc(b, modified), nil
}

// subscribeLink returns the link from the town page at path to the town's
// subscribe form: relative when served, the form's absolute address in an
// export, "" when the town has no form.
func (s *Site) subscribeLink(p paths, path, town string) string {
	if s.subscribe == nil {
		return ""
	}
	u := s.subscribe(town)
	if u == "" || p.files {
		return u
	}
	return rel(path, p.subscribe(town))
}

// noticePage renders one notice for a town with every revision, newest
// first.
func (s *Site) noticePage(ctx context.Context, p paths, town, id string) (*document, error) {
	t, err := s.town(ctx, town)
	if err != nil {
		return nil, err
	}
	n, err := s.notice(ctx, town, id)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	lang, loc := townLang(t, s.lang), s.zone(t.TimeZone)
	path := p.notice(town, id)
	last := n.Latest().Announcement
	d := s.page(p, lang, path, last.Title+" – "+t.Name)
	d.Feeds = append(s.feedLinks(lang, path, p, town),
		feedLink{Type: "application/cap+xml", Title: locale.T(lang, "site.cap.xml"), URL: rel(path, p.capXML(town, id))})
	v := &noticeView{
		TownName: t.Name, TownURL: rel(path, p.town(town)), Title: last.Title,
		Banner: s.noticeBanner(lang, last),
		CAPXML: rel(path, p.capXML(town, id)), CAPJSON: rel(path, p.capJSON(town, id)),
	}
	meta := s.lifecycle(lang, loc, n, now)
	if !n.Current(now) {
		v.State, meta = meta[0], meta[1:]
	}
	v.Meta = meta
	for i := len(n.Revisions) - 1; i >= 0; i-- {
		v.Revisions = append(v.Revisions, revision(lang, loc, n.Revisions[i], last.Title, i == len(n.Revisions)-1))
	}
	d.Notice = v
	d.AsOf = asOf(lang, loc, n.modified(now))
	b, err := execute("notice", d)
	if err != nil {
		return nil, err
	}
	return htmlDoc(b, n.modified(now)), nil
}

// revision returns the view of one revision on the notice page.
func revision(lang string, loc *time.Location, r *Revision, title string, latest bool) *revisionView {
	a := r.Announcement
	event := strings.TrimPrefix(a.Event, "announcement.")
	if event == "" {
		event = "published"
	}
	v := &revisionView{
		Latest:  latest,
		Heading: locale.T(lang, "site.revision", a.Revision) + " – " + locale.T(lang, "site.event."+event),
		Meta:    []*stamp{newStamp(lang, loc, "", a.CreatedAt)},
	}
	if a.Title != title {
		v.Title = a.Title
	}
	v.Body, _ = r.Body.render()
	switch {
	case a.Event == crier.EventCanceled && v.Body == "":
		// The templates render a cancel's reason as its body; a source
		// without one still shows why.
		v.Body = textHTML(cmp.Or(strings.TrimSpace(a.Reason), locale.T(lang, "revision.canceled.body")))
	case a.Event != crier.EventCanceled:
		v.Reason = strings.TrimSpace(a.Reason)
	}
	return v
}

// errorPage renders the page for a status code at path.
func (s *Site) errorPage(path string, code int) []byte {
	key := "site.error"
	if code == 404 {
		key = "site.not_found"
	}
	d := s.page(paths{}, s.lang, path, locale.T(s.lang, key)+" – "+s.title)
	d.Error = &errorView{Heading: locale.T(s.lang, key), Text: locale.T(s.lang, key+".text")}
	b, err := execute("error", d)
	if err != nil {
		return []byte(strconv.Itoa(code))
	}
	return b
}
