package server

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/internal/ratelimit"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/schedule"
)

// Limits of request bodies, answers and result pages.
const (
	// MaxBody is the default of Options.MaxBody: the largest request body
	// accepted by routes that take an announcement or a retry request.
	MaxBody = 1 << 20
	// MaxImportBody is the default of Options.MaxImportBody: the largest
	// subscriber import accepted in one request, about 50 000 addresses;
	// larger lists are sent in batches.
	MaxImportBody = 8 << 20
	// MaxProblems is the default of Options.MaxProblems: the most problems
	// one answer lists.
	MaxProblems = 100
	// DefaultPage is the page size when a request gives no limit.
	DefaultPage = 100
	// MaxPage is the largest page size; larger limits are lowered to it.
	MaxPage = 1000
)

// readyTimeout bounds the readiness check so that a hung database makes
// /readyz answer 503 instead of hanging the prober.
const readyTimeout = 5 * time.Second

// Options configures a Server.
type Options struct {
	// Engine validates, renders and commits announcements. Required.
	Engine *crier.Engine
	// Store defaults to Engine.Store; Subscribers and Captures are required.
	Store       crier.AnnouncementStore
	Subscribers crier.SubscriberStore
	Captures    crier.CaptureStore
	// Queue is asked for its depth by the default readiness check.
	Queue crier.Queue
	// Directory holds the configured towns; Engine.Directory when nil.
	Directory *crier.Directory
	// Channels are listed by GET /api/v1/channels; Engine.Channels when nil.
	Channels map[string]*crier.ChannelInfo
	// Token is the admin API token. Required. It acts as
	// crier.AdminPrincipal.
	Token string
	// Logins, when set, serves POST /api/v1/login, which trades a user's
	// name and password for a new API token, and POST /api/v1/logout,
	// which revokes the token of the request; without it both answer
	// 501. The login's rate limit counts the client's address (see
	// TrustedProxies).
	Logins Logins
	// Accounts, when set, lets users in with their own API tokens, each
	// with the rights of the user's role in the user's towns (see
	// crier.Authorize); a revoked token, or one of a disabled user, is
	// refused with its next request.
	Accounts TokenLookup
	// Clock defaults to the system clock.
	Clock crier.Clock
	// Logger defaults to discarding everything.
	Logger *slog.Logger
	// Metrics, when set, is served on /metrics.
	Metrics *Metrics
	// Ready reports whether the server can do its work; its error text is
	// shown to anyone who asks /readyz, so it should name what is missing
	// rather than carry secrets. When nil, the server is ready when
	// Queue.Depth answers, or always when there is no Queue either.
	Ready func(ctx context.Context) error
	// Version is reported in the X-Crier-Version response header.
	Version string
	// Endpoints, when set, reports the health of every channel endpoint
	// for GET /api/v1/endpoints.
	Endpoints func() []netpath.EndpointHealth
	// ResetEndpoint, when set, clears what keeps a channel's endpoint from
	// taking sends (gone, a refused probe, an open breaker) for
	// POST /api/v1/endpoints/{channel}/{endpoint}/reset; a not_found
	// error for an unknown channel or endpoint.
	ResetEndpoint func(channel, endpoint string) error
	// Schedules, when set, serves /api/v1/schedules and publish_at.
	Schedules *schedule.Scheduler
	// Tokens, when set, verifies the unsubscribe links of mails: GET and
	// POST /unsubscribe/{token} (RFC 8058 one-click) without
	// authentication, since the signed token is the authority. It also
	// enables the public subscribe form of every town with an email
	// channel, GET and POST /{town}/subscribe, and the link of its
	// confirmation mail, GET and POST /confirm/{token} (double opt-in).
	// The form's rate limit counts the client's address (see
	// TrustedProxies).
	Tokens *crier.Tokens
	// TrustedProxies are the reverse proxies in front of the server. Only
	// from a peer in one of them is ProxyHeader believed: the client is
	// the rightmost address in it that is not itself a trusted proxy. The
	// rate limits and the request log count that address; without trusted
	// proxies, the peer's.
	TrustedProxies []netip.Prefix
	// ProxyHeader is the header the trusted proxies set: "X-Forwarded-For"
	// (the default) or "Forwarded" (RFC 7239). The other one is ignored,
	// since a proxy passes on what clients put there.
	ProxyHeader string
	// MaxConnsPerClient caps the connections one client address (one /64
	// for IPv6) holds: the website, the subscribe, confirm and unsubscribe
	// pages, the health checks, the metrics and unauthenticated API
	// requests, but not API requests with the admin token. A request over
	// it gets 429. Default DefaultMaxConnsPerClient. When the server is
	// built by HTTPServer, a connection counts from its first such request
	// until it closes; otherwise, and through trusted proxies, requests
	// count while they run.
	MaxConnsPerClient int
	// Site, when set, answers every request outside /api/v1/, /healthz,
	// /readyz and /metrics, without authentication: the public emergency
	// website (site.Site), which only reads published pages.
	Site http.Handler
	// Newsroom, when set, serves the web interface under /admin/, which
	// signs people in by itself (see package newsroom).
	Newsroom http.Handler
	// PrivacyURL, when set, is the operator's privacy statement, linked
	// from the subscribe, confirm and unsubscribe pages.
	PrivacyURL string
	// Statuses, when set, keeps the towns' service status lists for
	// GET and PUT /api/v1/towns/{town}/status; without it those routes
	// answer 501.
	Statuses crier.ServiceStatusStore
	// DefaultStatus holds each town's configured status list, shown while
	// no list is stored for the town.
	DefaultStatus map[string][]crier.ServiceStatus
	// Privacy and Pseudonyms, when both are set, serve the data protection
	// routes POST /api/v1/subscribers/erase and /show; without them those
	// answer 501. Pseudonyms also keep addresses out of the idempotency
	// keys of confirmation mails.
	Privacy    crier.PrivacyStore
	Pseudonyms *crier.Pseudonyms
	// Retention, when set, runs the retention purge for POST
	// /api/v1/purge.
	Retention *crier.Retention
	// Audit, when set, serves GET /api/v1/audit and records the events
	// that change nothing stored (an endpoint reset, personal data
	// shown); without it the route answers 501.
	Audit crier.AuditStore
	// MaxBody is the largest request body, in bytes, of the routes that
	// take an announcement, a schedule, a retry or a status list; a larger
	// one is answered 413. Default MaxBody.
	MaxBody int64
	// MaxImportBody is the largest subscriber import, in bytes, in one
	// request; a larger one is answered 413. Default MaxImportBody.
	MaxImportBody int64
	// StreamPoll is how often a progress stream (GET
	// /api/v1/announcements/{id}/events) reads the counts, StreamHeartbeat
	// the longest it stays silent, and MaxStreams how many may be open at
	// once. Defaults DefaultStreamPoll, DefaultStreamHeartbeat and
	// DefaultMaxStreams.
	StreamPoll      time.Duration
	StreamHeartbeat time.Duration
	MaxStreams      int
	// MaxProblems is the most problems one answer lists, after grouping
	// the ones many towns share (see SummarizeProblems). Default
	// MaxProblems.
	MaxProblems int
}

// TokenLookup finds who holds a user's API token (crier.AccountStore).
type TokenLookup interface {
	// TokenPrincipal returns the holder of the token with hash, noting now
	// as its last use; an unauthorized error for a token that does not
	// work.
	TokenPrincipal(ctx context.Context, hash [sha256.Size]byte, now time.Time) (*crier.Principal, error)
}

// Server is crier's HTTP API. It is an http.Handler.
type Server struct {
	accounts    TokenLookup
	logins      Logins
	engine      *crier.Engine
	store       crier.AnnouncementStore
	subscribers crier.SubscriberStore
	captures    crier.CaptureStore
	queue       crier.Queue
	directory   *crier.Directory
	channels    map[string]*crier.ChannelInfo
	endpoints   func() []netpath.EndpointHealth
	reset       func(channel, endpoint string) error
	schedules   *schedule.Scheduler
	tokenHash   [sha256.Size]byte
	clock       crier.Clock
	log         *slog.Logger
	metrics     *Metrics
	site        http.Handler
	newsroom    http.Handler
	tokens      *crier.Tokens
	privacyURL  string
	limiter     *ratelimit.Limiter
	optIns      *optInQueue
	peers       peers
	conns       *connLimiter
	statuses    crier.ServiceStatusStore
	defaults    map[string][]crier.ServiceStatus
	personal    crier.PrivacyStore
	audit       crier.AuditStore
	pseudonyms  *crier.Pseudonyms
	retention   *crier.Retention
	ready       func(ctx context.Context) error
	version     string

	maxBody       int64
	maxImportBody int64
	maxProblems   int

	streams         streams
	streamPoll      time.Duration
	streamHeartbeat time.Duration

	mux     *http.ServeMux
	handler http.Handler
}

// New returns a Server for o. It fails when a required option is missing.
func New(o Options) (*Server, error) {
	if o.Engine != nil {
		if o.Store == nil {
			o.Store = o.Engine.Store
		}
		if o.Directory == nil {
			o.Directory = o.Engine.Directory
		}
		if o.Channels == nil {
			o.Channels = o.Engine.Channels
		}
	}
	var missing []string
	for _, req := range []struct {
		name string
		ok   bool
	}{
		{"token", o.Token != ""},
		{"engine", o.Engine != nil},
		{"store", o.Store != nil},
		{"subscribers", o.Subscribers != nil},
		{"captures", o.Captures != nil},
		{"directory", o.Directory != nil},
	} {
		if !req.ok {
			missing = append(missing, req.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("new server: missing %s", strings.Join(missing, ", "))
	}
	switch o.ProxyHeader {
	case "":
		o.ProxyHeader = HeaderForwardedFor
	case HeaderForwardedFor, HeaderForwarded:
	default:
		return nil, fmt.Errorf("new server: proxy header %q is neither %s nor %s", o.ProxyHeader, HeaderForwardedFor, HeaderForwarded)
	}
	s := &Server{
		engine:      o.Engine,
		accounts:    o.Accounts,
		logins:      o.Logins,
		store:       o.Store,
		subscribers: o.Subscribers,
		captures:    o.Captures,
		queue:       o.Queue,
		directory:   o.Directory,
		channels:    o.Channels,
		endpoints:   o.Endpoints,
		reset:       o.ResetEndpoint,
		schedules:   o.Schedules,
		tokenHash:   sha256.Sum256([]byte(o.Token)),
		clock:       o.Clock,
		log:         o.Logger,
		metrics:     o.Metrics,
		site:        o.Site,
		newsroom:    o.Newsroom,
		tokens:      o.Tokens,
		privacyURL:  o.PrivacyURL,
		limiter:     ratelimit.New(SubscribeLimit, SubscribeWindow, maxBuckets),
		peers:       peers{trusted: o.TrustedProxies, header: o.ProxyHeader},
		conns:       newConnLimiter(o.MaxConnsPerClient),
		statuses:    o.Statuses,
		defaults:    o.DefaultStatus,
		personal:    o.Privacy,
		audit:       o.Audit,
		pseudonyms:  o.Pseudonyms,
		retention:   o.Retention,
		ready:       o.Ready,
		version:     o.Version,

		maxBody:       cmp.Or(max(o.MaxBody, 0), MaxBody),
		maxImportBody: cmp.Or(max(o.MaxImportBody, 0), MaxImportBody),
		maxProblems:   cmp.Or(max(o.MaxProblems, 0), MaxProblems),

		streams:         newStreams(cmp.Or(max(o.MaxStreams, 0), DefaultMaxStreams)),
		streamPoll:      cmp.Or(max(o.StreamPoll, 0), DefaultStreamPoll),
		streamHeartbeat: cmp.Or(max(o.StreamHeartbeat, 0), DefaultStreamHeartbeat),
	}
	if s.clock == nil {
		s.clock = crier.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ready == nil {
		s.ready = s.queueReady
	}
	s.optIns = newOptInQueue(maxOptIns, s.decideOptIn)
	s.routes()
	return s, nil
}

// ServeHTTP serves the API, the health checks and the metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.version != "" {
		w.Header().Set("X-Crier-Version", s.version)
	}
	s.handler.ServeHTTP(w, r)
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	for _, rt := range s.apiRoutes() {
		if rt.towns == public {
			mux.Handle(rt.pattern, rt.handler)
			continue
		}
		mux.Handle(rt.pattern, s.authenticate(s.authorizeRoute(rt)))
	}

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		mux.Handle("GET /metrics", s.metrics.Handler(s.log))
	}
	// The public forms change state, so a POST from another site's page
	// is refused (cross-site request forgery). Requests without Origin
	// and Sec-Fetch-Site pass: they come from no browser page, such as a
	// mail client's RFC 8058 one-click unsubscribe.
	form := s.crossOrigin()
	mux.HandleFunc("GET /unsubscribe/{token}", s.unsubscribe)
	mux.Handle("POST /unsubscribe/{token}", form.Handler(http.HandlerFunc(s.unsubscribe)))
	mux.HandleFunc("GET /confirm/{token}", s.confirm)
	mux.Handle("POST /confirm/{token}", form.Handler(http.HandlerFunc(s.confirm)))
	// /{town}/subscribe, and the website's other /{town}/{page} paths.
	mux.HandleFunc("GET /{town}/{page}", s.townPage)
	mux.Handle("POST /{town}/{page}", form.Handler(http.HandlerFunc(s.townPage)))
	if s.site != nil {
		mux.Handle("/", s.site)
	}
	s.mux = mux
	var h http.Handler = mux
	if s.newsroom != nil {
		// The newsroom's prefix is its own, before any pattern of the
		// site's such as /{town}/{page}, which would conflict with it.
		outer := http.NewServeMux()
		outer.Handle("/admin/", s.newsroom)
		outer.Handle("/admin", s.newsroom)
		outer.Handle("/", mux)
		h = outer
	}
	s.handler = s.withClient(s.logRequests(s.recoverPanics(s.limitConns(h))))
}

// crossOrigin refuses cross-origin browser requests to the public forms
// with 403 and a page that says so. The origin of the public URL is
// trusted besides the request's own Host, for a reverse proxy that
// passes on another Host; browsers that send Sec-Fetch-Site are judged by
// it alone.
func (s *Server) crossOrigin() *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.engine.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := c.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.log.Warn("public URL is no origin to trust for the forms", "err", err)
		}
	}
	c.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := locale.Accept(r.Header.Get("Accept-Language"))
		s.log.Info("public form: cross-origin request refused")
		s.unsubscribeAnswer(w, http.StatusForbidden, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "form.crossorigin.title"), Text: locale.T(lang, "form.crossorigin.text")})
	}))
	return c
}

// authenticate lets requests with the admin token or a user's API token
// through, with their crier.Principal in the context. The admin token is
// hashed before the constant-time comparison so that neither its content
// nor its length shows in the timing; a user's token is looked up by its
// SHA-256 hash, which is all the database keeps.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			s.error(w, r, crier.Errorf(crier.EUNAUTHORIZED, "missing bearer token"))
			return
		}
		p := crier.AdminPrincipal
		if !s.validToken(token) {
			if s.accounts == nil {
				s.error(w, r, crier.Errorf(crier.EUNAUTHORIZED, "invalid token"))
				return
			}
			var err error
			if p, err = s.accounts.TokenPrincipal(r.Context(), crier.TokenHash(token), s.clock.Now()); err != nil {
				s.error(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(crier.NewContext(r.Context(), p)))
	})
}

// withClient puts the client's address into the request's context
// (crier.WithClientAddress) for the audit trail: the address behind the
// trusted proxies, as the rate limits and the request log count it. The
// API's authenticate and the public forms both find it there. It wraps
// the rest, since the request log reads the route the mux notes on the
// request it was handed.
func (s *Server) withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := s.peers.client(r)
		if !a.IsValid() {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(crier.WithClientAddress(r.Context(), a.String())))
	})
}

// bearer returns the token of r's "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// validToken reports whether token is the admin token, in constant time.
func (s *Server) validToken(token string) bool {
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// noRoute answers API paths that no route matches: 405 when the path
// exists for other methods, 404 otherwise.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.WithContext(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/v1/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.error(w, r, crier.Errorf(CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	s.error(w, r, crier.Errorf(crier.ENOTFOUND, "no API route %s", r.URL.Path))
}

// logRequests logs one line per request: method, path, status, duration
// and the client's address ("remote"), with the peer's when that is a
// trusted proxy. It never logs headers, which carry the token.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote := slog.String("remote", r.RemoteAddr)
		peer := slog.Attr{}
		if a, proxied := s.peers.client(r); proxied {
			remote, peer = slog.String("remote", a.String()), slog.String("peer", r.RemoteAddr)
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		level := slog.LevelInfo
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug // probes and scrapes would drown everything else
		}
		s.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", r.Method),
			slog.String("path", logPath(r)),
			slog.Int("status", sw.status()),
			slog.Duration("duration", time.Since(start)),
			remote, peer,
		)
	})
}

// logPath is the request path, except that a subscriber's address is not
// written to the log: the route pattern stands in for the path, and where
// no route took the address (a wrong method, a segment too many) every
// segment with an "@" is [redacted]. Nor is the token of a subscriber
// link, whose holder can act for the subscriber (and whose old format
// carried the address): it is [redacted], whether or not the rest of the
// path leads anywhere.
func logPath(r *http.Request) string {
	if r.PathValue("email") != "" {
		_, pattern, _ := strings.Cut(r.Pattern, " ")
		return pattern
	}
	clean := strings.ToLower(path.Clean(r.URL.Path))
	for _, prefix := range []string{"/unsubscribe/", "/confirm/"} {
		if strings.HasPrefix(clean, prefix) {
			return prefix + "[redacted]"
		}
	}
	if !strings.Contains(r.URL.Path, "@") {
		return r.URL.Path
	}
	segments := strings.Split(r.URL.Path, "/")
	for i, s := range segments {
		if strings.Contains(s, "@") {
			segments[i] = "[redacted]"
		}
	}
	return strings.Join(segments, "/")
}

// recoverPanics turns a panicking handler into a logged 500 answer.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.error(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// healthz answers 200 while the process can serve HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when the readiness check passes and 503 with its
// reason otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %s\n", err)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// queueReady is the default readiness check: the queue's database answers.
func (s *Server) queueReady(ctx context.Context) error {
	if s.queue == nil {
		return nil
	}
	if _, err := s.queue.Depth(ctx); err != nil {
		// The reason is shown without authentication; the detail, which
		// may name files or hosts, goes only to the log.
		s.log.WarnContext(ctx, "readiness: queue depth", "err", err)
		return errors.New("the queue does not answer")
	}
	return nil
}
