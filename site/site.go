package site

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // town time zones on machines without zoneinfo

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Defaults of Options.
const (
	DefaultTimeZone = "Europe/Berlin"
	DefaultMaxAge   = time.Minute
	DefaultLimit    = 50
)

// Options configures a Site.
type Options struct {
	// Source provides towns, announcements and status lists. Required.
	Source Source
	// BaseURL is the public address of the site, e.g.
	// "https://krisen.kreis-soest.example" or ".../notfall/". Feeds and CAP
	// documents carry absolute links under it; without one their links are
	// relative to the document. Pages always link relatively.
	BaseURL string
	// Sender is the CAP sender, unique to the operator, e.g.
	// "presse@kreis-soest.example"; default: BaseURL's host name, else
	// "crier". It must not contain spaces, commas, "<" or "&".
	Sender string
	// Title names the site; default: "Notfall-Informationen" in Language.
	Title string
	// ImprintURL and PrivacyURL are absolute http or https addresses of
	// the operator's legal notice and privacy statement, linked from every
	// page. Host them somewhere that stays up when the town hall's own
	// website does not.
	ImprintURL string
	PrivacyURL string
	// Language of the overview page and the combined feeds; default "de".
	// A town's pages and documents are in the town's language.
	Language string
	// Mode is the instance's mode. Outside ModeActual every announcement
	// shows as an exercise or test, whatever its own mode, as the engine
	// sends it to the capture sink; default ModeActual.
	Mode crier.Mode
	// Clock decides which notices are current; default: the system clock.
	Clock crier.Clock
	// Logger receives source failures; default: discard.
	Logger *slog.Logger
	// MaxAge is how long browsers and proxies may reuse a response
	// (Cache-Control max-age); default DefaultMaxAge.
	MaxAge time.Duration
	// Limit is how many announcements per town the pages and feeds show;
	// default DefaultLimit.
	Limit int
	// Subscribe returns the absolute address of a town's public subscribe
	// form (crier serve's /{town}/subscribe under its public URL), or ""
	// when the town has none. The town's page then links to the form:
	// served pages relatively, to "subscribe" beside the page, since the
	// same server answers it; exported pages to the address returned, since
	// the static copy has no form. Nil: no town has one.
	Subscribe func(town string) string
}

// Site renders the emergency website, its feeds and CAP documents, serves
// them (ServeHTTP) and writes them as static files (Export). It is safe for
// concurrent use.
type Site struct {
	src       Source
	base      *url.URL // nil without a BaseURL; Path ends in "/"
	sender    string
	capID     string // identifier prefix
	title     string
	imprint   string
	privacy   string
	lang      string
	mode      crier.Mode
	clock     crier.Clock
	log       *slog.Logger
	maxAge    time.Duration
	limit     int
	subscribe func(town string) string
	zonesMu   sync.Mutex
	zones     map[string]*time.Location
	fallback  *time.Location
}

// New returns a Site for o, or an EINVALID *crier.Error listing every
// problem with the options.
func New(o Options) (*Site, error) {
	var ps []crier.Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, crier.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if o.Source == nil {
		add("source", "is required")
	}
	s := &Site{
		src: o.Source, imprint: o.ImprintURL, privacy: o.PrivacyURL,
		lang:  locale.Match(cmp.Or(o.Language, locale.Default)),
		mode:  cmp.Or(o.Mode, crier.ModeActual),
		clock: o.Clock, log: o.Logger,
		maxAge: cmp.Or(o.MaxAge, DefaultMaxAge), limit: cmp.Or(o.Limit, DefaultLimit),
		zones:     map[string]*time.Location{},
		subscribe: o.Subscribe,
	}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		switch {
		case err != nil:
			add("base_url", "%v", err)
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			add("base_url", "%q is not an absolute http or https address", o.BaseURL)
		case u.RawQuery != "" || u.Fragment != "":
			add("base_url", "%q must not have a query or a fragment", o.BaseURL)
		default:
			if !strings.HasSuffix(u.Path, "/") {
				u.Path += "/"
				u.RawPath = ""
			}
			s.base = u
		}
	}
	for _, l := range []struct{ field, v string }{{"imprint_url", o.ImprintURL}, {"privacy_url", o.PrivacyURL}} {
		if l.v == "" {
			continue
		}
		if u, err := url.Parse(l.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(l.field, "%q is not an absolute http or https address", l.v)
		}
	}
	if !s.mode.Valid() {
		add("mode", "%q is not one of actual, exercise, test", o.Mode)
	}
	s.sender = o.Sender
	if s.sender == "" {
		s.sender = "crier"
		if s.base != nil {
			s.sender = s.base.Hostname()
		}
	}
	if strings.ContainsAny(s.sender, " \t\r\n,<&") {
		add("sender", "%q must not contain white space, commas, \"<\" or \"&\"", s.sender)
	}
	s.capID = identifierPrefix(s.sender)
	s.title = cmp.Or(strings.TrimSpace(o.Title), locale.T(s.lang, "site.title"))
	if strings.ContainsAny(s.title, "\r\n") {
		add("title", "must be a single line")
	}
	if s.limit < 0 {
		add("limit", "must not be negative")
	}
	if len(ps) > 0 {
		return nil, &crier.Error{Code: crier.EINVALID, Message: "site options are invalid", Details: ps}
	}
	if s.clock == nil {
		s.clock = crier.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.fallback, err = time.LoadLocation(DefaultTimeZone); err != nil {
		return nil, fmt.Errorf("load %s: %w", DefaultTimeZone, err)
	}
	return s, nil
}

// identifierPrefix returns the part of CAP identifiers that names the
// sender: the domain of an email address, else the sender itself.
func identifierPrefix(sender string) string {
	if _, domain, ok := strings.Cut(sender, "@"); ok && domain != "" {
		return domain
	}
	return sender
}

// zone returns a town's time zone; an empty or unknown name gives
// DefaultTimeZone, since a page must show even when the configuration has
// a typo that the renderer would have refused.
func (s *Site) zone(name string) *time.Location {
	if name == "" {
		return s.fallback
	}
	s.zonesMu.Lock()
	defer s.zonesMu.Unlock()
	if l, ok := s.zones[name]; ok {
		return l
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = s.fallback
	}
	s.zones[name] = l
	return l
}

// townLang returns the language of a town's pages.
func townLang(t *crier.Town, fallback string) string {
	if t.Language == "" {
		return fallback
	}
	return locale.Match(t.Language)
}

// effectiveMode returns the mode an announcement shows in: its own, unless
// the instance is not actual.
func (s *Site) effectiveMode(a *crier.Announcement) crier.Mode {
	if a.Mode == crier.ModeTest || s.mode == crier.ModeActual {
		return cmp.Or(a.Mode, crier.ModeActual)
	}
	return s.mode
}

// townNotices is one town with its notices, newest first.
type townNotices struct {
	town    *crier.Town
	notices []*Notice
}

// towns returns the site's towns.
func (s *Site) towns(ctx context.Context) ([]*crier.Town, error) {
	ts, err := s.src.Towns(ctx)
	if err != nil {
		return nil, fmt.Errorf("list towns: %w", err)
	}
	return slices.DeleteFunc(slices.Clone(ts), func(t *crier.Town) bool {
		if t == nil || !validSegment(t.ID) {
			s.log.Warn("site leaves out a town whose id cannot be a path", "town", t)
			return true
		}
		return false
	}), nil
}

// town returns the town id, or a not_found error.
func (s *Site) town(ctx context.Context, id string) (*crier.Town, error) {
	ts, err := s.towns(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, crier.Errorf(crier.ENOTFOUND, "town %s not found", id)
}

// notices returns a town's notices, newest first, without ones that have
// no revisions.
func (s *Site) notices(ctx context.Context, town string) ([]*Notice, error) {
	ns, err := s.src.Notices(ctx, town, s.limit)
	if err != nil && crier.ErrorCode(err) != crier.ENOTFOUND {
		return nil, fmt.Errorf("list notices of %s: %w", town, err)
	}
	ns = slices.DeleteFunc(slices.Clone(ns), func(n *Notice) bool {
		if !n.valid() {
			return true
		}
		if !validSegment(n.ID()) {
			s.log.Warn("site leaves out an announcement whose id cannot be a path", "town", town, "announcement", n.ID())
			return true
		}
		return false
	})
	sortNotices(ns)
	if s.limit > 0 && len(ns) > s.limit {
		ns = ns[:s.limit]
	}
	return ns, nil
}

// all returns every town with its notices.
func (s *Site) all(ctx context.Context) ([]townNotices, error) {
	ts, err := s.towns(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]townNotices, 0, len(ts))
	for _, t := range ts {
		ns, err := s.notices(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, townNotices{town: t, notices: ns})
	}
	return out, nil
}

// notice returns one notice of a town, or a not_found error.
func (s *Site) notice(ctx context.Context, town, id string) (*Notice, error) {
	n, err := s.src.Notice(ctx, town, id)
	if err != nil {
		return nil, err
	}
	if !n.valid() || !validSegment(n.ID()) {
		return nil, crier.Errorf(crier.ENOTFOUND, "announcement %s not found for %s", id, town)
	}
	return n, nil
}

// status returns a town's status list.
func (s *Site) status(ctx context.Context, town string) ([]ServiceStatus, error) {
	st, err := s.src.Status(ctx, town)
	if err != nil && crier.ErrorCode(err) != crier.ENOTFOUND {
		return nil, fmt.Errorf("status of %s: %w", town, err)
	}
	return st, nil
}

// sortNotices orders notices by their latest revision, newest first, then
// by id so that the order is stable.
func sortNotices(ns []*Notice) {
	slices.SortStableFunc(ns, func(a, b *Notice) int {
		if c := b.Latest().Announcement.CreatedAt.Compare(a.Latest().Announcement.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID(), b.ID())
	})
}

// errNotFound reports whether err means that a page does not exist.
func errNotFound(err error) bool {
	var e *crier.Error
	return errors.As(err, &e) && e.Code == crier.ENOTFOUND
}
