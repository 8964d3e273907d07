package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/crierhq/crier"
)

// minInterval is the shortest time between two runs: run ids name the
// minute, and no town needs a notice more often.
const minInterval = time.Minute

// NormalizeSpec returns spec with its time zone spelled out as CRON_TZ=
// (crier.DefaultScheduleZone when it names none; TZ= becomes CRON_TZ=) and
// single spaces between fields. An empty spec stays empty.
func NormalizeSpec(spec string) string {
	if strings.TrimSpace(spec) == "" {
		return ""
	}
	zone, rest := crier.SplitSpec(spec)
	if zone == "" {
		zone = crier.DefaultScheduleZone
	}
	return strings.TrimSpace("CRON_TZ=" + zone + " " + strings.Join(strings.Fields(rest), " "))
}

// timing tells when a schedule fires.
type timing struct {
	at    time.Time     // a one-off's time
	cron  cron.Schedule // a recurring schedule's times; nil for a one-off
	loc   *time.Location
	until time.Time
	// fixed is set when the spec's hour field names hours: such a schedule
	// fires once per wall-clock time, also in the hour that repeats when
	// clocks go back.
	fixed bool
}

// newTiming parses the spec of sc. Errors carry the parser's message.
func newTiming(sc *crier.Schedule) (*timing, error) {
	loc, err := sc.Location()
	if err != nil {
		return nil, err
	}
	tm := &timing{at: sc.At, loc: loc, until: sc.Until}
	if sc.OneOff() {
		return tm, nil
	}
	spec := NormalizeSpec(sc.Spec)
	if tm.cron, err = parse(spec); err != nil {
		return nil, err
	}
	_, rest := crier.SplitSpec(spec)
	switch c := tm.cron.(type) {
	case cron.ConstantDelaySchedule:
		if c.Delay < minInterval {
			return nil, &tooOftenError{spec: rest}
		}
	case *cron.SpecSchedule:
		fields := strings.Fields(rest)
		tm.fixed = len(fields) == 5 && !strings.HasPrefix(fields[1], "*") && !strings.HasPrefix(fields[1], "?") ||
			strings.HasPrefix(rest, "@") && rest != "@hourly"
	}
	return tm, nil
}

// tooOftenError says that a spec runs more often than minInterval allows.
type tooOftenError struct{ spec string }

func (e *tooOftenError) Error() string { return specProblem(e).Message }

// specProblem is the problem with the field spec that err, an error of
// newTiming, names. The cron parser's English text is kept as it is.
func specProblem(err error) crier.Problem {
	if e, ok := errors.AsType[*tooOftenError](err); ok {
		return crier.Problemf("spec", "schedule.too_often", "%q runs less than %v apart", e.spec, minInterval)
	}
	return crier.Problemf("spec", "schedule.bad_spec", "invalid cron spec: %v", err)
}

// parse parses a spec with robfig/cron's standard parser, which panics on
// some malformed input instead of returning an error.
func parse(spec string) (s cron.Schedule, err error) {
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, fmt.Errorf("%q is not a cron spec", spec)
		}
	}()
	return cron.ParseStandard(spec)
}

// first returns a schedule's first run after now: a one-off's At, or the
// first time of the spec after now. Zero when there is none.
func (tm *timing) first(now time.Time) time.Time {
	if tm.cron == nil {
		return tm.at
	}
	return tm.next(now)
}

// next returns the first run strictly after t, or zero when none is left
// (a one-off, or the next time is at or after Until).
func (tm *timing) next(t time.Time) time.Time {
	if tm.cron == nil {
		return time.Time{}
	}
	for {
		t = tm.cron.Next(t)
		if t.IsZero() || !tm.until.IsZero() && !t.Before(tm.until) {
			return time.Time{}
		}
		if !tm.fixed || !repeated(t, tm.loc) {
			return t.UTC()
		}
	}
}

// repeated reports whether t falls in the hour that repeats when clocks go
// back in loc: its wall-clock time has been shown once already, before the
// change.
func repeated(t time.Time, loc *time.Location) bool {
	lt := t.In(loc)
	start, _ := lt.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, before := start.Add(-time.Nanosecond).Zone()
	_, after := lt.Zone()
	back := time.Duration(before-after) * time.Second
	return back > 0 && lt.Sub(start) < back
}

// RunID returns the id of the announcement that the run of sc at fireAt
// publishes: the schedule's own id for a one-off, so that the id shown
// when it was scheduled is the one it gets, and ID-YYYYMMDDhhmm with the
// time in UTC for a recurring schedule. Ids are made of slugs, digits and
// a hyphen, valid in delivery keys, Message-IDs and webhook-ids.
func RunID(sc *crier.Schedule, fireAt time.Time) string {
	if sc.OneOff() {
		return sc.ID
	}
	return sc.ID + "-" + fireAt.UTC().Format("200601021504")
}

// IdempotencyKey returns the key the run of sc at fireAt is published
// with: publishing it again returns the announcement committed the first
// time.
func IdempotencyKey(sc *crier.Schedule, fireAt time.Time) string {
	return "schedule:" + sc.ID + ":" + strconv.FormatInt(fireAt.Unix(), 10)
}
