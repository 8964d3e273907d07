package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
)

// Bodies of the schedule routes, shared with the Client.
type (
	scheduleList struct {
		Schedules []*crier.Schedule `json:"schedules"`
	}
	// ScheduleDetail is a schedule with its latest runs, newest first.
	ScheduleDetail struct {
		Schedule *crier.Schedule      `json:"schedule"`
		Runs     []*crier.ScheduleRun `json:"runs"`
	}
	// ScheduledResult answers a publish with a publish_at in the future:
	// the announcement with the id it will have, no deliveries yet, and
	// the one-off schedule that will publish it.
	ScheduledResult struct {
		Announcement *crier.Announcement `json:"announcement"`
		Deliveries   int                 `json:"deliveries"`
		Schedule     *crier.Schedule     `json:"schedule"`
		// State is pending_approval when the announcement waits for an
		// approver, who schedules it by approving it.
		State crier.SubmissionState `json:"state,omitempty"`
	}
	// publishAtRequest is an announcement with the time to publish it,
	// and the publisher's choices about approval.
	publishAtRequest struct {
		crier.Announcement
		PublishAt    time.Time `json:"publish_at"`
		Submit       bool      `json:"submit,omitempty"`
		SkipApproval bool      `json:"skip_approval,omitempty"`
	}
)

// runsShown is how many runs GET /api/v1/schedules/{id} lists.
const runsShown = 50

// scheduleRoutes returns the schedule routes when the server
// has a scheduler:
//
//	POST   /api/v1/schedules?again=true    create (Idempotency-Key honoured); 201, 409 when a
//	                                       pending schedule publishes the same at the same times
//	                                       and again is not true
//	GET    /api/v1/schedules?state=        oldest first
//	GET    /api/v1/schedules/{id}          the schedule and its latest runs
//	PATCH  /api/v1/schedules/{id}          a schedule.Patch, checked like a new one
//	DELETE /api/v1/schedules/{id}          cancel: it never fires again
//	POST   /api/v1/schedules/{id}/pause
//	POST   /api/v1/schedules/{id}/resume
//
// POST /api/v1/announcements takes "publish_at" as well (see
// createAnnouncement).
//
// A schedule belongs to the towns of its announcement: creating, changing,
// pausing, resuming and removing it need crier.ActionSchedule there,
// reading it crier.ActionRead. The list needs admin rights: it is not
// filtered by town.
func (s *Server) scheduleRoutes() []route {
	if s.schedules == nil {
		return nil
	}
	return []route{
		{"POST /api/v1/schedules", crier.ActionSchedule, bodyTowns, s.createSchedule},
		{"GET /api/v1/schedules", crier.ActionRead, principalTowns, s.listSchedules},
		{"GET /api/v1/schedules/{id}", crier.ActionRead, storedSchedule, s.getSchedule},
		// A changed announcement's own towns are checked too (bodyTowns in
		// the handler).
		{"PATCH /api/v1/schedules/{id}", crier.ActionSchedule, storedSchedule, s.updateSchedule},
		{"DELETE /api/v1/schedules/{id}", crier.ActionSchedule, storedSchedule, s.cancelSchedule},
		{"POST /api/v1/schedules/{id}/pause", crier.ActionSchedule, storedSchedule, s.pauseSchedule},
		{"POST /api/v1/schedules/{id}/resume", crier.ActionSchedule, storedSchedule, s.resumeSchedule},
	}
}

// scheduleAnnouncement stores the announcement of req as a one-off
// schedule, or refuses it with every problem.
func (s *Server) scheduleAnnouncement(w http.ResponseWriter, r *http.Request, req *publishAtRequest, now time.Time) {
	key := r.Header.Get("Idempotency-Key")
	again, problems := againParam(r)
	problems = append(problems, newAnnouncementProblems(&req.Announcement)...)
	problems = append(problems, idempotencyKeyProblems(key)...)
	switch {
	case s.schedules == nil:
		problems = append(problems, crier.Problemf("publish_at", "request.no_schedules", "this server does not schedule announcements"))
	case !req.PublishAt.After(now):
		problems = append(problems, crier.Problemf("publish_at", "in_past", "%v is in the past", req.PublishAt.Format(time.RFC3339)))
	}
	if len(problems) > 0 {
		s.rejectWithPreview(w, r, &req.Announcement, problems)
		return
	}
	crier.SetAuthor(r.Context(), &req.Announcement)
	sc, existing, err := s.schedules.Create(r.Context(), &crier.Schedule{At: req.PublishAt, Announcement: &req.Announcement}, key, again)
	if err != nil {
		// The time is the request's publish_at, not a schedule's at.
		var e *crier.Error
		if errors.As(err, &e) {
			for i := range e.Details {
				if e.Details[i].Field == "at" {
					e.Details[i].Field = "publish_at"
				}
			}
		}
		s.error(w, r, repeatHint(err))
		return
	}
	s.scheduled(w, r, sc, existing)
}

// scheduled answers a publish_at request with the one-off schedule sc: 202,
// or 200 when a request with its key stored it before.
func (s *Server) scheduled(w http.ResponseWriter, r *http.Request, sc *crier.Schedule, existing bool) {
	status := http.StatusAccepted
	if existing {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/schedules/"+url.PathEscape(sc.ID))
	s.writeJSON(w, r, status, ScheduledResult{Announcement: schedule.Announcement(sc, sc.At), Schedule: sc})
}

// createSchedule stores the schedule in the body: 201 with it, 200 when
// the Idempotency-Key was seen before, 422 listing every problem, 409 when
// a pending schedule publishes the same notice at the same times and the
// query does not say again=true.
func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	var sc crier.Schedule
	if err := decodeJSON(w, r, &sc, s.maxBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	if sc.Announcement != nil {
		if err := s.authorize(r, crier.ActionSchedule, sc.Announcement.Towns); err != nil {
			s.error(w, r, err)
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	again, problems := againParam(r)
	problems = append(problems, newScheduleProblems(&sc)...)
	problems = append(problems, idempotencyKeyProblems(key)...)
	if len(problems) > 0 {
		s.error(w, r, crier.Invalid(fmt.Sprintf("schedule rejected: %d problem(s), nothing was scheduled", len(problems)), problems))
		return
	}
	if sc.Announcement != nil {
		if err := s.scheduleApproval(r, sc.Announcement); err != nil {
			s.error(w, r, err)
			return
		}
		crier.SetAuthor(r.Context(), sc.Announcement)
	}
	stored, existing, err := s.schedules.Create(r.Context(), &sc, key, again)
	if err != nil {
		s.error(w, r, repeatHint(err))
		return
	}
	status := http.StatusCreated
	if existing {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/schedules/"+url.PathEscape(stored.ID))
	s.writeJSON(w, r, status, stored)
}

// repeatHint adds to a refusal of a repeated schedule how to make it all
// the same.
func repeatHint(err error) error {
	var e *crier.Error
	if !errors.As(err, &e) || len(e.Details) != 1 || e.Details[0].Code != schedule.CodeRepeat {
		return err
	}
	out := *e
	out.Message += "; to schedule it a second time, repeat the request with again=true"
	return &out
}

// againParam reads the query parameter again, which creates a schedule
// even when a pending one publishes the same notice at the same times.
func againParam(r *http.Request) (bool, []crier.Problem) {
	v := r.URL.Query().Get("again")
	if v == "" {
		return false, nil
	}
	again, err := strconv.ParseBool(v)
	if err != nil {
		return false, []crier.Problem{crier.Problemf("again", "request.not_bool", "%q is not true or false", v)}
	}
	return again, nil
}

// newScheduleProblems reports fields the server assigns to a new schedule
// and its template.
func newScheduleProblems(sc *crier.Schedule) []crier.Problem {
	var ps []crier.Problem
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"id", sc.ID != ""}, {"state", sc.State != ""}, {"next_run", !sc.NextRun.IsZero()},
		{"last_run", !sc.LastRun.IsZero()}, {"created_at", !sc.CreatedAt.IsZero()}, {"updated_at", !sc.UpdatedAt.IsZero()},
	} {
		if f.set {
			ps = append(ps, crier.Problemf(f.name, "request.server_set", "is set by the server; leave it out"))
		}
	}
	if sc.Announcement != nil {
		for _, p := range newAnnouncementProblems(sc.Announcement) {
			p.Field = "announcement." + p.Field
			ps = append(ps, p)
		}
	}
	return ps
}

// listSchedules answers the schedules of the principal's towns (every
// one for an admin), oldest first; ?state= selects one state.
func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	var states []crier.ScheduleState
	if st := crier.ScheduleState(q.str("state")); st != "" {
		if !st.Valid() {
			q.add(crier.Problemf("state", "not_one_of", "%q is not one of %v", st, "active, paused, done, canceled"))
		}
		states = append(states, st)
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	var (
		ss  []*crier.Schedule
		err error
	)
	scope := s.readScope(r)
	finder, ok := s.schedules.Store.(scheduleFinder)
	switch {
	case scope == nil:
		ss, err = s.schedules.Store.Schedules(r.Context(), states...)
	case ok:
		ss, err = finder.SchedulesTargeting(r.Context(), s.directory.Targeting(scope), states...)
	default:
		err = crier.Errorf(crier.EFORBIDDEN, "this store lists schedules to admins only")
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, scheduleList{Schedules: orEmpty(ss)})
}

// scheduleFinder is a schedule store that can list the schedules of some
// towns; without one, only an admin may list schedules.
type scheduleFinder interface {
	SchedulesTargeting(ctx context.Context, targets []string, states ...crier.ScheduleState) ([]*crier.Schedule, error)
}

// getSchedule answers one schedule with its latest runs, or 404.
func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sc, err := s.schedules.Store.Schedule(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	runs, err := s.schedules.Store.Runs(r.Context(), id, runsShown)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, ScheduleDetail{Schedule: sc, Runs: orEmpty(runs)})
}

// updateSchedule changes a schedule with the schedule.Patch in the body,
// checked and rendered like a new one: 200, 422, 404, or 409 when it is
// done or canceled.
func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request) {
	var p schedule.Patch
	if err := decodeJSON(w, r, &p, s.maxBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	if p.Announcement != nil {
		if err := s.authorize(r, crier.ActionSchedule, p.Announcement.Towns); err != nil {
			s.error(w, r, err)
			return
		}
		var problems []crier.Problem
		for _, pr := range newAnnouncementProblems(p.Announcement) {
			pr.Field = "announcement." + pr.Field
			problems = append(problems, pr)
		}
		if err := crier.Invalid("schedule not changed", problems); err != nil {
			s.error(w, r, err)
			return
		}
		if err := s.scheduleApproval(r, p.Announcement); err != nil {
			s.error(w, r, err)
			return
		}
		crier.SetAuthor(r.Context(), p.Announcement)
	}
	sc, err := s.schedules.Update(r.Context(), r.PathValue("id"), &p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, sc)
}

// cancelSchedule removes a schedule: 200 with it, canceled; 409 when it is
// done already.
func (s *Server) cancelSchedule(w http.ResponseWriter, r *http.Request) {
	s.changeState(w, r, s.schedules.Cancel)
}

func (s *Server) pauseSchedule(w http.ResponseWriter, r *http.Request) {
	s.changeState(w, r, s.schedules.Pause)
}

func (s *Server) resumeSchedule(w http.ResponseWriter, r *http.Request) {
	s.changeState(w, r, s.schedules.Resume)
}

func (s *Server) changeState(w http.ResponseWriter, r *http.Request, op func(context.Context, string) (*crier.Schedule, error)) {
	sc, err := op(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, sc)
}
