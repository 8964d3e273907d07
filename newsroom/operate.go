package newsroom

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// operateRoutes adds the pages for running crier: endpoints, schedules,
// service status, subscribers, captures, users and tokens.
func (n *Newsroom) operateRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/operate", n.signedIn(n.operate))
	n.endpointRoutes(mux)
	n.scheduleRoutes(mux)
	n.statusRoutes(mux)
	n.subscriberRoutes(mux)
	n.captureRoutes(mux)
	n.userRoutes(mux)
}

// operateEntry is one page the overview links to.
type operateEntry struct {
	Path, Title, Intro string
}

// operate is the overview of the operations pages a person may open.
func (n *Newsroom) operate(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.page("operate")
	p.Title = p.T("operate.title")
	var entries []operateEntry
	add := func(path, name string) {
		entries = append(entries, operateEntry{Path: path, Title: p.T("operate." + name + ".title"),
			Intro: p.T("operate." + name + ".intro")})
	}
	add("/admin/operate/endpoints", "endpoints")
	if n.sched != nil && len(n.townsAllowed(v.p, crier.ActionRead)) > 0 {
		add("/admin/operate/schedules", "schedules")
	}
	if n.statuses != nil && len(n.townsAllowed(v.p, crier.ActionRead)) > 0 {
		add("/admin/operate/status", "status")
	}
	if n.subs != nil && crier.Authorize(v.p, crier.ActionAdmin, nil) == nil {
		add("/admin/operate/subscribers", "subscribers")
	}
	if n.captures != nil && len(n.townsAllowed(v.p, crier.ActionRead)) > 0 {
		add("/admin/operate/captures", "captures")
	}
	if crier.Authorize(v.p, crier.ActionAdmin, nil) == nil {
		add("/admin/users", "users")
	}
	add("/admin/tokens", "tokens")
	p.Data = entries
	n.render(w, http.StatusOK, "operate", p)
}

// townsAllowed returns the towns, in configuration order, in which p may do
// action.
func (n *Newsroom) townsAllowed(p *crier.Principal, action crier.Action) []*crier.Town {
	var out []*crier.Town
	for _, t := range n.engine.Directory.Towns() {
		if crier.Authorize(p, action, []string{t.ID}) == nil {
			out = append(out, t)
		}
	}
	return out
}

// mayIn reports whether p may do action in every town of targets (town
// IDs, groups or "all", expanded first). Unknown names are no town of
// anybody's but an admin's.
func (n *Newsroom) mayIn(p *crier.Principal, action crier.Action, targets []string) bool {
	towns, problems := n.engine.Directory.Resolve(targets)
	if len(problems) > 0 && p.Role != crier.RoleAdmin {
		return false
	}
	return crier.Authorize(p, action, towns) == nil
}

// fieldProblems are the problems of a form, by the name of the field they
// belong to, in the page's language.
type fieldProblems map[string][]string

// Of returns the problems of field.
func (f fieldProblems) Of(field string) []string { return f[field] }

// Any reports whether there is any problem.
func (f fieldProblems) Any() bool { return len(f) > 0 }

// formProblems returns ps in lang by field; field maps a problem's field to
// the form's, where they differ.
func formProblems(lang string, ps []crier.Problem, field func(string) string) fieldProblems {
	out := fieldProblems{}
	for _, p := range ps {
		text, _ := locale.Problem(lang, p.Code, p.Args, p.Message)
		f := p.Field
		if field != nil {
			f = field(f)
		}
		out[f] = append(out[f], text)
	}
	return out
}

// invalidProblems returns the problems of err, a crier invalid error, or nil
// when it is another error.
func invalidProblems(err error) []crier.Problem {
	if crier.ErrorCode(err) != crier.EINVALID {
		return nil
	}
	return crier.ErrorDetails(err)
}

// doneNote returns the confirmation of a change, after the redirect that
// follows it: the text of "operate.done."+the query's done, when the
// catalogue has it.
func doneNote(r *http.Request, p *page) string {
	key := "operate.done." + r.URL.Query().Get("done")
	if d := r.URL.Query().Get("done"); d == "" || !locale.Has(key) {
		return ""
	}
	text := p.T(key)
	if !strings.Contains(text, "%") {
		return text
	}
	what := r.URL.Query().Get("what")
	if utf8.RuneCountInString(what) > 200 {
		what = "…"
	}
	return p.T(key, what)
}

// pageNumber returns the page number of a paged list: 1 and up, at most
// limit.
func pageNumber(r *http.Request, limit int) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, limit)
}

// afterPost answers a successful form post: to path, with what was done.
func afterPost(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// Stamp writes t as a date and time in crier's default zone, or a dash
// when t is zero (never).
func (p *page) Stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	loc, err := time.LoadLocation(crier.DefaultScheduleZone)
	if err != nil {
		loc = time.UTC
	}
	return locale.DateTime(p.Lang, t.In(loc))
}
