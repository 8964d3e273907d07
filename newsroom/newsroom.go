package newsroom

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/access"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/schedule"
)

// Prefix is the path under which the newsroom is served.
const Prefix = "/admin/"

// Default session limits: a crisis-room shift without signing in again,
// and a borrowed laptop left alone for an hour signs out.
const (
	DefaultIdle     = time.Hour
	DefaultAbsolute = 12 * time.Hour
)

// contentSecurityPolicy allows nothing but the newsroom's own stylesheet,
// script and forms, and no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Login checks a person's name and password and returns who they are: an
// unauthorized error that does not say whether the name exists, or a
// too_many_requests error while the account or the address is locked.
type Login interface {
	Login(ctx context.Context, name, password, addr string) (*crier.Principal, error)
}

// Options configures a Newsroom.
type Options struct {
	// Engine previews and publishes announcements. Required.
	Engine *crier.Engine
	// Accounts keeps the users and their tokens. Required.
	Accounts crier.AccountStore
	// Sessions keeps the sessions. Required.
	Sessions crier.SessionStore
	// Audit, when set, keeps failed sign-ins and serves the audit trail's
	// page; sign-ins and sign-outs are recorded by Sessions.
	Audit crier.AuditStore
	// SSO, when set, offers the sign-in through the identity provider at
	// /admin/oidc/start, back at access.CallbackPath.
	SSO SingleSignOn
	// Login checks passwords (access.Accounts). Required.
	Login Login
	// Store defaults to Engine.Store.
	Store crier.AnnouncementStore
	// Schedules, when set, publishes later and lists the schedules.
	Schedules *schedule.Scheduler
	// Subscribers keeps the towns' email lists.
	Subscribers crier.SubscriberStore
	// Drafts keeps the compose form's drafts; without it, drafts cannot
	// be saved.
	Drafts crier.DraftStore
	// Captures keeps what exercise mode would have sent.
	Captures crier.CaptureStore
	// Statuses keeps the towns' service status lists; DefaultStatus holds
	// each town's configured list, shown while none is stored.
	Statuses      crier.ServiceStatusStore
	DefaultStatus map[string][]crier.ServiceStatus
	// Endpoints, when set, reports the health of every channel endpoint;
	// ResetEndpoint clears what keeps one from taking sends.
	Endpoints     func() []netpath.EndpointHealth
	ResetEndpoint func(channel, endpoint string) error
	// Limits end sessions; DefaultIdle and DefaultAbsolute where zero.
	Limits crier.SessionLimits
	// PublicURL is the address people reach crier at; when it is https,
	// the session cookie is Secure, and its origin is trusted for forms
	// besides the request's own host, for a reverse proxy that passes on
	// another Host. Engine.PublicURL when empty.
	PublicURL string
	// Watch bounds the live progress of announcements.
	Watch WatchLimits
	// Clock defaults to the system clock.
	Clock crier.Clock
	// Logger defaults to discarding everything.
	Logger *slog.Logger
}

// Newsroom is the web interface. It is an http.Handler for Prefix.
type Newsroom struct {
	engine   *crier.Engine
	store    crier.AnnouncementStore
	sched    *schedule.Scheduler
	subs     crier.SubscriberStore
	captures crier.CaptureStore
	drafts   crier.DraftStore
	statuses crier.ServiceStatusStore
	defaults map[string][]crier.ServiceStatus
	health   func() []netpath.EndpointHealth
	reset    func(channel, endpoint string) error
	accounts crier.AccountStore
	sessions crier.SessionStore
	audit    crier.AuditStore
	login    Login
	sso      SingleSignOn
	limits   crier.SessionLimits
	secure   bool
	clock    crier.Clock
	log      *slog.Logger
	hub      *hub

	pages   map[string]*template.Template
	assets  map[string]asset
	handler http.Handler
}

// New returns a Newsroom for o; it fails when a required option is
// missing.
func New(o Options) (*Newsroom, error) {
	var missing []string
	for name, ok := range map[string]bool{
		"engine": o.Engine != nil, "accounts": o.Accounts != nil, "sessions": o.Sessions != nil, "login": o.Login != nil,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("new newsroom: missing %s", strings.Join(missing, ", "))
	}
	n := &Newsroom{
		engine:   o.Engine,
		store:    cmp.Or[crier.AnnouncementStore](o.Store, o.Engine.Store),
		sched:    o.Schedules,
		subs:     o.Subscribers,
		captures: o.Captures,
		drafts:   o.Drafts,
		statuses: o.Statuses,
		defaults: o.DefaultStatus,
		health:   o.Endpoints,
		reset:    o.ResetEndpoint,
		accounts: o.Accounts,
		sessions: o.Sessions,
		audit:    o.Audit,
		login:    o.Login,
		sso:      o.SSO,
		limits: crier.SessionLimits{
			Idle:     cmp.Or(o.Limits.Idle, DefaultIdle),
			Absolute: cmp.Or(o.Limits.Absolute, DefaultAbsolute),
		},
		clock: o.Clock,
		log:   o.Logger,
	}
	if n.clock == nil {
		n.clock = crier.SystemClock{}
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	public := cmp.Or(o.PublicURL, o.Engine.PublicURL)
	u, _ := url.Parse(public)
	n.secure = u != nil && u.Scheme == "https"
	n.hub = newHub(n.store, n.log, o.Watch)
	var err error
	if n.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if n.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	n.handler = n.routes(u)
	return n, nil
}

// ServeHTTP serves the newsroom's pages and assets.
func (n *Newsroom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	n.handler.ServeHTTP(w, r)
}

// routes returns the newsroom's handler: every route, behind the
// protection against cross-origin form posts.
func (n *Newsroom) routes(public *url.URL) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/assets/{name}", n.asset)
	mux.HandleFunc("GET /admin/login", n.loginPage)
	mux.HandleFunc("POST /admin/login", n.loginForm)
	if n.sso != nil {
		mux.HandleFunc("GET /admin/oidc/start", n.ssoStart)
		mux.HandleFunc("GET "+access.CallbackPath, n.ssoCallback)
	}
	mux.Handle("POST /admin/logout", n.signedIn(n.logout))
	mux.Handle("GET /admin/{$}", n.signedIn(n.home))
	n.composeRoutes(mux)
	n.watchRoutes(mux)
	n.operateRoutes(mux)
	n.approvalRoutes(mux)
	n.auditRoutes(mux)
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	mux.HandleFunc("/admin/", n.notFound)

	c := http.NewCrossOriginProtection()
	if public != nil && public.Scheme != "" && public.Host != "" {
		if err := c.AddTrustedOrigin(public.Scheme + "://" + public.Host); err != nil {
			n.log.Warn("newsroom: public URL is no origin to trust for forms", "err", err)
		}
	}
	c.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.log.Info("newsroom: cross-origin request refused", "path", r.URL.Path)
		n.errorPage(w, r, nil, http.StatusForbidden, "error.crossorigin")
	}))
	return c.Handler(mux)
}

// client returns the address of r's client, for the sign-in limits, the
// sessions and the audit trail: what the server found behind its trusted
// proxies (crier.ClientAddressFrom), or the peer's address.
func client(r *http.Request) string {
	if a := crier.ClientAddressFrom(r.Context()); a != "" {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// language is the language of the pages for r: the first language of
// Accept-Language that the catalogue has, German otherwise.
func language(r *http.Request) string { return locale.Accept(r.Header.Get("Accept-Language")) }

//go:embed html/*.tmpl
var htmlFiles embed.FS

// page is what every page template sees: the layout's data and the page's
// own in Data.
type page struct {
	Lang  string
	Title string
	// User is who is signed in; nil on the sign-in page.
	User *crier.Principal
	// CSRF is the token every form posts back.
	CSRF string
	// Nav names the active entry of the navigation.
	Nav  string
	Data any
}

// Can reports whether the signed-in person's role allows action at all,
// in some town: for what the navigation and the pages offer. Every
// request is still checked with its towns.
func (p *page) Can(action string) bool {
	return p.User != nil && crier.Authorize(p.User, crier.Action(action), nil) == nil
}

// T returns the text for key in the page's language.
func (p *page) T(key string, args ...any) string { return locale.T(p.Lang, key, args...) }

// parsePages parses the layout and the parts (html/part_*.tmpl, templates
// several pages use) with each page of html/.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.tmpl").ParseFS(htmlFiles, "html/layout.tmpl", "html/part_*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("newsroom layout: %w", err)
	}
	names, err := fs.Glob(htmlFiles, "html/*.tmpl")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template)
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "html/"), ".tmpl")
		if base == "layout" || strings.HasPrefix(base, "part_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(htmlFiles, name)
		if err != nil {
			return nil, fmt.Errorf("newsroom page %s: %w", base, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes the page name with status.
func (n *Newsroom) render(w http.ResponseWriter, status int, name string, p *page) {
	t := n.pages[name]
	if t == nil {
		n.log.Error("newsroom: no such page", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout.tmpl", p); err != nil {
		n.log.Error("newsroom: render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// errorPage answers with status and the message of key, in the layout
// for the visit v (nil when nobody is signed in).
func (n *Newsroom) errorPage(w http.ResponseWriter, r *http.Request, v *visit, status int, key string, args ...any) {
	p := &page{Lang: language(r)}
	if v != nil {
		p = v.page("")
	}
	p.Title = p.T("error.title", status)
	p.Data = p.T(key, args...)
	n.render(w, status, "error", p)
}

// fail answers an error of the crier package with its status: the
// message of a person's error, a general one for an internal error, which
// is logged.
func (n *Newsroom) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	switch crier.ErrorCode(err) {
	case crier.EFORBIDDEN:
		n.errorPage(w, r, v, http.StatusForbidden, "error.forbidden")
	case crier.ENOTFOUND:
		n.errorPage(w, r, v, http.StatusNotFound, "error.notfound")
	case crier.EINTERNAL:
		n.log.Error("newsroom: request failed", "path", r.URL.Path, "err", err)
		n.errorPage(w, r, v, http.StatusInternalServerError, "error.internal")
	default:
		var e *crier.Error
		msg := err.Error()
		if errors.As(err, &e) {
			msg = e.Message
		}
		n.errorPage(w, r, v, status(err), "error.text", msg)
	}
}

func (n *Newsroom) notFound(w http.ResponseWriter, r *http.Request) {
	n.errorPage(w, r, n.visitor(r), http.StatusNotFound, "error.notfound")
}

// homeLatest is how many of the newest announcements the overview lists.
const homeLatest = 5

// homeData is what the overview shows: the newest announcements of the
// person's towns and how many submissions wait for their approval.
type homeData struct {
	Latest  []listItem
	Waiting int
}

// home is the overview: where a person starts, with what is new in their
// towns and what waits for them.
func (n *Newsroom) home(w http.ResponseWriter, r *http.Request, v *visit) {
	d := &homeData{}
	f := n.listFilter(v.p)
	f.Limit = homeLatest
	as, err := n.store.FindAnnouncements(r.Context(), f)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	for _, a := range as {
		towns := readableTowns(v.p, n.townsOf(a))
		d.Latest = append(d.Latest, listItem{ID: a.ID, Title: a.Title, Event: eventName(a.Event), Mode: a.Mode,
			Towns: n.townRefs(towns), When: locale.DateTime(v.lang, a.CreatedAt.In(n.location(towns))),
			Byline: byline(v.lang, a)})
	}
	if n.engine.Submissions != nil && crier.Authorize(v.p, crier.ActionApprove, nil) == nil {
		pending, err := n.engine.Submissions.Submissions(r.Context(), crier.SubmissionPending, maxListedSubmissions)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		for _, s := range pending {
			if s.Author != v.p.Name && crier.Authorize(v.p, crier.ActionApprove, n.townsOf(s.Announcement)) == nil {
				d.Waiting++
			}
		}
	}
	p := v.page("home")
	p.Title = p.T("home.title")
	p.Data = d
	n.render(w, http.StatusOK, "home", p)
}

// status is the HTTP status of an error a person can act on.
func status(err error) int {
	switch crier.ErrorCode(err) {
	case crier.EINVALID:
		return http.StatusUnprocessableEntity
	case crier.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case crier.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusBadRequest
}
