package server

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Double opt-in settings of the public subscribe form.
const (
	// confirmValidity is how long a confirmation link works; the
	// confirmation mail expires with it.
	confirmValidity = 7 * 24 * time.Hour
	// SubscribeLimit form posts per client IP are accepted in every
	// SubscribeWindow; the bucket refills evenly over the window.
	SubscribeLimit  = 5
	SubscribeWindow = 10 * time.Minute
	// maxFormBody bounds the subscribe form's request body.
	maxFormBody = 16 << 10
	// maxName bounds the optional name, in characters.
	maxName = 200
)

// subscribePage is the public form to subscribe to a town's email notices,
// and the answers to it. It needs no JavaScript and loads nothing. The
// field "website" is a honeypot: hidden from people (CSS, aria-hidden,
// not reachable by tab), filled in by form-filling bots.
var subscribePage = template.Must(template.New("subscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + publicStyle + `
label{display:block;font-weight:600}
input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;border:2px solid #1a1a1a;border-radius:.3rem}
input:focus{outline:3px solid #0050b3;outline-offset:2px}
.error{color:#a30000;font-weight:600}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>
{{end}}<p>{{.Text}}</p>
{{if .Form}}<form method="post">
<p><label for="email">{{.EmailLabel}}</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{.Email}}"{{if .Error}} aria-invalid="true" aria-describedby="error"{{end}}></p>
<p><label for="name">{{.NameLabel}}</label>
<input id="name" name="name" type="text" autocomplete="name" maxlength="200" value="{{.Name}}"></p>
<div class="hp" aria-hidden="true"><label for="website">{{.WebsiteLabel}}</label>
<input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<p><button type="submit">{{.Button}}</button></p>
</form>
{{end}}{{with .Privacy}}<p><a href="{{.URL}}" rel="external">{{.Text}}</a></p>
{{end}}</main>
</body>
</html>
`))

// subscribeData fills subscribePage.
type subscribeData struct {
	Lang, Title, Text, Error            string
	Form                                bool
	EmailLabel, NameLabel, WebsiteLabel string
	Email, Name, Button                 string
	Privacy                             *privacyLink
}

// privacyLink is the link to the operator's privacy statement on every
// subscriber page.
type privacyLink struct{ URL, Text string }

// privacy returns the privacy link in lang, or nil when none is configured.
func (s *Server) privacy(lang string) *privacyLink {
	if s.privacyURL == "" {
		return nil
	}
	return &privacyLink{URL: s.privacyURL, Text: locale.T(lang, "subscribe.privacy")}
}

// subscriberLookup is implemented by stores that find one subscriber
// without listing the town's list (store/sqlite).
type subscriberLookup interface {
	Subscriber(ctx context.Context, town, email string) (*crier.Subscriber, error)
}

// townPage answers GET and POST /{town}/{page}: the subscribe form when
// page is "subscribe", the website (or 404) otherwise. The route is this
// wide because /{town}/subscribe would conflict with /unsubscribe/{token}
// and /confirm/{token} in the mux.
func (s *Server) townPage(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("page") == "subscribe" {
		s.subscribe(w, r)
		return
	}
	if s.site != nil {
		s.site.ServeHTTP(w, r)
		return
	}
	http.NotFound(w, r)
}

// emailChannels returns the ids of the town's channels of type email.
func (s *Server) emailChannels(t *crier.Town) []string {
	var out []string
	for _, id := range t.Channels {
		if ch := s.channels[id]; ch != nil && ch.Type == "email" {
			out = append(out, id)
		}
	}
	return out
}

// subscribe answers GET and POST /{town}/subscribe. GET shows the form.
// POST answers every acceptable address the same way and at once, whether
// it was new, pending, confirmed or unsubscribed, so that the form tells
// nobody who is on a list, neither by its answer nor by its time: the
// address is queued (see optInQueue) and decided on afterwards. A new or
// unsubscribed address is stored pending and, as a pending one, sent a
// confirmation mail (at most one per address and clock hour); a confirmed
// one is sent nothing. A store failure is logged, not answered. A
// filled-in honeypot gets the same answer and nothing happens. An invalid
// address gets 422 and the form again; a town without email notices 404;
// a client IP over the rate limit 429; a full queue 503.
// Behind a trusted reverse proxy the limit counts the client's address.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	t := s.directory.Town(r.PathValue("town"))
	lang := locale.Accept(r.Header.Get("Accept-Language"))
	if t == nil || s.tokens == nil || len(s.emailChannels(t)) == 0 {
		s.subscribeAnswer(w, http.StatusNotFound, subscribeData{Lang: lang,
			Title: locale.T(lang, "subscribe.unknown.title"), Text: locale.T(lang, "subscribe.unknown.text")})
		return
	}
	lang = locale.Match(t.Language)
	name := townName(t)
	form := subscribeData{Lang: lang, Title: locale.T(lang, "subscribe.title"), Text: locale.T(lang, "subscribe.intro", name),
		Form: true, EmailLabel: locale.T(lang, "subscribe.email"), NameLabel: locale.T(lang, "subscribe.name"),
		WebsiteLabel: locale.T(lang, "subscribe.website"), Button: locale.T(lang, "subscribe.button")}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.subscribeAnswer(w, http.StatusOK, form)
		return
	}
	now := s.clock.Now()
	if wait, ok := s.limiter.Allow(s.peers.clientKey(r), now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		s.subscribeAnswer(w, http.StatusTooManyRequests, subscribeData{Lang: lang,
			Title: locale.T(lang, "subscribe.limited.title"), Text: locale.T(lang, "subscribe.limited.text")})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		form.Error = locale.T(lang, "subscribe.invalid")
		s.subscribeAnswer(w, http.StatusBadRequest, form)
		return
	}
	sent := subscribeData{Lang: lang, Title: locale.T(lang, "subscribe.sent.title"), Text: locale.T(lang, "subscribe.sent.text")}
	if r.PostForm.Get("website") != "" {
		s.log.Info("subscribe form: honeypot filled, ignored", "town", t.ID)
		s.subscribeAnswer(w, http.StatusOK, sent)
		return
	}
	email, err := crier.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		form.Error = locale.T(lang, "subscribe.invalid")
		form.Email, form.Name = r.PostForm.Get("email"), r.PostForm.Get("name")
		s.subscribeAnswer(w, http.StatusUnprocessableEntity, form)
		return
	}
	req := optInRequest{town: t, email: email, name: cleanName(r.PostForm.Get("name")), at: now,
		client: crier.ClientAddressFrom(r.Context())}
	if !s.optIns.add(req) {
		s.log.Warn("subscribe form: too many requests waiting, refused", "town", t.ID)
		s.subscribeAnswer(w, http.StatusServiceUnavailable, subscribeData{Lang: lang,
			Title: locale.T(lang, "subscribe.failed.title"), Text: locale.T(lang, "subscribe.failed.text")})
		return
	}
	s.subscribeAnswer(w, http.StatusOK, sent)
}

// optInRequest is an acceptable address posted to the subscribe form,
// waiting to be decided on.
type optInRequest struct {
	town        *crier.Town
	email, name string
	at          time.Time
	client      string // for the audit trail
}

// optInTimeout bounds the store work of one subscribe request.
const optInTimeout = time.Minute

// maxOptIns bounds the subscribe requests waiting to be decided on; the
// form answers 503 beyond it.
const maxOptIns = 1000

// decideOptIn does what a subscribe request asks, after the form has
// answered it.
func (s *Server) decideOptIn(req optInRequest) {
	ctx, cancel := context.WithTimeout(crier.WithClientAddress(context.Background(), req.client), optInTimeout)
	defer cancel()
	if err := s.optIn(ctx, req.town, req.email, req.name, req.at); err != nil {
		s.log.Error("subscribe form", "town", req.town.ID, "err", err)
	}
}

// optInQueue holds the subscribe requests the form has answered and one
// goroutine, while there are any, that decides on them in turn. The form
// answers before anything about the address is read or written, so its
// answer and the time it takes are the same whether the address is new,
// pending, confirmed or unsubscribed. It is kept in memory: a request
// still queued when the process dies is lost, and its sender posts the
// form again when no mail comes. Its zero value is not usable; see
// newOptInQueue.
type optInQueue struct {
	decide func(optInRequest)
	max    int

	mu      sync.Mutex
	idle    *sync.Cond // signaled when the last request is decided
	pending []optInRequest
	running bool // a goroutine decides on the pending requests
}

func newOptInQueue(max int, decide func(optInRequest)) *optInQueue {
	q := &optInQueue{decide: decide, max: max}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// add queues req and reports whether there was room for it.
func (q *optInQueue) add(req optInRequest) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= q.max {
		return false
	}
	q.pending = append(q.pending, req)
	if !q.running {
		q.running = true
		go q.drain()
	}
	return true
}

func (q *optInQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.idle.Broadcast()
			q.mu.Unlock()
			return
		}
		req := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.decide(req)
	}
}

// wait returns once no request is pending or being decided.
func (q *optInQueue) wait() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.running {
		q.idle.Wait()
	}
}

// Wait returns once every subscribe request the form has answered is
// decided: the address stored and its confirmation mail queued, or
// nothing done for a confirmed one. Call it after the HTTP server has
// shut down, before the store closes.
func (s *Server) Wait() { s.optIns.wait() }

// optIn stores a new or unsubscribed address as pending and queues its
// confirmation mail, as for a pending one; a confirmed address is left as
// it is.
func (s *Server) optIn(ctx context.Context, t *crier.Town, email, name string, now time.Time) error {
	cur, err := s.subscriber(ctx, t.ID, email)
	if err != nil {
		return err
	}
	if cur != nil && cur.State == crier.SubscriberConfirmed {
		s.log.Info("subscribe form: address is confirmed already, nothing sent", "town", t.ID)
		return nil
	}
	// A pending address is not stored again, not even with a new name:
	// that would void the link of the mail sent already and send another.
	if cur == nil || cur.State == crier.SubscriberUnsubscribed {
		if name == "" && cur != nil {
			name = cur.Name
		}
		if _, err := s.subscribers.AddSubscribers(ctx, []*crier.Subscriber{{Town: t.ID, Email: email, Name: name,
			State: crier.SubscriberPending, Source: "double opt-in, form"}}, now); err != nil {
			return err
		}
	}
	queued, err := s.queueConfirmation(ctx, t, email, now)
	if err != nil {
		return err
	}
	if !queued {
		s.log.Info("subscribe form: confirmation sent within the hour already", "town", t.ID)
		return nil
	}
	s.log.Info("subscribe form: confirmation queued", "town", t.ID)
	if s.engine.Notify != nil {
		s.engine.Notify()
	}
	return nil
}

// queueConfirmation queues the confirmation mail to email, at most one per
// address, state of its subscription and clock hour however it is asked
// for (the form, an invite), and reports whether it queued one now. The
// address must be on the town's list.
func (s *Server) queueConfirmation(ctx context.Context, t *crier.Town, email string, now time.Time) (bool, error) {
	sub, err := s.subscriber(ctx, t.ID, email)
	if err != nil {
		return false, err
	}
	if sub == nil {
		return false, crier.Errorf(crier.ENOTFOUND, "%s is not on the list of %s", email, t.ID)
	}
	v := subscriptionVersion(sub)
	p, err := s.confirmationPlan(ctx, t, email, v, now)
	if err != nil {
		return false, err
	}
	// The key names the address by its pseudonym where there is one, so
	// that the idempotency keys, kept longer than the mail, do not hold it.
	who := email
	if s.pseudonyms != nil {
		who = s.pseudonyms.Of(email)
	}
	key := "confirm:" + t.ID + ":" + who + ":" + v + ":" + now.UTC().Format("2006-01-02T15")
	res, err := s.store.CreateAnnouncement(ctx, p, key, now)
	if err != nil {
		return false, fmt.Errorf("queue confirmation: %w", err)
	}
	return !res.Existing, nil
}

// subscriptionVersion names the state of a subscription as it is now: it
// changes whenever the address is stored again or unsubscribed, so that a
// confirmation link made for one state is void in every later one.
func subscriptionVersion(sub *crier.Subscriber) string {
	return strconv.FormatInt(sub.UpdatedAt.UnixNano(), 36)
}

// confirmPurpose is the token purpose of a confirmation link for the
// subscription version v: the signature covers the version, which the
// link carries beside the token.
func confirmPurpose(v string) string { return crier.PurposeConfirm + " " + v }

// confirmSep separates the version from the token in a confirmation link:
// /confirm/{version}.{token}. The version never contains it.
const confirmSep = "."

// InviteResult is the answer of POST /api/v1/subscribers/{town}/invite.
type InviteResult struct {
	// Invited is how many pending addresses were sent a confirmation mail.
	Invited int `json:"invited"`
	// Skipped is how many had been sent one within the clock hour already.
	Skipped int `json:"skipped"`
}

// invite sends every pending address of a town a confirmation mail, as
// the subscribe form would: addresses imported or added without consent
// become subscribers only once they confirm. An address sent one within
// the clock hour is skipped, as on the form.
func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	t := s.directory.Town(r.PathValue("town"))
	if t == nil {
		s.error(w, r, crier.Errorf(crier.ENOTFOUND, "unknown town %q", r.PathValue("town")))
		return
	}
	if len(s.emailChannels(t)) == 0 {
		s.error(w, r, crier.Errorf(crier.EINVALID, "town %s has no email channel to invite through", t.ID))
		return
	}
	subs, err := s.subscribers.Subscribers(r.Context(), t.ID, crier.SubscriberPending)
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.clock.Now()
	var res InviteResult
	for _, sub := range subs {
		queued, err := s.queueConfirmation(r.Context(), t, sub.Email, now)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if queued {
			res.Invited++
		} else {
			res.Skipped++
		}
	}
	if res.Invited > 0 && s.engine.Notify != nil {
		s.engine.Notify()
	}
	s.log.InfoContext(r.Context(), "pending addresses invited", "town", t.ID, "invited", res.Invited, "skipped", res.Skipped)
	s.writeJSON(w, r, http.StatusOK, res)
}

// subscriber returns the town's subscriber with the address, or nil.
func (s *Server) subscriber(ctx context.Context, town, email string) (*crier.Subscriber, error) {
	if l, ok := s.subscribers.(subscriberLookup); ok {
		sub, err := l.Subscriber(ctx, town, email)
		if crier.ErrorCode(err) == crier.ENOTFOUND {
			return nil, nil
		}
		return sub, err
	}
	subs, err := s.subscribers.Subscribers(ctx, town, "")
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.Email == email {
			return sub, nil
		}
	}
	return nil, nil
}

// confirmationPlan builds the confirmation mail to email as an
// announcement of its own (crier.EventSubscriptionConfirm): one message
// per email channel of the town, addressed to email alone, with the
// confirmation link, in the instance mode and captured like every
// message outside actual mode. Its link is good for the subscription's
// version alone (see subscriptionVersion). It expires with the link. Its
// title and body, which lists show, carry neither the address nor the
// link.
func (s *Server) confirmationPlan(ctx context.Context, t *crier.Town, email, version string, now time.Time) (*crier.Plan, error) {
	expires := now.Add(confirmValidity)
	token := s.tokens.Sign(confirmPurpose(version), t.ID, email, expires)
	link := strings.TrimRight(s.engine.PublicURL, "/") + "/confirm/" + url.PathEscape(version+confirmSep+token)
	lang := locale.Match(t.Language)
	name := townName(t)
	subject := locale.T(lang, "subscribe.mail.subject", name)
	intro, ignore := locale.T(lang, "subscribe.mail.text", name), locale.T(lang, "subscribe.mail.ignore")
	text := intro + "\n\n" + link + "\n\n" + ignore + "\n"
	body := "<p>" + html.EscapeString(intro) + "</p>\n<p><a href=\"" + html.EscapeString(link) + "\">" +
		html.EscapeString(link) + "</a></p>\n<p>" + html.EscapeString(ignore) + "</p>\n"
	mode := s.engine.Mode
	a := &crier.Announcement{ID: "confirm-" + crier.NewID(), Revision: 1, Title: subject, Body: intro,
		Towns: []string{t.ID}, Channels: s.emailChannels(t), Mode: mode, Event: crier.EventSubscriptionConfirm,
		Expires: expires, CreatedAt: now}
	a.SetDefaults(mode)
	p := &crier.Plan{Announcement: a, Towns: []string{t.ID}}
	var problems []crier.Problem
	for _, id := range a.Channels {
		ch := s.channels[id]
		m := &crier.Message{Announcement: a.ID, Revision: 1, Town: t.ID, Channel: id, Type: ch.Type,
			Event: crier.EventSubscriptionConfirm, Mode: mode, Language: lang, Subject: subject, Text: text,
			HTML: body, Expires: expires, Recipient: email, Capture: mode != crier.ModeActual}
		if c, ok := ch.Channel.(crier.Checker); ok {
			for _, pr := range c.Check(ctx, m) {
				pr.Town, pr.Channel = t.ID, id
				problems = append(problems, pr)
			}
		}
		p.Messages = append(p.Messages, m)
	}
	if err := crier.Invalid("confirmation mail", problems); err != nil {
		return nil, err
	}
	return p, nil
}

// confirm answers GET and POST /confirm/{token}, the link in the
// confirmation mail. GET shows a button, so that link scanners confirm
// nobody; POST confirms the address. A bad or expired link gets 400, and
// so does a link made before the subscription last changed: after the
// address unsubscribed, or was taken off and put on the list again, an
// old mail's link subscribes nobody. A link to an address that is
// confirmed already answers as if it had confirmed it.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request) {
	lang := locale.Accept(r.Header.Get("Accept-Language"))
	if s.tokens == nil {
		http.NotFound(w, r)
		return
	}
	now := s.clock.Now()
	t, sub, err := s.confirmLink(r.Context(), r.PathValue("token"), now)
	if err != nil {
		s.log.Error("confirm subscription", "err", err)
		s.unsubscribeAnswer(w, http.StatusInternalServerError, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "confirm.failed.title"), Text: locale.T(lang, "confirm.failed.text")})
		return
	}
	if sub == nil {
		s.unsubscribeAnswer(w, http.StatusBadRequest, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "confirm.bad.title"), Text: locale.T(lang, "confirm.bad.text")})
		return
	}
	lang, name := locale.Match(t.Language), townName(t)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.unsubscribeAnswer(w, http.StatusOK, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "confirm.title"), Text: locale.T(lang, "confirm.ask", name),
			Button: locale.T(lang, "confirm.button")})
		return
	}
	err = s.confirmAddress(r.Context(), sub, now)
	if code := crier.ErrorCode(err); code == crier.ECONFLICT || code == crier.ENOTFOUND {
		// The subscription changed, or was erased, since the link was
		// checked: the link is void now.
		s.log.Info("confirm subscription: the subscription changed meanwhile, nothing confirmed", "town", t.ID)
		s.unsubscribeAnswer(w, http.StatusBadRequest, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "confirm.bad.title"), Text: locale.T(lang, "confirm.bad.text")})
		return
	}
	if err != nil {
		s.log.Error("confirm subscription", "town", t.ID, "err", err)
		s.unsubscribeAnswer(w, http.StatusInternalServerError, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "confirm.failed.title"), Text: locale.T(lang, "confirm.failed.text")})
		return
	}
	s.unsubscribeAnswer(w, http.StatusOK, unsubscribeData{Lang: lang,
		Title: locale.T(lang, "confirm.done.title"), Text: locale.T(lang, "confirm.done.text", name)})
}

// confirmLink returns the town and subscriber a confirmation link is good
// for at now, or a nil subscriber when it is good for none: malformed,
// forged, expired, for an unknown town or address, or made for another
// version of the subscription than its current one.
func (s *Server) confirmLink(ctx context.Context, link string, now time.Time) (*crier.Town, *crier.Subscriber, error) {
	v, token, ok := strings.Cut(link, confirmSep)
	if !ok {
		return nil, nil, nil
	}
	town, email, err := s.tokens.Verify(token, confirmPurpose(v), now)
	t := s.directory.Town(town)
	if err != nil || t == nil {
		return nil, nil, nil
	}
	sub, err := s.subscriber(ctx, t.ID, email)
	if err != nil || sub == nil {
		return nil, nil, err
	}
	if sub.State != crier.SubscriberConfirmed && (sub.State != crier.SubscriberPending || subscriptionVersion(sub) != v) {
		return nil, nil, nil
	}
	return t, sub, nil
}

// confirmAddress sets the pending address cur confirmed, keeping its name;
// an address confirmed already is left as it is. The store confirms it
// only while the subscription is still the one the link was made for
// (cur's version): an unsubscribe or a new subscription that came in
// after the link was checked wins, with a conflict error.
func (s *Server) confirmAddress(ctx context.Context, cur *crier.Subscriber, now time.Time) error {
	if cur.State == crier.SubscriberConfirmed {
		return nil
	}
	source := "double opt-in, confirmed " + now.UTC().Format(time.RFC3339)
	if err := s.subscribers.ConfirmSubscriber(ctx, cur.Town, cur.Email, cur.UpdatedAt, source, now); err != nil {
		return err
	}
	s.log.Info("subscription confirmed", "town", cur.Town)
	return nil
}

func (s *Server) subscribeAnswer(w http.ResponseWriter, status int, d subscribeData) {
	d.Privacy = s.privacy(d.Lang)
	s.writePublicPage(w, status, subscribePage, d)
}

func townName(t *crier.Town) string {
	if t.Name != "" {
		return t.Name
	}
	return t.ID
}

// cleanName folds white space and control characters of a name into
// single spaces and cuts it to maxName characters.
func cleanName(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' || r == '\u00a0' }), " ")
	if r := []rune(s); len(r) > maxName {
		s = strings.TrimSpace(string(r[:maxName]))
	}
	return s
}

// maxBuckets bounds the rate limiter's memory (see ratelimit.Limiter).
const maxBuckets = 10000
