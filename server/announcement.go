package server

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/schedule"
)

// AnnouncementPage is one page of GET /api/v1/announcements, newest first.
type AnnouncementPage struct {
	Announcements []*crier.Announcement `json:"announcements"`
	// NextBefore is the before= value of the next older page; empty when
	// there is none.
	NextBefore string `json:"next_before,omitempty"`
	// NextAfter is the after= value of the page of newer ones: the first
	// one's position, or the after= asked for when there were none.
	NextAfter string `json:"next_after,omitempty"`
}

// Status is the delivery progress of one announcement.
type Status struct {
	Announcement *crier.Announcement `json:"announcement"`
	// Scope, when set, are the only towns whose deliveries Counts and
	// the totals count: the principal may read only these of the
	// announcement's towns.
	Scope []string `json:"scope,omitempty"`
	// Counts are the deliveries per town × channel × state.
	Counts []crier.Count `json:"counts"`
	// Totals sums Counts per state; every state is present.
	Totals map[crier.State]int `json:"totals"`
	Total  int                 `json:"total"`
	// Final is how many deliveries are in a final state.
	Final int `json:"final"`
	// Done is true when every delivery is final (none is queued, sending
	// or waiting for an earlier revision's): nothing changes any more until
	// a person retries some.
	Done bool `json:"done"`
	// Submission is the announcement's latest submission for approval,
	// if it had one: waiting (State pending_approval), or decided, with
	// the reason of a rejection. An announcement that waits for its first
	// approval has no deliveries, and Announcement is what was submitted.
	Submission *crier.Submission `json:"submission,omitempty"`
}

func newStatus(a *crier.Announcement, counts []crier.Count) *Status {
	st := &Status{Announcement: a, Counts: counts, Totals: make(map[crier.State]int, len(crier.States))}
	if st.Counts == nil {
		st.Counts = []crier.Count{}
	}
	slices.SortStableFunc(st.Counts, func(x, y crier.Count) int {
		if c := strings.Compare(x.Town, y.Town); c != 0 {
			return c
		}
		if c := strings.Compare(x.Channel, y.Channel); c != 0 {
			return c
		}
		return slices.Index(crier.States, x.State) - slices.Index(crier.States, y.State)
	})
	for _, s := range crier.States {
		st.Totals[s] = 0
	}
	final := 0
	for _, c := range counts {
		st.Totals[c.State] += c.N
		st.Total += c.N
		if c.State.Final() {
			final += c.N
		}
	}
	st.Final = final
	st.Done = final == st.Total
	return st
}

// Bodies of the announcement routes, shared with the Client.
type (
	deliveryPage struct {
		Deliveries []*crier.Delivery `json:"deliveries"`
		// NextAfter is the after= value of the next page, or 0 when this
		// page is the last.
		NextAfter int64 `json:"next_after"`
	}
	attemptList struct {
		Attempts []*crier.Attempt `json:"attempts"`
	}
	retryRequest struct {
		States []crier.State `json:"states"`
	}
	retryResult struct {
		Requeued int `json:"requeued"`
	}
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// retryable returns the states a person may put back in the queue. Sent,
// canceled and expired deliveries are never resent: that would duplicate
// or revive a post.
func retryable() []crier.State { return []crier.State{crier.StateFailed, crier.StateUnknown} }

// createAnnouncement publishes the announcement in the body: 202 with the
// result, 200 when the Idempotency-Key was seen before, 422 listing every
// problem when anything is wrong (nothing is then queued). A publish_at in
// the future stores it as a one-off schedule instead (202, a
// ScheduledResult), or answers 409 when an active or paused schedule
// publishes the same at that time and the query does not say again=true;
// one at most schedule.PublishAtTolerance in the past publishes at once;
// an older one is refused as in the past.
func (s *Server) createAnnouncement(w http.ResponseWriter, r *http.Request) {
	var req publishAtRequest
	if err := decodeJSON(w, r, &req, s.maxBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	action := crier.ActionPublish
	if !req.PublishAt.IsZero() {
		action = crier.ActionSchedule
	}
	if err := s.authorize(r, action, req.Announcement.Towns); err != nil {
		s.error(w, r, err)
		return
	}
	o := crier.PublishOptions{Submit: req.Submit, SkipApproval: req.SkipApproval}
	submits, err := s.engine.Submits(r.Context(), &req.Announcement, o)
	if err != nil {
		s.error(w, r, err)
		return
	}
	now := s.clock.Now()
	if !req.PublishAt.IsZero() && s.schedules != nil {
		// A repeated request that stored a schedule gets its answer again,
		// whenever it comes.
		sc, err := s.schedules.Created(r.Context(), r.Header.Get("Idempotency-Key"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		if sc != nil {
			s.scheduled(w, r, sc, true)
			return
		}
	}
	late := now.Sub(req.PublishAt)
	if !req.PublishAt.IsZero() && (late < 0 || late > schedule.PublishAtTolerance) && !submits {
		s.scheduleAnnouncement(w, r, &req, now)
		return
	}
	a := req.Announcement
	key := r.Header.Get("Idempotency-Key")
	problems := newAnnouncementProblems(&a)
	problems = append(problems, idempotencyKeyProblems(key)...)
	if submits && !req.PublishAt.IsZero() {
		// Approved, it is published then, or at once when that has passed.
		o.PublishAt = req.PublishAt
		if late > schedule.PublishAtTolerance {
			problems = append(problems, crier.Problemf("publish_at", "in_past", "%v is in the past", req.PublishAt.Format(time.RFC3339)))
		}
	}
	if len(problems) > 0 {
		// List the engine's problems too, so that one answer names them all.
		s.rejectWithPreview(w, r, &a, problems)
		return
	}
	res, err := s.engine.PublishWith(r.Context(), &a, key, o)
	if err != nil {
		s.error(w, r, err)
		return
	}
	status := http.StatusAccepted
	if res.Existing {
		status = http.StatusOK
	}
	if res.Announcement != nil {
		w.Header().Set("Location", "/api/v1/announcements/"+url.PathEscape(res.Announcement.ID))
	}
	s.writeJSON(w, r, status, res)
}

// preview renders and checks the announcement in the body without
// committing anything: 200 with the plan, whose Problems list everything
// that publishing would reject.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	var a crier.Announcement
	if err := decodeJSON(w, r, &a, s.maxBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.authorize(r, crier.ActionPreview, a.Towns); err != nil {
		s.error(w, r, err)
		return
	}
	problems := newAnnouncementProblems(&a)
	p, err := s.engine.Preview(r.Context(), &a)
	if err != nil {
		if crier.ErrorCode(err) == crier.EINVALID {
			// Rendering stopped at a limit: no plan, 422.
			ps := append(problems, crier.ErrorDetails(err)...)
			err = crier.Invalid(rejected(len(ps)), ps)
		}
		s.error(w, r, err)
		return
	}
	lang := locale.Accept(r.Header.Get("Accept-Language"))
	p.Problems = s.summarize(r, localizeProblems(append(problems, p.Problems...), lang))
	if p.Messages == nil {
		p.Messages = []*crier.Message{}
	}
	localizeNotes(p.Notes, lang)
	s.writeJSON(w, r, http.StatusOK, p)
}

// rejectWithPreview refuses the announcement a with problems and every
// problem its preview finds, so that one answer names them all.
func (s *Server) rejectWithPreview(w http.ResponseWriter, r *http.Request, a *crier.Announcement, problems []crier.Problem) {
	p, err := s.engine.Preview(r.Context(), a)
	switch {
	case crier.ErrorCode(err) == crier.EINVALID:
		problems = append(problems, crier.ErrorDetails(err)...)
	case err != nil:
		s.error(w, r, err)
		return
	default:
		problems = append(problems, p.Problems...)
	}
	s.error(w, r, crier.Invalid(rejected(len(problems)), problems))
}

// localizeNotes gives each note's text in lang (German unless the request
// asks for English); Code and Args stay for programs.
func localizeNotes(notes []crier.Note, lang string) {
	for i, n := range notes {
		if text, ok := locale.Note(lang, n.Code, n.Args); ok {
			notes[i].Message = text
		}
	}
}

func rejected(n int) string {
	return fmt.Sprintf("announcement rejected: %d problem(s), nothing was queued", n)
}

// newAnnouncementProblems reports fields that the server assigns to a new
// announcement. Accepting them would let a request overwrite or fork an
// existing announcement.
func newAnnouncementProblems(a *crier.Announcement) []crier.Problem {
	var ps []crier.Problem
	if a.ID != "" {
		ps = append(ps, crier.Problemf("id", "request.server_assigned", "is assigned by the server; leave it out"))
	}
	if a.Revision != 0 && a.Revision != 1 {
		ps = append(ps, crier.Problemf("revision", "request.new_revision", "is %v; a new announcement is revision 1", a.Revision))
	}
	if !a.CreatedAt.IsZero() {
		ps = append(ps, crier.Problemf("created_at", "request.server_set", "is set by the server; leave it out"))
	}
	ps = append(ps, authorshipProblems(a)...)
	if a.Event != "" && a.Event != crier.EventPublished {
		ps = append(ps, crier.Problemf("event", "request.event", "is set by update and cancel; leave it out"))
	}
	return ps
}

func idempotencyKeyProblems(key string) []crier.Problem {
	bad := len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(r rune) bool { return r < '!' || r > '~' })
	if !bad {
		return nil
	}
	return []crier.Problem{crier.Problemf("Idempotency-Key", "request.idempotency_key",
		"must be at most %v printable ASCII characters without spaces", maxIdempotencyKey)}
}

// listAnnouncements answers one page of the announcements that concern
// the principal's towns (every one for an admin), newest first, filtered
// by the query's town, state and mode, and paged with the before= and
// after= cursors of the previous page.
func (s *Server) listAnnouncements(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := crier.AnnouncementFilter{
		Scope: s.readScope(r),
		State: q.str("state"),
		Now:   s.clock.Now(),
		Mode:  crier.Mode(q.str("mode")),
		Limit: q.limit(),
	}
	if f.Scope != nil {
		f.Scope = s.directory.Targeting(f.Scope)
	}
	town := q.str("town")
	if town != "" {
		if s.directory.Town(town) == nil {
			q.add(crier.Problemf("town", "request.town", "%q is no configured town", town))
		}
		f.Town = s.directory.Targeting([]string{town})
	}
	if f.State != "" && !slices.Contains(crier.AnnouncementStates, f.State) {
		q.add(crier.Problemf("state", "not_one_of", "%q is not one of %v", f.State, strings.Join(crier.AnnouncementStates, ", ")))
	}
	if f.Mode != "" && !f.Mode.Valid() {
		q.add(crier.Problemf("mode", "not_one_of", "%q is not one of %v", f.Mode, "actual, exercise, test"))
	}
	for _, c := range []struct {
		name string
		to   *crier.Cursor
	}{{"before", &f.Before}, {"after", &f.After}} {
		var err error
		if *c.to, err = crier.ParseCursor(q.str(c.name)); err != nil {
			q.add(crier.Problemf(c.name, "request.cursor", "is not a position from next_before or next_after"))
		}
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.authorizeTownParam(r, town); err != nil {
		s.error(w, r, err)
		return
	}
	// Ask for one more than the page so that a full page says whether
	// more follow.
	limit := f.Limit
	f.Limit++
	as, err := s.store.FindAnnouncements(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page := AnnouncementPage{NextAfter: f.After.String()}
	more := len(as) > limit
	if more && !f.After.IsZero() {
		as = as[1:] // the extra one is the newest: the page is the one next to the cursor
	} else if more {
		as = as[:limit]
	}
	if len(as) > 0 {
		page.NextAfter = crier.CursorOf(as[0]).String()
		if more || !f.After.IsZero() {
			page.NextBefore = crier.CursorOf(as[len(as)-1]).String()
		}
	}
	page.Announcements = orEmpty(as)
	s.writeJSON(w, r, http.StatusOK, page)
}

// announcementStatus answers the Status of one announcement, or 404. A
// principal who may read only some of its towns gets the counts of those.
func (s *Server) announcementStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sub, err := s.submission(r, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	st, err := LoadStatus(r.Context(), s.store, s.directory, id, s.readScope(r))
	if crier.ErrorCode(err) == crier.ENOTFOUND && sub != nil {
		// Waiting for its first approval: what was submitted, no deliveries.
		st, err = newStatus(sub.Announcement, nil), nil
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	st.Submission = sub
	s.writeJSON(w, r, http.StatusOK, st)
}

// listDeliveries answers one page of an announcement's deliveries in id
// order. A full page carries the after= value of the next one.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := query{r: r}
	f := crier.DeliveryFilter{
		Announcement: id,
		Town:         q.str("town"),
		Channel:      q.str("channel"),
		State:        crier.State(q.str("state")),
		Towns:        s.readScope(r),
		AfterID:      q.id("after"),
		Limit:        q.limit(),
	}
	if f.State != "" && !f.State.Valid() {
		q.add(crier.Problemf("state", "not_one_of", "%q is not one of %v", f.State, statesText(crier.States)))
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.authorizeTownParam(r, f.Town); err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.store.Announcement(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	// Ask for one more than the page so that the last page says so.
	limit := f.Limit
	f.Limit++
	ds, err := s.store.Deliveries(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page := deliveryPage{Deliveries: orEmpty(ds)}
	if len(ds) > limit {
		page.Deliveries = ds[:limit]
		page.NextAfter = ds[limit-1].ID
	}
	s.writeJSON(w, r, http.StatusOK, page)
}

// listAttempts answers the attempts of one delivery, oldest first, or 404.
func (s *Server) listAttempts(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		s.error(w, r, crier.Errorf(crier.ENOTFOUND, "no delivery %q", raw))
		return
	}
	as, err := s.store.Attempts(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(as) == 0 {
		// No attempts yet, or no such delivery: only the second is a 404.
		if _, err := s.delivery(r); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.writeJSON(w, r, http.StatusOK, attemptList{Attempts: orEmpty(as)})
}

// delivery returns the stored delivery {id}, or a not_found error.
func (s *Server) delivery(r *http.Request) (*crier.Delivery, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return nil, crier.Errorf(crier.ENOTFOUND, "no delivery %q", raw)
	}
	// The store has no lookup by id; the first delivery after id-1 tells.
	ds, err := s.store.Deliveries(r.Context(), crier.DeliveryFilter{AfterID: id - 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 || ds[0].ID != id {
		return nil, crier.Errorf(crier.ENOTFOUND, "no delivery %d", id)
	}
	return ds[0], nil
}

// retry puts an announcement's failed and unknown deliveries (or those
// of the requested states among them) back in the queue and wakes the
// workers.
func (s *Server) retry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var req retryRequest
	if err := decodeJSON(w, r, &req, s.maxBody, true); err != nil {
		s.error(w, r, err)
		return
	}
	states, problems := retryStates(req.States)
	if err := crier.Invalid("nothing was retried", problems); err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.store.Announcement(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	n, err := s.store.Retry(r.Context(), id, states, s.clock.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if n > 0 && s.engine.Notify != nil {
		s.engine.Notify()
	}
	s.log.InfoContext(r.Context(), "deliveries requeued", "announcement", id, "states", states, "n", n)
	s.writeJSON(w, r, http.StatusOK, retryResult{Requeued: n})
}

// retryStates checks the requested states: every retryable state when
// none are given, without repeats.
func retryStates(requested []crier.State) ([]crier.State, []crier.Problem) {
	if len(requested) == 0 {
		return retryable(), nil
	}
	var (
		states   []crier.State
		problems []crier.Problem
	)
	for i, st := range requested {
		if !slices.Contains(retryable(), st) {
			problems = append(problems, crier.Problemf(fmt.Sprintf("states[%d]", i), "request.not_retryable",
				"%q cannot be retried; only %v deliveries can", st, statesText(retryable())))
			continue
		}
		if !slices.Contains(states, st) {
			states = append(states, st)
		}
	}
	return states, problems
}

func statesText(states []crier.State) string {
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// orEmpty makes nil slices encode as [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
