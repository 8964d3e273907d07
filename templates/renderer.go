package templates

import (
	"cmp"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	_ "time/tzdata" // town time zones on machines without zoneinfo

	"github.com/yuin/goldmark"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// DefaultTimeZone is the time zone of a town that names none.
const DefaultTimeZone = "Europe/Berlin"

// Options configures a Renderer.
type Options struct {
	// Dir is a directory of template overrides (see the package doc). Empty
	// means the built-in templates only; a Dir that does not exist is an
	// error.
	Dir string
	// Logger receives which overrides were loaded; nil discards.
	Logger *slog.Logger
	// Clock stamps webhook payloads of announcements without a creation
	// time; nil means the system clock.
	Clock crier.Clock
}

// Renderer renders announcements for every town and channel from the
// built-in templates and the overrides of Options.Dir. It is safe for
// concurrent use.
type Renderer struct {
	log       *slog.Logger
	clock     crier.Clock
	md        goldmark.Markdown
	defaults  map[string]*tmpl // by template name
	overrides map[string]*tmpl // by path in Dir
	zones     sync.Map         // time zone name → *time.Location
	// mdSlots bounds the Markdown conversions running at once (see
	// run.markdown).
	mdSlots chan struct{}
}

var _ crier.Renderer = (*Renderer)(nil)

// New parses the built-in templates and every override in o.Dir. A broken,
// misnamed or misplaced override fails here, as an EINVALID *crier.Error
// whose Details name each file and line, so that a mistake shows at start
// and not when the first announcement goes out.
func New(o Options) (*Renderer, error) {
	r := &Renderer{log: o.Logger, clock: o.Clock, md: newMarkdown(), mdSlots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clock == nil {
		r.clock = crier.SystemClock{}
	}
	var err error
	if r.defaults, err = parseDefaults(); err != nil {
		return nil, fmt.Errorf("parse built-in templates: %w", err)
	}
	r.overrides = map[string]*tmpl{}
	if o.Dir == "" {
		return r, nil
	}
	fi, err := os.Stat(o.Dir)
	if err != nil {
		return nil, &crier.Error{Code: crier.EINVALID, Message: fmt.Sprintf("template directory %s: %v", o.Dir, errors.Unwrap(err)), Err: err}
	}
	if !fi.IsDir() {
		return nil, crier.Errorf(crier.EINVALID, "template directory %s is not a directory", o.Dir)
	}
	overrides, problems := parseOverrides(os.DirFS(o.Dir))
	if len(problems) > 0 {
		return nil, &crier.Error{Code: crier.EINVALID, Message: fmt.Sprintf("templates in %s are broken", o.Dir), Details: problems}
	}
	r.overrides = overrides
	r.log.Info("template overrides loaded", "dir", o.Dir, "files", slices.Sorted(maps.Keys(overrides)))
	return r, nil
}

// Render renders req's announcement for its town and channel type. The
// channel types are email (subject, HTML and text; one delivery per
// subscriber), webhook (a JSON payload), mastodon and slack (a short
// text), and site (the title as subject and the rendered body as HTML and
// text: the town's text on the emergency website, stored with the
// announcement and never delivered). Every problem, an unknown type, a
// missing town variable, a broken template, a body that loops without
// bound or a part larger than req.MaxSize, comes back as an EINVALID
// *crier.Error whose Details name the town, the channel, the template and
// the line. When req.Context is done, rendering stops at the next write
// and Render returns an error that wraps the context's cause.
func (r *Renderer) Render(req *crier.RenderRequest) (*crier.Message, error) {
	if req == nil || req.Announcement == nil || req.Town == nil {
		return nil, crier.Errorf(crier.EINVALID, "render request without an announcement or a town")
	}
	a, town := req.Announcement, req.Town
	x := &run{r: r, req: req, m: newMeter(req)}
	if err := x.m.err(); err != nil {
		return nil, err
	}
	kind, ok := kinds[req.Type]
	if !ok {
		known := strings.Join(slices.Sorted(maps.Keys(kinds)), ", ")
		x.coded(crier.Problemf("type", "template.unknown_type", "unknown channel type %q; crier renders %v", req.Type, known))
		return nil, x.err()
	}
	lang := locale.Match(town.Language)
	loc, err := r.zone(town.TimeZone)
	if err != nil {
		zone := cmp.Or(town.TimeZone, DefaultTimeZone)
		x.coded(crier.Problemf("time_zone", "schedule.unknown_zone", "unknown time zone %q", zone))
		return nil, x.err()
	}
	d := newData(req, lang, loc, r.clock.Now())
	x.fm = funcs(lang, loc)
	x.body(d)
	if x.stop != nil {
		return nil, x.stop
	}
	if x.problems != nil {
		return nil, x.err()
	}

	m := &crier.Message{
		Announcement: a.ID, Revision: a.Revision, Town: town.ID, Channel: req.Channel, Type: req.Type,
		Event: d.Event, Mode: a.Mode, Language: lang,
		Link: req.Link, Expires: a.Expires,
	}
	switch kind {
	case "email":
		m.Subject = x.subject(d)
		m.HTML, _ = x.exec(emailHTML, d)
		m.Text, _ = x.exec(emailText, d)
		m.PerSubscriber = true
	case "social":
		m.Subject = d.Title // the headline, for channels that show one (Slack)
		m.SpoilerText, m.Sensitive = a.SpoilerText, a.Sensitive
		m.Text = x.social(d, m)
		m.Omitted = omission(d.BodyText, m.Text)
	case "webhook":
		m.Payload = x.payload(d)
		if len(m.Payload) > x.m.max {
			x.tooLarge("payload")
		}
	case "site":
		// The town's text as the emergency website shows it (site.Body):
		// stored with the announcement, never delivered.
		m.Subject = d.Title
		m.HTML, m.Text = string(d.Body), d.BodyText
	}
	if x.stop != nil {
		return nil, x.stop
	}
	if x.problems != nil {
		return nil, x.err()
	}
	return m, nil
}

// maxShortRuns bounds the runs of the social template in its short form.
const maxShortRuns = 8

// social executes the social template for m and returns the post. When
// the request has a limit and the post with the whole text is over it,
// the template runs again with d.Short set: first with no room, to learn
// what the rest of the post takes, then with the room that leaves, and
// again with less room for as long as the post is still over and the
// room can shrink. When no short form fits either, the post with the
// whole text is returned, for the channel's Check to refuse.
func (x *run) social(d *Data, m *crier.Message) string {
	lim := x.req.Limit
	if lim != nil {
		d.Limit = lim.Max
	}
	text, ok := x.exec(socialText, d)
	text = strings.TrimSpace(text)
	if !ok || lim == nil || lim.Max <= 0 || lim.Length == nil {
		return text
	}
	over := func(s string) int {
		c := *m
		c.Text = s
		return lim.Length(&c) - lim.Max
	}
	if over(text) <= 0 {
		return text
	}
	// The short form without its shortened part shows what the rest of
	// the post takes; the room starts at what is left of the limit.
	d.Short, d.Room = true, 0
	defer func() { d.Short, d.Room = false, 0 }()
	frame, ok := x.exec(socialText, d)
	if !ok {
		return ""
	}
	d.Room = max(-over(strings.TrimSpace(frame)), 0)
	for range maxShortRuns {
		short, ok := x.exec(socialText, d)
		if !ok {
			return ""
		}
		short = strings.TrimSpace(short)
		n := over(short)
		if n <= 0 {
			return short
		}
		if d.Room == 0 {
			break
		}
		d.Room = max(d.Room-n, 0)
	}
	return text
}

// zone returns the named time zone, DefaultTimeZone for "".
func (r *Renderer) zone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if l, ok := r.zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	r.zones.Store(name, l)
	return l, nil
}

// lookup returns the template name for a town and channel: the town's
// override for the channel, the town's, the channel's, the directory's,
// or the built-in one, in that order. It returns nil when there is none.
func (r *Renderer) lookup(town, channel, name string) *tmpl {
	for _, p := range candidates(town, channel, name) {
		if t := r.overrides[p]; t != nil {
			return t
		}
	}
	return r.defaults[name]
}

// run is one Render call: it collects every problem instead of stopping at
// the first, unless its context stops it.
type run struct {
	r        *Renderer
	req      *crier.RenderRequest
	m        *meter
	fm       map[string]any
	problems []crier.Problem
	stop     *stopError // why the context stopped the rendering
}

// failed records the error of executing the template named field: a stop
// of the context, or a problem.
func (x *run) failed(field, name string, err error) {
	if s, ok := stopped(err); ok {
		x.stop = s
		return
	}
	x.coded(describeProblem(field, name, err))
}

// tooLarge adds the problem that the part field passed the size limit.
func (x *run) tooLarge(field string) {
	x.coded(sizeProblem(field, x.m.max))
}

// coded adds p, which may carry a code, for the run's town and channel.
func (x *run) coded(p crier.Problem) {
	p.Town, p.Channel = x.req.Town.ID, x.req.Channel
	x.problems = append(x.problems, p)
}

func (x *run) err() error {
	return &crier.Error{
		Code:    crier.EINVALID,
		Message: fmt.Sprintf("cannot render for town %s, channel %s", x.req.Town.ID, x.req.Channel),
		Details: x.problems,
	}
}

// body executes the announcement's body as a template over d, with the
// town's values escaped for Markdown, converts the Markdown, and sets
// d.Body and d.BodyText.
func (x *run) body(d *Data) {
	const name = "body"
	if d.Event == crier.EventCanceled {
		// A cancel says why, or that the notice no longer holds; the
		// original body is not repeated.
		reason := cmp.Or(strings.TrimSpace(d.Reason), locale.T(d.Town.Language, "revision.canceled.body"))
		h, text, err := x.markdown([]byte(reason))
		if err != nil {
			x.failed("reason", "reason", err)
			return
		}
		if len(h) > x.m.max || len(text) > x.m.max {
			x.tooLarge("reason")
			return
		}
		d.Body, d.BodyText = htmltemplate.HTML(h), text
		return
	}
	// The body depends on the town, not the channel, unless it names the
	// channel: render it once per town when the engine shares a scratch map.
	key := "templates.body"
	if body := x.req.Announcement.Body; strings.Contains(body, ".Channel") || strings.Contains(body, ".Type") {
		key += "\x00" + x.req.Channel + "\x00" + x.req.Type
	}
	if b, ok := x.req.Shared[key].(renderedBody); ok {
		if b.problem != nil {
			x.coded(*b.problem)
			return
		}
		d.Body, d.BodyText = b.html, b.text
		return
	}
	before := len(x.problems)
	x.renderBody(d)
	if x.req.Shared != nil && x.stop == nil {
		b := renderedBody{html: d.Body, text: d.BodyText}
		if len(x.problems) > before {
			b.problem = new(x.problems[before])
		}
		x.req.Shared[key] = b
	}
}

// renderedBody is a town's rendered body, or the problem rendering it had.
type renderedBody struct {
	html    htmltemplate.HTML
	text    string
	problem *crier.Problem
}

// renderBody executes the body as a template over the town's data and
// renders the Markdown result.
func (x *run) renderBody(d *Data) {
	const name = "body"
	t, err := texttemplate.New(name).Option("missingkey=error").Funcs(x.m.bodyFuncs(x.fm)).Parse(x.req.Announcement.Body)
	if err != nil {
		x.coded(describeProblem(name, name, err))
		return
	}
	if unbounded := boundedBody(t); len(unbounded) > 0 {
		for _, u := range unbounded {
			x.coded(u)
		}
		return
	}
	src := x.m.writer()
	if err := t.Execute(src, d.markdownSafe()); err != nil {
		x.failed(name, name, err)
		return
	}
	if n := len(src.String()); n > MaxMarkdown {
		x.coded(crier.Problemf(name, "body.markdown_size",
			"is %v of Markdown with the town's values filled in; at most %v are converted, a notice rarely needs a tenth of that",
			crier.SizeText(int64(n)), crier.SizeText(MaxMarkdown)))
		return
	}
	h, text, err := x.markdown([]byte(src.String()))
	if err != nil {
		x.failed(name, name, err)
		return
	}
	if len(h) > x.m.max || len(text) > x.m.max {
		x.tooLarge(name)
		return
	}
	d.Body = htmltemplate.HTML(h) // goldmark without raw HTML, links checked by linkPolicy
	d.BodyText = text
}

// exec executes the template name for the request's town and channel. It
// records a problem and returns false when that fails.
func (x *run) exec(name string, d *Data) (string, bool) {
	t := x.r.lookup(x.req.Town.ID, x.req.Channel, name)
	w := x.m.writer()
	if err := t.execute(x.fm, d, w); err != nil {
		x.failed("template "+t.name, t.name, err)
		return "", false
	}
	return w.String(), true
}

// subject executes the subject template and checks that the result is one
// line that a mail header can carry.
func (x *run) subject(d *Data) string {
	s, ok := x.exec(emailSubject, d)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	field := "template " + x.r.lookup(x.req.Town.ID, x.req.Channel, emailSubject).name
	switch {
	case s == "":
		x.coded(crier.Problemf(field, "template.subject_empty", "the subject is empty"))
	case strings.ContainsFunc(s, isControl):
		x.coded(crier.Problemf(field, "template.subject_line", "the subject must be a single line without control characters, got %q", s))
	}
	return s
}

func isControl(c rune) bool { return c < 0x20 || c == 0x7f }
