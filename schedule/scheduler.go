package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// Defaults of a Scheduler.
const (
	// DefaultGrace is how late a missed run may still fire.
	DefaultGrace = 15 * time.Minute
	// DefaultLease is how long a claimed run is left to its scheduler
	// before another may take it over.
	DefaultLease = time.Minute
	// DefaultMaxWait is the longest Run sleeps between two looks at the
	// store, so that schedules changed by another process are seen.
	DefaultMaxWait = time.Minute
)

// retryDelay is when a run that failed for a reason of crier's own (the
// database, a canceled context) is tried again.
const retryDelay = 10 * time.Second

// skipBatch bounds how many missed runs one transaction records.
const skipBatch = 1000

// skipLogged is how many skipped runs of one batch are logged one by one.
const skipLogged = 10

// Engine validates, renders and commits announcements; *crier.Engine is one.
//
// Publish must answer a key it has seen with the earlier result before it
// checks the announcement again, as crier.Engine does.
type Engine interface {
	Preview(ctx context.Context, a *crier.Announcement) (*crier.Plan, error)
	Publish(ctx context.Context, a *crier.Announcement, idempotencyKey string) (*crier.PublishResult, error)
}

var _ Engine = (*crier.Engine)(nil)

// Store keeps the schedules, and tells whether a run's announcement was
// committed by a scheduler that died before it recorded so.
type Store interface {
	crier.ScheduleStore
	// EarlierResult returns what a publish with the idempotency key
	// produced, or nil when there was none.
	EarlierResult(ctx context.Context, idempotencyKey string) (*crier.PublishResult, error)
}

// Scheduler fires the runs of the schedules in Store and manages them
// (Create, Update, Pause, Resume, Cancel). It is safe for concurrent use;
// run one Run per process.
type Scheduler struct {
	Store  Store
	Engine Engine
	// Clock defaults to the system clock. When it also has a method
	// After(time.Duration) <-chan time.Time, Run waits on that instead of
	// a real timer, so that a test clock that is moved forward wakes it.
	Clock crier.Clock
	// Logger defaults to discarding everything.
	Logger *slog.Logger
	// Grace is how late a missed run may still fire; DefaultGrace when 0.
	Grace time.Duration
	// Lease is how long a claim keeps other schedulers off a run;
	// DefaultLease when 0.
	Lease time.Duration
	// MaxWait bounds Run's sleep between looks at the store; DefaultMaxWait
	// when 0.
	MaxWait time.Duration
	// NewID returns new schedule ids; crier.NewID when nil.
	NewID func() string

	once  sync.Once
	owner string        // names this scheduler's claims
	wake  chan struct{} // Notify → Run
}

func (s *Scheduler) init() {
	s.once.Do(func() {
		s.owner = crier.NewID()
		s.wake = make(chan struct{}, 1)
		if s.Clock == nil {
			s.Clock = crier.SystemClock{}
		}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Notify wakes Run, e.g. after a schedule was created or changed.
func (s *Scheduler) Notify() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run fires due runs until ctx ends: it wakes when the next run is due,
// when Notify is called, and at least every MaxWait. Failures are logged
// and tried again.
func (s *Scheduler) Run(ctx context.Context) {
	s.init()
	maxWait := orDefault(s.MaxWait, DefaultMaxWait)
	for {
		next, err := s.Tick(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.Logger.Error("scheduler", "err", err)
		}
		wait := maxWait
		if !next.IsZero() {
			wait = max(0, min(wait, next.Sub(s.Clock.Now())))
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-s.after(wait):
		}
	}
}

// after waits on the clock when it can wake waiters, on a timer otherwise.
func (s *Scheduler) after(d time.Duration) <-chan time.Time {
	if c, ok := s.Clock.(interface {
		After(time.Duration) <-chan time.Time
	}); ok {
		return c.After(d)
	}
	return time.After(d)
}

// Tick handles every run that is due at the clock's current time and
// returns when the next one is due (zero when no schedule is active).
// Tests call it on an injected clock; Run calls it in a loop. A schedule
// whose run fails for a reason of crier's own (the database, ctx) is left
// for a later Tick and named in the error; the others go on.
func (s *Scheduler) Tick(ctx context.Context) (time.Time, error) {
	s.init()
	now := s.Clock.Now()
	scheds, err := s.Store.Schedules(ctx, crier.ScheduleActive)
	if err != nil {
		return now.Add(retryDelay), fmt.Errorf("tick: %w", err)
	}
	var (
		next time.Time
		errs []error
	)
	for _, sc := range scheds {
		n, err := s.advance(ctx, sc, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", sc.ID, err))
			n = now.Add(retryDelay)
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, errors.Join(errs...)
}

// advance handles the due runs of one schedule in order and returns when
// it needs the scheduler next.
func (s *Scheduler) advance(ctx context.Context, sc *crier.Schedule, now time.Time) (time.Time, error) {
	tm, err := newTiming(sc)
	if err != nil {
		return time.Time{}, err
	}
	for sc.State == crier.ScheduleActive && !sc.NextRun.IsZero() && !sc.NextRun.After(now) {
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		fire := sc.NextRun
		following := tm.next(fire)
		wait, err := s.fire(ctx, sc, fire, following, now)
		if err != nil || !wait.IsZero() {
			return wait, err
		}
		if err := s.skipMissed(ctx, sc, tm, following, now); err != nil {
			return time.Time{}, err
		}
		// Read it again: that is where the run moved it, unless another
		// scheduler or a person moved it meanwhile.
		if sc, err = s.Store.Schedule(ctx, sc.ID); err != nil {
			return time.Time{}, err
		}
	}
	if sc.State != crier.ScheduleActive {
		return time.Time{}, nil
	}
	return sc.NextRun, nil
}

// fire handles the run of sc at fireAt: it claims the run, publishes its
// announcement (or skips it when it is too late), and records the outcome
// together with the move to following. A non-zero wait means another
// scheduler holds the run until then.
func (s *Scheduler) fire(ctx context.Context, sc *crier.Schedule, fireAt, following, now time.Time) (wait time.Time, err error) {
	run := &crier.ScheduleRun{Schedule: sc.ID, FireAt: fireAt, Announcement: RunID(sc, fireAt)}
	stored, mine, err := s.Store.ClaimRun(ctx, run, s.owner, now, orDefault(s.Lease, DefaultLease))
	if err != nil {
		return time.Time{}, err
	}
	if !mine {
		if !stored.State.Final() {
			return stored.LeaseUntil, nil // another scheduler is on it
		}
		// Handled already; this scheduler read the schedule before it
		// moved. Move it on unless that happened meanwhile.
		_, err := s.Store.SkipRuns(ctx, []*crier.ScheduleRun{run}, following, now)
		return time.Time{}, err
	}
	log := s.Logger.With("schedule", sc.ID, "fire_at", fireAt, "announcement", run.Announcement)
	grace := orDefault(s.Grace, DefaultGrace)
	if late := now.Sub(fireAt); late > grace {
		switch res, err := s.Store.EarlierResult(ctx, IdempotencyKey(sc, fireAt)); {
		case err != nil:
			return time.Time{}, fmt.Errorf("look up %s: %w", run.Announcement, err)
		case res != nil:
			run.State, run.Deliveries = crier.RunPublished, res.Deliveries
			log.Info("scheduled announcement had been published before a restart")
		default:
			run.State = crier.RunSkipped
			run.Error = fmt.Sprintf("missed by %s, more than the grace window of %s", late.Round(time.Second), grace)
			log.Warn("scheduled run skipped: missed by more than the grace window", "missed_by", late.Round(time.Second), "grace", grace)
		}
		return time.Time{}, s.Store.FinishRun(ctx, run, s.owner, following, now)
	}
	if err := s.publish(ctx, log, sc, run, now); err != nil {
		return time.Time{}, err
	}
	if following.IsZero() {
		log.Info("schedule done: it has no further run")
	}
	return time.Time{}, s.Store.FinishRun(ctx, run, s.owner, following, now)
}

// publish publishes the announcement of run and fills in its outcome. An
// announcement the engine rejects fails the run; any other error is
// returned and leaves the claim for a later try.
func (s *Scheduler) publish(ctx context.Context, log *slog.Logger, sc *crier.Schedule, run *crier.ScheduleRun, now time.Time) error {
	res, err := s.Engine.Publish(ctx, Announcement(sc, run.FireAt), IdempotencyKey(sc, run.FireAt))
	if err == nil {
		run.State, run.Deliveries = crier.RunPublished, res.Deliveries
		log.Info("scheduled announcement published", "deliveries", res.Deliveries, "repeated", res.Existing,
			"late", now.Sub(run.FireAt).Round(time.Second))
		return nil
	}
	if crier.ErrorCode(err) != crier.EINVALID {
		return fmt.Errorf("publish %s: %w", run.Announcement, err)
	}
	// A run committed before a crash, while it was still valid, is not
	// rejected now: Publish answers a known key before it checks.
	run.State, run.Error = crier.RunFailed, err.Error()
	log.Error("scheduled announcement rejected, nothing was queued", "err", err)
	return nil
}

// skipMissed records the runs from 'from' on that were missed by more than
// the grace window, a batch at a time, and moves the schedule past them.
// Only the first run of a schedule's backlog can have been claimed before
// (runs are handled in order); fire handles that one.
func (s *Scheduler) skipMissed(ctx context.Context, sc *crier.Schedule, tm *timing, from, now time.Time) error {
	grace := orDefault(s.Grace, DefaultGrace)
	for !from.IsZero() && now.Sub(from) > grace {
		var runs []*crier.ScheduleRun
		next := from
		for ; !next.IsZero() && now.Sub(next) > grace && len(runs) < skipBatch; next = tm.next(next) {
			runs = append(runs, &crier.ScheduleRun{Schedule: sc.ID, FireAt: next, Announcement: RunID(sc, next),
				Error: fmt.Sprintf("missed by %s, more than the grace window of %s", now.Sub(next).Round(time.Second), grace)})
		}
		moved, err := s.Store.SkipRuns(ctx, runs, next, now)
		if err != nil || !moved {
			return err
		}
		for i, r := range runs {
			if i == skipLogged {
				s.Logger.Warn("scheduled runs skipped: missed by more than the grace window", "schedule", sc.ID,
					"more", len(runs)-i, "last_fire_at", runs[len(runs)-1].FireAt, "grace", grace)
				break
			}
			s.Logger.Warn("scheduled run skipped: missed by more than the grace window", "schedule", sc.ID,
				"fire_at", r.FireAt, "announcement", r.Announcement, "missed_by", now.Sub(r.FireAt).Round(time.Second), "grace", grace)
		}
		from = next
	}
	return nil
}
