package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/crierhq/crier"
)

// PublishAtTolerance is how far in the past a publish_at may lie and still
// publish at once: about the time a request takes. An older one is refused
// as in the past, because the person meant a time that has gone.
const PublishAtTolerance = time.Minute

// Patch changes a schedule: every field that is set replaces the
// schedule's. A one-off schedule stays one-off and a recurring one
// recurring.
type Patch struct {
	Spec *string    `json:"spec,omitempty"`
	At   *time.Time `json:"at,omitempty"`
	// Until set to the zero time removes the end.
	Until        *time.Time          `json:"until,omitempty"`
	ExpiresAfter *crier.Duration     `json:"expires_after,omitempty"`
	Announcement *crier.Announcement `json:"announcement,omitempty"`
}

// apply returns a copy of sc with p's fields.
func (p *Patch) apply(sc *crier.Schedule) *crier.Schedule {
	out := *sc
	if p.Spec != nil {
		out.Spec = NormalizeSpec(*p.Spec)
	}
	if p.At != nil {
		out.At = *p.At
	}
	if p.Until != nil {
		out.Until = *p.Until
	}
	if p.ExpiresAfter != nil {
		out.ExpiresAfter = *p.ExpiresAfter
	}
	if p.Announcement != nil {
		out.Announcement = template(p.Announcement)
	}
	return &out
}

// template returns a copy of a without the fields each run sets: every
// run is the first revision of an announcement of its own.
func template(a *crier.Announcement) *crier.Announcement {
	if a == nil {
		return nil
	}
	out := *a
	out.ID, out.Revision, out.CreatedAt, out.Event = "", 0, time.Time{}, ""
	return &out
}

// Create checks sc, renders the announcement of its first run for every
// town × channel, and stores it active with a new id. Every problem is
// listed in one EINVALID error, and nothing is stored then. A repeated
// non-empty idempotencyKey returns the schedule it created, with existing
// set. The id, state and run times of sc are ignored; the template's id,
// revision and creation time are cleared.
//
// A schedule that would publish what an active or paused one publishes,
// at the same times, is most likely the same file sent twice: unless again
// is true it is refused with an ECONFLICT error whose one detail (code
// CodeRepeat) names the schedule there is already.
func (s *Scheduler) Create(ctx context.Context, sc *crier.Schedule, idempotencyKey string, again bool) (stored *crier.Schedule, existing bool, err error) {
	s.init()
	// A repeated request gets its first answer, even where it would no
	// longer pass (its time has come since).
	if earlier, err := s.Created(ctx, idempotencyKey); earlier != nil || err != nil {
		return earlier, earlier != nil, err
	}
	now := s.Clock.Now()
	n := &crier.Schedule{
		ID: s.newID(), Spec: NormalizeSpec(sc.Spec), At: sc.At, Until: sc.Until, ExpiresAfter: sc.ExpiresAfter,
		Announcement: template(sc.Announcement), State: crier.ScheduleActive, CreatedAt: now, UpdatedAt: now,
	}
	first, problems, err := s.check(ctx, n, now)
	if err != nil {
		return nil, false, err
	}
	if err := crier.Invalid(rejected(len(problems)), problems); err != nil {
		return nil, false, err
	}
	if !again {
		if err := s.refuseRepeat(ctx, n); err != nil {
			return nil, false, err
		}
	}
	n.NextRun = first
	stored, existing, err = s.Store.CreateSchedule(ctx, n, idempotencyKey)
	if err != nil {
		return nil, false, err
	}
	if !existing {
		s.Logger.Info("schedule created", "schedule", stored.ID, "when", when(stored), "next_run", stored.NextRun,
			"title", stored.Announcement.Title)
		s.Notify()
	}
	return stored, existing, nil
}

// CodeRepeat is the code of the problem that refuses a schedule because a
// pending one publishes the same notice at the same times. Its Args are
// that schedule's id and when it fires (RFC 3339 time or cron spec).
const CodeRepeat = "schedule.repeat"

// refuseRepeat returns a conflict when an active or paused schedule
// publishes what n would, at the same times. It is a check for the
// mistake of sending one file twice, not a lock: two such requests at the
// same instant may both pass.
func (s *Scheduler) refuseRepeat(ctx context.Context, n *crier.Schedule) error {
	pending, err := s.Store.Schedules(ctx, crier.ScheduleActive, crier.SchedulePaused)
	if err != nil {
		return fmt.Errorf("look up pending schedules: %w", err)
	}
	for _, p := range pending {
		if !sameSchedule(p, n) {
			continue
		}
		msg := fmt.Sprintf("schedule %s already publishes the same notice at the same time (%s): nothing was scheduled",
			p.ID, when(p))
		return &crier.Error{Code: crier.ECONFLICT, Message: msg, Details: []crier.Problem{crier.Problemf("again", CodeRepeat,
			"schedule %v already publishes the same notice at the same time (%v): nothing was scheduled", p.ID, when(p))}}
	}
	return nil
}

// sameSchedule reports whether a and b fire at the same times with the
// same notice. A mode left out is the instance's default when the run
// fires, so it equals only a mode left out.
func sameSchedule(a, b *crier.Schedule) bool {
	if a.Announcement == nil || b.Announcement == nil {
		return false
	}
	return a.Spec == b.Spec && a.At.Equal(b.At) && a.Until.Equal(b.Until) && a.ExpiresAfter == b.ExpiresAfter &&
		a.Announcement.Mode == b.Announcement.Mode && crier.SameContent(a.Announcement, b.Announcement)
}

// Created returns the schedule that a Create with idempotencyKey stored,
// or nil.
func (s *Scheduler) Created(ctx context.Context, idempotencyKey string) (*crier.Schedule, error) {
	return s.Store.ScheduleByRequestKey(ctx, idempotencyKey)
}

// Update changes a schedule that is active or paused, checked and
// rendered as by Create. Its next run is the first after now (a one-off's
// At); a run that was due and not yet handled is not fired. A schedule that
// is done or canceled is a conflict.
func (s *Scheduler) Update(ctx context.Context, id string, p *Patch) (*crier.Schedule, error) {
	s.init()
	now := s.Clock.Now()
	cur, err := s.Store.Schedule(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := final(cur); err != nil {
		return nil, err
	}
	n := p.apply(cur)
	first, problems, err := s.check(ctx, n, now)
	if err != nil {
		return nil, err
	}
	switch {
	case cur.OneOff() && !n.OneOff():
		problems = append(problems, crier.Problemf("spec", "schedule.stays_one_off", "a one-off schedule cannot become recurring: remove it and add a new one"))
	case !cur.OneOff() && n.OneOff():
		problems = append(problems, crier.Problemf("spec", "schedule.stays_recurring", "a recurring schedule needs a spec: remove it and add a one-off schedule instead"))
	}
	if err := crier.Invalid(fmt.Sprintf("schedule %s not changed: %d problem(s)", id, len(problems)), problems); err != nil {
		return nil, err
	}
	out, err := s.Store.UpdateSchedule(ctx, id, now, func(st *crier.Schedule) error {
		if err := final(st); err != nil {
			return err
		}
		state := st.State
		*st = *p.apply(st)
		st.State, st.NextRun = state, first
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Logger.Info("schedule changed", "schedule", id, "when", when(out), "next_run", out.NextRun)
	s.Notify()
	return out, nil
}

// Pause keeps a schedule from firing until it is resumed. Pausing a paused
// schedule changes nothing; one that is done or canceled is a conflict.
func (s *Scheduler) Pause(ctx context.Context, id string) (*crier.Schedule, error) {
	return s.setState(ctx, id, "schedule paused", func(st *crier.Schedule, _ time.Time) error {
		if err := final(st); err != nil {
			return err
		}
		st.State = crier.SchedulePaused
		return nil
	})
}

// Resume lets a paused schedule fire again from its first run after now;
// runs it missed while paused are not fired. A one-off schedule whose time
// passed more than the grace window ago while it was paused is refused
// (give it a new time with Update). Resuming an active schedule changes
// nothing; one that is done or canceled is a conflict.
func (s *Scheduler) Resume(ctx context.Context, id string) (*crier.Schedule, error) {
	grace := orDefault(s.Grace, DefaultGrace)
	return s.setState(ctx, id, "schedule resumed", func(st *crier.Schedule, now time.Time) error {
		if err := final(st); err != nil || st.State == crier.ScheduleActive {
			return err
		}
		if st.OneOff() && now.Sub(st.At) > grace {
			return crier.Invalid("schedule not resumed", []crier.Problem{crier.Problemf("at", "schedule.passed_paused",
				"%v passed while the schedule was paused: give it a new time or remove it", st.At.Format(time.RFC3339))})
		}
		tm, err := newTiming(st)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", st.ID, err)
		}
		st.State, st.NextRun = crier.ScheduleActive, tm.first(now)
		if st.NextRun.IsZero() {
			return crier.Invalid("schedule not resumed", []crier.Problem{crier.Problemf("until", "schedule.no_run_left", "no run is left before until")})
		}
		return nil
	})
}

// Cancel removes a schedule: it never fires again, and stays listed as
// canceled. Canceling a canceled schedule changes nothing; one that is done
// (it handled its last run) is a conflict.
func (s *Scheduler) Cancel(ctx context.Context, id string) (*crier.Schedule, error) {
	return s.setState(ctx, id, "schedule removed", func(st *crier.Schedule, _ time.Time) error {
		if st.State == crier.ScheduleDone {
			return final(st)
		}
		st.State, st.NextRun = crier.ScheduleCanceled, time.Time{}
		return nil
	})
}

// setState changes a schedule's state with change in one transaction,
// logs a change with msg and wakes Run.
func (s *Scheduler) setState(ctx context.Context, id, msg string, change func(*crier.Schedule, time.Time) error) (*crier.Schedule, error) {
	s.init()
	now := s.Clock.Now()
	var before crier.ScheduleState
	out, err := s.Store.UpdateSchedule(ctx, id, now, func(st *crier.Schedule) error {
		before = st.State
		return change(st, now)
	})
	if err != nil {
		return nil, err
	}
	if out.State != before {
		s.Logger.Info(msg, "schedule", id, "next_run", out.NextRun)
		s.Notify()
	}
	return out, nil
}

// final returns a conflict error when sc can no longer change.
func final(sc *crier.Schedule) error {
	switch sc.State {
	case crier.ScheduleDone:
		return crier.Errorf(crier.ECONFLICT, "schedule %s is done: it has handled its last run", sc.ID)
	case crier.ScheduleCanceled:
		return crier.Errorf(crier.ECONFLICT, "schedule %s was removed", sc.ID)
	}
	return nil
}

// check validates sc against now, parses its spec, and renders the
// announcement of its first run for every town × channel, as a run would
// publish it ({{date}} and the other tokens expanded). It returns that
// first run and every problem; err is only for failures of crier itself.
func (s *Scheduler) check(ctx context.Context, sc *crier.Schedule, now time.Time) (time.Time, []crier.Problem, error) {
	problems := sc.Validate(now)
	first := now
	tm, err := newTiming(sc)
	switch {
	case err != nil && !hasField(problems, "spec"):
		problems = append(problems, specProblem(err))
	case err != nil:
		// Validate named the zone; check the times in the default zone.
		_, rest := crier.SplitSpec(sc.Spec)
		if _, err := newTiming(&crier.Schedule{Spec: rest}); err != nil && rest != "" {
			problems = append(problems, specProblem(err))
		}
	case !sc.OneOff():
		if first = tm.first(now); first.IsZero() {
			first = now
			p := crier.Problemf("spec", "schedule.no_time_ahead", "%q has no time in the next five years", sc.Spec)
			if !sc.Until.IsZero() {
				p = crier.Problemf("spec", "schedule.no_time_before_until", "%q has no time before until", sc.Spec)
			}
			problems = append(problems, p)
		}
	case !sc.At.IsZero():
		first = sc.At
	}
	if sc.Announcement == nil {
		return first, problems, nil
	}
	a := Announcement(sc, first)
	plan, err := s.Engine.Preview(ctx, a)
	// Preview filled in the mode: a person who may not publish real
	// notices may not schedule them either.
	if err := crier.AuthorizeMode(crier.PrincipalFrom(ctx), a.Mode); err != nil {
		return first, nil, err
	}
	if crier.ErrorCode(err) == crier.EINVALID {
		// Rendering reached a limit: its problems are the schedule's.
		return first, append(problems, crier.ErrorDetails(err)...), nil
	}
	if err != nil {
		return first, nil, fmt.Errorf("preview: %w", err)
	}
	return first, append(problems, plan.Problems...), nil
}

// when describes when sc fires, for logs: its spec, or the time of a one-off.
func when(sc *crier.Schedule) string {
	if sc.OneOff() {
		return sc.At.UTC().Format(time.RFC3339)
	}
	return sc.Spec
}

func hasField(ps []crier.Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

func rejected(n int) string {
	return fmt.Sprintf("schedule rejected: %d problem(s), nothing was scheduled", n)
}

func (s *Scheduler) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return crier.NewID()
}
