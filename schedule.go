package crier

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ScheduleState is the state of a schedule.
type ScheduleState string

// Schedule states. Done and canceled are final: such a schedule never
// fires again and cannot be changed.
const (
	ScheduleActive   ScheduleState = "active"   // fires at its next run
	SchedulePaused   ScheduleState = "paused"   // kept, but fires nothing until resumed
	ScheduleDone     ScheduleState = "done"     // handled its last run
	ScheduleCanceled ScheduleState = "canceled" // removed by a person before its last run
)

// Valid reports whether s is a known schedule state.
func (s ScheduleState) Valid() bool {
	return s == ScheduleActive || s == SchedulePaused || s == ScheduleDone || s == ScheduleCanceled
}

// Final reports whether s never changes again.
func (s ScheduleState) Final() bool { return s == ScheduleDone || s == ScheduleCanceled }

// DefaultScheduleZone is the time zone of a cron spec without CRON_TZ=, and
// the zone in which a one-off schedule writes {{date}}, {{time}} and
// {{weekday}}. Specs are stored with their zone spelled out, so that the
// host's local time never changes when a schedule fires.
const DefaultScheduleZone = "Europe/Berlin"

// Schedule publishes an announcement later: once at At (a one-off, as
// publish_at asks for), or at every time of a cron Spec before Until (a
// recurring notice such as "IT-Ausfall: Stand {{date}}" every weekday at
// 08:00). Each time it fires is a run, and each run publishes at most one
// announcement.
type Schedule struct {
	// ID is a NewID. A one-off schedule's announcement gets the same id,
	// so the id a person is shown at scheduling time is the one it will
	// have; a recurring schedule's runs get the ids ID-YYYYMMDDhhmm (UTC).
	ID string `json:"id"`
	// Spec is a cron spec with five fields, or a descriptor such as
	// @daily, optionally preceded by CRON_TZ=Zone/Name (default
	// DefaultScheduleZone). Empty for a one-off schedule.
	Spec string `json:"spec,omitempty"`
	// At is when a one-off schedule fires; zero for a recurring one.
	At time.Time `json:"at,omitzero"`
	// Until ends a recurring schedule: no run fires at or after it. Zero
	// means it runs until a person removes it.
	Until time.Time `json:"until,omitzero"`
	// ExpiresAfter sets each run's announcement to expire this long after
	// the run's time; zero means the announcement's own Expires (a one-off
	// only) or none. A recurring notice needs a relative expiry, because
	// an absolute one would reject every run after it.
	ExpiresAfter Duration `json:"expires_after,omitzero"`
	// Announcement is the template every run publishes. In its Title and
	// Body, {{date}}, {{time}} and {{weekday}} become the run's time in
	// the schedule's zone ("26.11.2026", "08:00", "Donnerstag") before the
	// body is rendered for each town. Its ID is empty: runs are given theirs.
	Announcement *Announcement `json:"announcement"`

	State ScheduleState `json:"state"`
	// NextRun is the earliest run not handled yet; zero when none is left.
	NextRun time.Time `json:"next_run,omitzero"`
	// LastRun is the time of the latest run that published.
	LastRun   time.Time `json:"last_run,omitzero"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// OneOff reports whether s fires once, at At.
func (s *Schedule) OneOff() bool { return s.Spec == "" }

// SplitSpec splits a cron spec into the name of its time zone (after
// CRON_TZ= or TZ=, empty when it names none) and the rest.
func SplitSpec(spec string) (zone, rest string) {
	spec = strings.TrimSpace(spec)
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if after, ok := strings.CutPrefix(spec, prefix); ok {
			zone, rest, _ = strings.Cut(after, " ")
			return zone, strings.TrimSpace(rest)
		}
	}
	return "", spec
}

// Location returns the time zone s fires in: the CRON_TZ= of its spec, or
// DefaultScheduleZone.
func (s *Schedule) Location() (*time.Location, error) {
	zone, _ := SplitSpec(s.Spec)
	if zone == "" {
		zone = DefaultScheduleZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", zone)
	}
	return loc, nil
}

// Validate checks the fields of s against now and returns every problem.
// It does not parse the cron grammar (the root package knows no cron
// parser: package schedule checks that) and does not render the
// announcement.
func (s *Schedule) Validate(now time.Time) []Problem {
	var ps []Problem
	zone, rest := SplitSpec(s.Spec)
	switch {
	case s.Spec == "" && s.At.IsZero():
		ps = append(ps, Problemf("spec", "schedule.no_time", "a schedule needs a cron spec or a time (at)"))
	case s.Spec != "" && !s.At.IsZero():
		ps = append(ps, Problemf("at", "schedule.both_times", "a schedule has a cron spec or a time, not both"))
	case s.Spec != "" && rest == "":
		ps = append(ps, Problemf("spec", "schedule.zone_only", "%q names a time zone but no times", s.Spec))
	}
	if _, err := s.Location(); err != nil && zone != "" {
		ps = append(ps, Problemf("spec", "schedule.unknown_zone", "unknown time zone %q", zone))
	}
	if !s.At.IsZero() && !s.At.After(now) {
		ps = append(ps, Problemf("at", "in_past", "%v is in the past", s.At.Format(time.RFC3339)))
	}
	if !s.Until.IsZero() {
		switch {
		case s.OneOff():
			ps = append(ps, Problemf("until", "schedule.until_one_off", "only a recurring schedule has an end"))
		case !s.Until.After(now):
			ps = append(ps, Problemf("until", "in_past", "%v is in the past", s.Until.Format(time.RFC3339)))
		}
	}
	if s.ExpiresAfter < 0 {
		ps = append(ps, Problemf("expires_after", "negative", "must not be negative"))
	}
	a := s.Announcement
	if a == nil {
		ps = append(ps, Problemf("announcement", "missing", "must be given"))
		return ps
	}
	switch {
	case a.Expires.IsZero():
	case !s.OneOff():
		ps = append(ps, Problemf("expires", "schedule.expires_recurring", "a recurring schedule's notices expire relative to each run: use expires_after"))
	case s.ExpiresAfter > 0:
		ps = append(ps, Problemf("expires_after", "schedule.expires_both", "give expires or expires_after, not both"))
	case !s.At.IsZero() && !a.Expires.After(s.At):
		ps = append(ps, Problemf("expires", "schedule.expires_before", "%v is not after the time the announcement is published (%v)",
			a.Expires.Format(time.RFC3339), s.At.Format(time.RFC3339)))
	}
	return ps
}

// RunState is the outcome of one run of a schedule.
type RunState string

// Run states. Claimed is the only one that changes: the scheduler that
// claimed the run is publishing it, or died doing so.
const (
	RunClaimed   RunState = "claimed"
	RunPublished RunState = "published"
	RunSkipped   RunState = "skipped" // missed by more than the grace window
	RunFailed    RunState = "failed"  // the announcement was rejected at its time
)

// Final reports whether r never changes again.
func (r RunState) Final() bool { return r != RunClaimed }

// ScheduleRun is one time a schedule fires. Each (Schedule, FireAt) is
// stored once: that row is what keeps a run from firing twice.
type ScheduleRun struct {
	Schedule string    `json:"schedule"`
	FireAt   time.Time `json:"fire_at"`
	// Announcement is the id the run's announcement has, or would have had.
	Announcement string   `json:"announcement"`
	State        RunState `json:"state"`
	Deliveries   int      `json:"deliveries,omitempty"`
	// Error says why a run was skipped or failed.
	Error string `json:"error,omitempty"`
	// LeaseUntil is when a claim that was not finished may be taken over.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	ClaimedAt  time.Time `json:"claimed_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// ScheduleStore persists schedules and their runs.
//
// Exactly-once firing rests on two things: a run is stored at most once per
// schedule and time, and a run's announcement has a deterministic id and
// idempotency key, so that publishing it again after a crash returns the
// earlier announcement instead of a second one.
type ScheduleStore interface {
	// CreateSchedule stores s and returns it as stored. A non-empty
	// idempotencyKey that created a schedule before returns that schedule
	// with existing set and writes nothing. An id that exists is a conflict.
	CreateSchedule(ctx context.Context, s *Schedule, idempotencyKey string) (stored *Schedule, existing bool, err error)
	// ScheduleByRequestKey returns the schedule that a CreateSchedule with
	// idempotencyKey stored, or nil when there is none.
	ScheduleByRequestKey(ctx context.Context, idempotencyKey string) (*Schedule, error)
	// Schedule returns one schedule, or a not_found error.
	Schedule(ctx context.Context, id string) (*Schedule, error)
	// Schedules returns the schedules in the given states (all when none
	// are given), oldest first.
	Schedules(ctx context.Context, states ...ScheduleState) ([]*Schedule, error)
	// UpdateSchedule reads a schedule within a write transaction, lets
	// change modify its definition (Spec, At, Until, ExpiresAfter,
	// Announcement), State and NextRun, stores them with UpdatedAt set to
	// now, and returns the result. An error from change is returned and
	// nothing is written. An unknown id is a not_found error.
	UpdateSchedule(ctx context.Context, id string, now time.Time, change func(*Schedule) error) (*Schedule, error)

	// ClaimRun claims the run r (Schedule, FireAt, Announcement) for owner
	// until now+lease, and returns the run as stored and whether owner now
	// holds it. It inserts the run when it is new, and takes it over when
	// it is claimed but unfinished and either owner held it already or its
	// lease has passed. A run in a final state is never claimed again.
	ClaimRun(ctx context.Context, r *ScheduleRun, owner string, now time.Time, lease time.Duration) (stored *ScheduleRun, claimed bool, err error)
	// FinishRun records the outcome of a run owner claimed (r.State,
	// Announcement, Deliveries, Error) and, in the same transaction, moves
	// the schedule's NextRun from r.FireAt to next, when it is still there.
	// A zero next makes an active or paused schedule done. Published runs
	// set LastRun. A run owner does not hold (any more) is a conflict.
	FinishRun(ctx context.Context, r *ScheduleRun, owner string, next, now time.Time) error
	// SkipRuns records runs as skipped with their Error as the reason,
	// except those stored already, and moves the schedule's NextRun from
	// runs[0].FireAt to next, all in one transaction. When NextRun is no
	// longer runs[0].FireAt, another scheduler moved on: it writes nothing
	// and returns false. A zero next makes an active or paused schedule done.
	SkipRuns(ctx context.Context, runs []*ScheduleRun, next, now time.Time) (bool, error)
	// Runs returns up to limit runs of a schedule (1000 when 0), newest first.
	Runs(ctx context.Context, schedule string, limit int) ([]*ScheduleRun, error)
}

// Duration is a time.Duration written in JSON as a Go duration string
// such as "4h" or "90m".
type Duration time.Duration

// MarshalText writes d like time.Duration.String, e.g. "4h0m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string such as "4h", "90m" or "1h30m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 4h or 90m", b)
	}
	*d = Duration(v)
	return nil
}
