package crier

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Engine validates, renders and commits announcements. It never sends:
// delivery is the Workers' job, driven by the queue the engine fills.
type Engine struct {
	Directory *Directory
	// Channels maps channel ids to their configuration.
	Channels map[string]*ChannelInfo
	Renderer Renderer
	Store    AnnouncementStore
	Clock    Clock
	// Mode is the instance mode. Announcements without a mode get it, and
	// an instance in exercise or test mode sends everything to the capture
	// sink, whatever an announcement says.
	Mode Mode
	// PublicURL is the base of links to announcement pages.
	PublicURL string
	// NewID returns a fresh announcement id; default: 16 random base32 characters.
	NewID func() string
	// Notify, when set, is called after a commit so that workers wake up.
	Notify func()
	// Limits bound the work of rendering one announcement; zero fields
	// take their defaults.
	Limits RenderLimits
	// Approval says which announcements wait for an approver; nil: none.
	Approval *ApprovalPolicy
	// Submissions keeps what waits for approval; required with Approval.
	Submissions SubmissionStore
	// Schedules, when set, schedules approved submissions that have a
	// PublishAt.
	Schedules ScheduleCreator
}

// Causes of a rendering stopped at a limit of the announcement: what the
// render context of Preview was canceled with.
var (
	errRenderTimeout = errors.New("rendering time limit reached")
	errRenderSize    = errors.New("rendering size limit reached")
)

// Preview validates and renders a for every targeted town × channel, and
// each targeted town's page (Plan.Pages), without committing anything. The
// plan lists every problem; err is for failures of crier itself, for ctx
// done (the client has gone), and for an announcement whose rendering took
// longer than Limits.Timeout or grew larger than Limits.MaxAnnouncement:
// that is an EINVALID error listing the limit and every other problem
// found, and no plan.
//
// Towns render side by side; when ctx is done or a limit is reached, the
// towns being rendered stop at their next write and no further town starts.
func (e *Engine) Preview(ctx context.Context, a *Announcement) (*Plan, error) {
	a.SetDefaults(e.Mode)
	if a.ID == "" {
		a.ID = e.newID()
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = e.Clock.Now()
	}
	p := &Plan{Announcement: a}
	p.Problems = a.Validate(e.Clock.Now())
	towns, problems := e.Directory.Resolve(a.Towns)
	p.Towns = towns
	p.Problems = append(p.Problems, problems...)
	p.Problems = append(p.Problems, e.checkSelection(a, towns)...)

	limits := e.Limits.WithDefaults()
	// The render context ends with ctx, at the time limit, or when the
	// messages grow past the size limit; its cause tells which.
	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	rctx, cancel := context.WithTimeoutCause(rctx, limits.Timeout, errRenderTimeout)
	defer cancel()
	r := &townRender{ctx: rctx, limits: limits, stop: stop}
	// The time limit bounds work on this machine's processors, so it is
	// this process's time, not the injected Clock.
	start := time.Now()

	// Towns render independently of each other, side by side on as many
	// cores as there are; the plan lists them in order.
	parts := make([]Plan, len(towns))
	inParallel(len(towns), func(i int) {
		if rctx.Err() != nil {
			return // stopped: no further town starts
		}
		parts[i].Announcement = a
		e.renderTown(r, &parts[i], e.Directory.Town(towns[i]))
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cause := context.Cause(rctx)
	if cause == nil && time.Since(start) >= limits.Timeout {
		cause = errRenderTimeout // finished, but not in time: the timer has not fired yet
	}
	if cause != nil {
		return nil, e.stopped(p.Problems, parts, cause, limits)
	}
	for _, part := range parts {
		p.Messages = append(p.Messages, part.Messages...)
		p.Pages = append(p.Pages, part.Pages...)
		p.Problems = append(p.Problems, part.Problems...)
	}
	if len(p.Messages) == 0 && len(p.Problems) == 0 {
		p.Problems = append(p.Problems, Problemf("channels", "channels.none_targeted", "the targeted towns have none of the selected channels"))
	}
	p.Notes = append(e.notes(p.Messages), omissionNotes(p.Messages)...)
	return p, nil
}

// townRender is what the towns of one Preview share: the render context,
// the limits, and the size of everything rendered so far.
type townRender struct {
	ctx    context.Context
	limits RenderLimits
	stop   context.CancelCauseFunc
	size   atomic.Int64
}

// add counts m's size and stops the rendering once everything rendered
// exceeds the announcement's limit.
func (r *townRender) add(m *Message) {
	if r.size.Add(m.Size()) > r.limits.MaxAnnouncement {
		r.stop(errRenderSize)
	}
}

// stopped is the error of a rendering stopped at a limit: the limit and
// every problem found before it, of the announcement and of the towns.
func (e *Engine) stopped(problems []Problem, parts []Plan, cause error, limits RenderLimits) error {
	var limit Problem
	switch {
	case errors.Is(cause, errRenderSize):
		limit = Problemf("body", "limit.announcement_size",
			"the rendered messages of all towns and channels together are larger than the limit of %v per announcement; rendering was stopped. Shorten the text, or publish it for fewer towns at a time",
			SizeText(limits.MaxAnnouncement))
	case errors.Is(cause, errRenderTimeout):
		limit = Problemf("body", "limit.render_time",
			"rendering for all towns took longer than the limit of %v and was stopped; the body does too much work",
			limits.Timeout)
	default:
		return fmt.Errorf("render: %w", cause)
	}
	ps := append([]Problem{limit}, problems...)
	for _, part := range parts {
		ps = append(ps, part.Problems...)
	}
	return Invalid(fmt.Sprintf("announcement rejected: %d problem(s), nothing was queued", len(ps)), ps)
}

// SizeText writes n bytes for people: "256 KiB", "32 MiB", "1000 bytes".
func SizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// NoteShortened is the code of the note that a message leaves part of the
// announcement's body out (Message.Omitted). Args are the paragraphs
// missing, the body's paragraphs, the characters missing and the
// beginning of the missing text.
const NoteShortened = "message.shortened"

// omissionNotes returns a note for every message that leaves part of the
// body out, naming its town, in message order.
func omissionNotes(ms []*Message) []Note {
	var out []Note
	for _, m := range ms {
		if m.Omitted != nil {
			out = append(out, OmissionNote(m))
		}
	}
	return out
}

// OmissionNote returns the NoteShortened note of m, which must have
// Omitted set.
func OmissionNote(m *Message) Note {
	o := m.Omitted
	return Note{
		Channel: m.Channel, Town: m.Town, Code: NoteShortened,
		Args: []string{strconv.Itoa(o.Paragraphs), strconv.Itoa(o.Total), strconv.Itoa(o.Characters), o.From},
		Message: fmt.Sprintf("shortened by %d characters (paragraphs affected: %d of %d), from %q",
			o.Characters, o.Paragraphs, o.Total, o.From),
	}
}

// notes returns the notes of every channel that has messages, once per
// channel, in the order the channels first appear.
func (e *Engine) notes(ms []*Message) []Note {
	var out []Note
	seen := make(map[string]bool)
	for _, m := range ms {
		if seen[m.Channel] {
			continue
		}
		seen[m.Channel] = true
		ch := e.Channels[m.Channel]
		if ch == nil {
			continue
		}
		if n, ok := ch.Channel.(Noter); ok {
			for _, note := range n.Notes() {
				note.Channel = ch.ID
				out = append(out, note)
			}
		}
	}
	return out
}

// renderTown renders and checks the messages of town t for p's
// announcement, and its page, into p. When r's context is done, it stops
// and leaves the reason to Preview.
func (e *Engine) renderTown(r *townRender, p *Plan, t *Town) {
	a := p.Announcement
	capture := e.Mode != ModeActual || a.Mode != ModeActual
	shared := make(map[string]any, 2)
	for _, chID := range t.Channels {
		if len(a.Channels) > 0 && !slices.Contains(a.Channels, chID) {
			continue
		}
		ch := e.Channels[chID]
		if ch == nil {
			continue // config validation makes this impossible
		}
		req := &RenderRequest{
			Context: r.ctx, MaxSize: r.limits.MaxMessage,
			Announcement: a, Town: t, Channel: ch.ID, Type: ch.Type, Link: e.link(t.ID, a.ID), Shared: shared,
		}
		if l, ok := ch.Channel.(Limiter); ok {
			if lim := l.TextLimit(); lim.Max > 0 && lim.Length != nil {
				req.Limit = &lim
			}
		}
		m, err := e.Renderer.Render(req)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			p.Problems = append(p.Problems, renderProblems(err, t.ID, ch.ID)...)
			continue
		}
		r.add(m)
		m.Capture = capture
		m.PerSubscriber = ch.PerSubscriber
		if c, ok := ch.Channel.(Checker); ok {
			for _, pr := range c.Check(r.ctx, m) {
				pr.Town, pr.Channel = t.ID, ch.ID
				p.Problems = append(p.Problems, pr)
			}
		}
		p.Messages = append(p.Messages, m)
	}
	e.page(r, p, t, shared, capture)
}

// inParallel calls fn for every i in [0, n) on up to GOMAXPROCS
// goroutines and returns when all calls have.
func inParallel(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// page renders the town's page of the emergency website into p.Pages,
// reusing the body the channels rendered through shared. A problem that a
// channel of the town reported already (the same body error) is not listed
// twice.
func (e *Engine) page(r *townRender, p *Plan, t *Town, shared map[string]any, capture bool) {
	m, err := e.Renderer.Render(&RenderRequest{
		Context: r.ctx, MaxSize: r.limits.MaxMessage,
		Announcement: p.Announcement, Town: t, Channel: PageType, Type: PageType,
		Link: e.link(t.ID, p.Announcement.ID), Shared: shared,
	})
	if r.ctx.Err() != nil {
		return
	}
	if err != nil {
		for _, pr := range renderProblems(err, t.ID, PageType) {
			if !slices.ContainsFunc(p.Problems, func(q Problem) bool {
				return q.Town == pr.Town && q.Field == pr.Field && q.Message == pr.Message
			}) {
				p.Problems = append(p.Problems, pr)
			}
		}
		return
	}
	r.add(m)
	m.Capture = capture
	p.Pages = append(p.Pages, m)
}

// Publish validates and renders a, then commits it with all its
// deliveries in one transaction. Any problem anywhere rejects the whole
// announcement with an EINVALID error listing every problem, and nothing
// is queued. A repeated idempotencyKey returns the earlier result. A
// principal in ctx that may not publish real notices (AuthorizeMode) gets
// a forbidden error for one in mode actual, and so does an Update of one.
//
// The author is the Principal of ctx (SetAuthor). When the announcement
// needs approval (see PublishWith), it is stored as a Submission instead,
// and the result's State is SubmissionPending.
func (e *Engine) Publish(ctx context.Context, a *Announcement, idempotencyKey string) (*PublishResult, error) {
	return e.PublishWith(ctx, a, idempotencyKey, PublishOptions{})
}

// PublishWith is Publish with the publisher's choices about approval. An
// announcement waits for an approver, checked and rendered but with
// nothing queued, when o.Submit asks for it, or when the Approval policy
// requires it for its towns and severity and the principal of ctx is not
// an admin with o.SkipApproval. An admin's publish that skips a required
// approval is recorded as EmergencyPublish; SkipApproval from anyone else
// is forbidden. Work without a principal (the scheduler) never waits.
func (e *Engine) PublishWith(ctx context.Context, a *Announcement, idempotencyKey string, o PublishOptions) (*PublishResult, error) {
	if res, err := e.earlier(ctx, idempotencyKey); res != nil || err != nil {
		return res, err
	}
	return e.publish(ctx, a, idempotencyKey, o)
}

// publish is PublishWith once the idempotency key has been looked up.
func (e *Engine) publish(ctx context.Context, a *Announcement, idempotencyKey string, o PublishOptions) (*PublishResult, error) {
	// A withdrawal is never refused for its mode: whoever may cancel may
	// take a real notice back.
	if a.Event != EventCanceled {
		mode := a.Mode
		if mode == "" {
			mode = e.Mode
		}
		if err := AuthorizeMode(PrincipalFrom(ctx), mode); err != nil {
			return nil, err
		}
	}
	who := PrincipalFrom(ctx)
	if err := skipAllowed(who, o); err != nil {
		return nil, err
	}
	SetAuthor(ctx, a)
	p, err := e.Preview(ctx, a)
	if err != nil {
		return nil, err
	}
	if err := Invalid(fmt.Sprintf("announcement rejected: %d problem(s), nothing was queued", len(p.Problems)), p.Problems); err != nil {
		return nil, err
	}
	if e.submits(who, a, p.Towns, o) {
		return e.submit(ctx, a, idempotencyKey, o.PublishAt)
	}
	res, err := e.Store.CreateAnnouncement(ctx, p, idempotencyKey, e.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("commit announcement: %w", err)
	}
	if e.Notify != nil {
		e.Notify()
	}
	return res, nil
}

// Update publishes a as the next revision of the announcement id, which
// corrects it: every channel edits or answers its earlier post where it
// can, or sends the update as a message of its own (email "Aktualisierung:",
// a webhook's announcement.updated). The mode must stay the announcement's.
// A canceled announcement cannot be updated (conflict).
func (e *Engine) Update(ctx context.Context, id string, a *Announcement, idempotencyKey string) (*PublishResult, error) {
	return e.UpdateWith(ctx, id, a, idempotencyKey, PublishOptions{})
}

// UpdateWith is Update with the publisher's choices about approval: a
// correction needs approval as a publish does (see PublishWith).
func (e *Engine) UpdateWith(ctx context.Context, id string, a *Announcement, idempotencyKey string, o PublishOptions) (*PublishResult, error) {
	if res, err := e.earlier(ctx, idempotencyKey); res != nil || err != nil {
		return res, err
	}
	prev, err := e.revisable(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Mode == "" {
		a.Mode = prev.Mode
	}
	if a.Mode != prev.Mode {
		return nil, Invalid("update rejected, nothing was queued", []Problem{Problemf("mode", "mode.must_stay",
			"must stay %v, the mode of the announcement it updates", prev.Mode)})
	}
	if unchanged(prev, a) {
		return nil, Errorf(ECONFLICT, "nothing changed: the update says what revision %d of %s says, so nothing was queued; "+
			"change its text, towns, channels, classification or expiry", prev.Revision, id)
	}
	a.ID, a.Revision, a.Event, a.CreatedAt = id, prev.Revision+1, EventUpdated, time.Time{}
	return e.publish(ctx, a, idempotencyKey, o)
}

// unchanged reports whether the update a says what prev says, so that it
// would send every subscriber a correction that corrects nothing.
func unchanged(prev, a *Announcement) bool { return SameContent(prev, a) }

// Cancel withdraws the announcement id with a new revision: every channel
// deletes or answers its earlier post where it can, or sends the
// cancellation as a message of its own (email "Aufgehoben:", a webhook's
// announcement.canceled) with reason as its text; deliveries not sent yet
// are canceled and never sent. A cancel does not expire. Canceling twice
// is a conflict.
func (e *Engine) Cancel(ctx context.Context, id, reason, idempotencyKey string) (*PublishResult, error) {
	if res, err := e.earlier(ctx, idempotencyKey); res != nil || err != nil {
		return res, err
	}
	prev, err := e.revisable(ctx, id)
	if err != nil {
		return nil, err
	}
	a := *prev
	a.Revision, a.Event, a.Reason = prev.Revision+1, EventCanceled, reason
	a.Expires, a.CreatedAt = time.Time{}, time.Time{}
	a.Author, a.Approver, a.Approval = "", "", ""
	// A cancel never waits for approval: withdrawing must stay fast.
	return e.publish(ctx, &a, idempotencyKey, PublishOptions{})
}

// earlier returns the result of an earlier request with idempotencyKey, so
// that a client repeating a request whose answer it lost gets that answer,
// even where the request would no longer pass (an announcement canceled by
// it, an expiry passed since). The store checks the key again when it
// commits, for two requests at once.
func (e *Engine) earlier(ctx context.Context, idempotencyKey string) (*PublishResult, error) {
	if idempotencyKey == "" {
		return nil, nil
	}
	res, err := e.Store.EarlierResult(ctx, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	}
	if res != nil || e.Submissions == nil {
		return res, nil
	}
	s, err := e.Submissions.SubmissionByKey(ctx, idempotencyKey)
	if err != nil || s == nil {
		return nil, err
	}
	return &PublishResult{Announcement: s.Announcement, Existing: true, State: s.State}, nil
}

// revisable returns the latest revision of id, or a conflict error when it
// was canceled.
func (e *Engine) revisable(ctx context.Context, id string) (*Announcement, error) {
	prev, err := e.Store.Announcement(ctx, id)
	if err != nil {
		return nil, err
	}
	if prev.Event == EventCanceled {
		return nil, Errorf(ECONFLICT, "announcement %s was canceled in revision %d", id, prev.Revision)
	}
	return prev, nil
}

// checkSelection reports selected channels that are unknown or that no
// targeted town publishes to.
func (e *Engine) checkSelection(a *Announcement, towns []string) []Problem {
	var ps []Problem
	for i, id := range a.Channels {
		if e.Channels[id] == nil {
			ps = append(ps, Problemf(fmt.Sprintf("channels[%d]", i), "channels.unknown", "unknown channel %q", id))
			continue
		}
		used := false
		for _, t := range towns {
			if slices.Contains(e.Directory.Town(t).Channels, id) {
				used = true
				break
			}
		}
		if !used && len(towns) > 0 {
			ps = append(ps, Problemf(fmt.Sprintf("channels[%d]", i), "channels.not_targeted", "channel %q is not a channel of any targeted town", id))
		}
	}
	return ps
}

func (e *Engine) link(town, id string) string {
	base := strings.TrimRight(e.PublicURL, "/")
	return base + "/" + url.PathEscape(town) + "/" + url.PathEscape(id)
}

func (e *Engine) newID() string {
	if e.NewID != nil {
		return e.NewID()
	}
	return NewID()
}

// NewID returns 16 random lower-case base32 characters: 80 bits, enough
// that ids never repeat across databases, which keeps idempotency keys
// unique for receivers that remember them.
func NewID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// renderProblems turns a renderer error into problems that name the town
// and channel.
func renderProblems(err error, town, channel string) []Problem {
	details := ErrorDetails(err)
	if len(details) == 0 {
		return []Problem{{Town: town, Channel: channel, Message: err.Error()}}
	}
	out := make([]Problem, len(details))
	for i, p := range details {
		if p.Town == "" {
			p.Town = town
		}
		if p.Channel == "" {
			p.Channel = channel
		}
		out[i] = p
	}
	return out
}
