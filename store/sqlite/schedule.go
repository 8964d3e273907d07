package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

var _ crier.ScheduleStore = (*DB)(nil)

const scheduleColumns = `id, spec, at, until, expires_after, announcement, state, next_run, last_run,
	created_at, updated_at`

const runColumns = `schedule, fire_at, announcement, state, deliveries, error, lease_until, claimed_at, finished_at`

// CreateSchedule stores s and returns it as stored: times in UTC, and
// UpdatedAt defaulting to CreatedAt. A non-empty
// idempotencyKey that created a schedule before returns that schedule with
// existing set and writes nothing. An id that exists is a conflict; a
// schedule without id, state or announcement is invalid.
// ScheduleByRequestKey returns the schedule that a request with
// idempotencyKey created, or nil when there is none.
func (db *DB) ScheduleByRequestKey(ctx context.Context, idempotencyKey string) (*crier.Schedule, error) {
	s, err := scheduleByRequestKey(ctx, db.read, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("look up schedule by request key: %w", err)
	}
	return s, nil
}

// scheduleByRequestKey is ScheduleByRequestKey through q; no key finds
// nothing.
func scheduleByRequestKey(ctx context.Context, q querier, key string) (*crier.Schedule, error) {
	if key == "" {
		return nil, nil
	}
	s, err := scanSchedule(q.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE request_key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return s, err
}

func (db *DB) CreateSchedule(ctx context.Context, s *crier.Schedule, idempotencyKey string) (*crier.Schedule, bool, error) {
	// The scheduler has checked the schedule; these checks catch its
	// bugs, not anyone's input, and stay in English.
	var ps []crier.Problem
	if s.ID == "" {
		ps = append(ps, crier.Problem{Field: "id", Message: "must not be empty"})
	}
	if !s.State.Valid() {
		ps = append(ps, crier.Problem{Field: "state", Message: fmt.Sprintf("%q is not a schedule state", s.State)})
	}
	if s.Announcement == nil {
		ps = append(ps, crier.Problem{Field: "announcement", Message: "must be given"})
	}
	if err := crier.Invalid("invalid schedule", ps); err != nil {
		return nil, false, err
	}
	stored := *s
	if stored.UpdatedAt.IsZero() {
		stored.UpdatedAt = stored.CreatedAt
	}
	normalizeSchedule(&stored)
	ann, err := json.Marshal(stored.Announcement)
	if err != nil {
		return nil, false, fmt.Errorf("create schedule: encode announcement: %w", err)
	}
	var key any // NULL: many schedules have no key
	if idempotencyKey != "" {
		key = idempotencyKey
	}
	var earlier *crier.Schedule
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if earlier, err = scheduleByRequestKey(ctx, tx, idempotencyKey); earlier != nil || err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schedules WHERE id = ?)`, stored.ID).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return crier.Errorf(crier.ECONFLICT, "schedule %s exists already", stored.ID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schedules (`+scheduleColumns+`, request_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			stored.ID, stored.Spec, nanos(stored.At), nanos(stored.Until), int64(stored.ExpiresAfter), string(ann),
			string(stored.State), nanos(stored.NextRun), nanos(stored.LastRun), nanos(stored.CreatedAt),
			nanos(stored.UpdatedAt), key)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditScheduleCreate, Subject: stored.ID,
			Towns: stored.Announcement.Towns, Detail: scheduleDetail(&stored)}, stored.CreatedAt)
	})
	if err != nil {
		return nil, false, fmt.Errorf("create schedule: %w", err)
	}
	if earlier != nil {
		return earlier, true, nil
	}
	return &stored, false, nil
}

// Schedule returns the schedule id, or a not_found error.
func (db *DB) Schedule(ctx context.Context, id string) (*crier.Schedule, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`, id)
	s, err := scanSchedule(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.ENOTFOUND, "schedule %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule: %w", err)
	}
	return s, nil
}

// Schedules returns the schedules in the given states, or all of them when
// none are given, oldest first.
func (db *DB) Schedules(ctx context.Context, states ...crier.ScheduleState) ([]*crier.Schedule, error) {
	return db.schedules(ctx, nil, states)
}

// SchedulesTargeting returns the schedules in one of states (any when
// none are given) whose announcement targets one of targets: town ids,
// groups or "all", as crier.Directory.Targeting gives them for a person's
// towns. An empty targets selects none.
func (db *DB) SchedulesTargeting(ctx context.Context, targets []string, states ...crier.ScheduleState) ([]*crier.Schedule, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	return db.schedules(ctx, targets, states)
}

func (db *DB) schedules(ctx context.Context, targets []string, states []crier.ScheduleState) ([]*crier.Schedule, error) {
	var (
		where []string
		args  []any
	)
	if len(states) > 0 {
		where = append(where, `state IN (?`+strings.Repeat(`, ?`, len(states)-1)+`)`)
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	if len(targets) > 0 {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(announcement, '$.towns') WHERE value IN (?`+
			strings.Repeat(`, ?`, len(targets)-1)+`))`)
		for _, t := range targets {
			args = append(args, t)
		}
	}
	query := `SELECT ` + scheduleColumns + ` FROM schedules`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	ss, err := collect(rows, scanSchedule)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return ss, nil
}

// UpdateSchedule reads the schedule id in a write transaction, lets change
// modify it, and stores its definition, state and next run with UpdatedAt
// set to now. LastRun and CreatedAt are kept whatever change does. An error
// from change is returned as it is and nothing is written.
func (db *DB) UpdateSchedule(ctx context.Context, id string, now time.Time, change func(*crier.Schedule) error) (*crier.Schedule, error) {
	var s *crier.Schedule
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanSchedule(tx.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return crier.Errorf(crier.ENOTFOUND, "schedule %s not found", id)
		}
		if err != nil {
			return err
		}
		lastRun, createdAt, before := s.LastRun, s.CreatedAt, s.State
		if err := change(s); err != nil {
			return err
		}
		s.ID, s.LastRun, s.CreatedAt, s.UpdatedAt = id, lastRun, createdAt, now
		if !s.State.Valid() || s.Announcement == nil {
			return crier.Errorf(crier.EINVALID, "schedule %s: invalid state %q or no announcement", id, s.State)
		}
		normalizeSchedule(s)
		ann, err := json.Marshal(s.Announcement)
		if err != nil {
			return fmt.Errorf("encode announcement: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE schedules SET spec = ?, at = ?, until = ?, expires_after = ?,
				announcement = ?, state = ?, next_run = ?, updated_at = ?
			WHERE id = ?`,
			s.Spec, nanos(s.At), nanos(s.Until), int64(s.ExpiresAfter), string(ann), string(s.State),
			nanos(s.NextRun), nanos(s.UpdatedAt), id)
		if err != nil {
			return err
		}
		action := crier.AuditScheduleChange
		switch {
		case s.State == before:
		case s.State == crier.SchedulePaused:
			action = crier.AuditSchedulePause
		case s.State == crier.ScheduleActive:
			action = crier.AuditScheduleResume
		case s.State == crier.ScheduleCanceled:
			action = crier.AuditScheduleDelete
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: action, Subject: id, Towns: s.Announcement.Towns,
			Detail: scheduleDetail(s)}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("update schedule: %w", err)
	}
	return s, nil
}

// ClaimRun claims the run r for owner until now+lease. See
// crier.ScheduleStore for when a run is claimed; the returned run is the
// row as stored after the attempt.
func (db *DB) ClaimRun(ctx context.Context, r *crier.ScheduleRun, owner string, now time.Time, lease time.Duration) (*crier.ScheduleRun, bool, error) {
	if owner == "" {
		return nil, false, crier.Errorf(crier.EINVALID, "claim run: no owner")
	}
	var (
		stored   *crier.ScheduleRun
		rowOwner string
	)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// An unfinished claim is taken over by its own owner (a retry) or
		// once its lease has passed (its owner died).
		_, err := tx.ExecContext(ctx, `INSERT INTO schedule_runs (schedule, fire_at, announcement, state, owner,
				lease_until, claimed_at)
			VALUES (?1, ?2, ?3, 'claimed', ?4, ?5, ?6)
			ON CONFLICT (schedule, fire_at) DO UPDATE SET owner = ?4, lease_until = ?5, claimed_at = ?6
			WHERE schedule_runs.state = 'claimed' AND (schedule_runs.owner = ?4 OR schedule_runs.lease_until <= ?6)`,
			r.Schedule, nanos(r.FireAt), r.Announcement, owner, nanos(now.Add(lease)), nanos(now))
		if err != nil {
			return err
		}
		row := tx.QueryRowContext(ctx, `SELECT `+runColumns+`, owner FROM schedule_runs WHERE schedule = ? AND fire_at = ?`,
			r.Schedule, nanos(r.FireAt))
		stored, err = scanRun(row, &rowOwner)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim run: %w", err)
	}
	return stored, stored.State == crier.RunClaimed && rowOwner == owner, nil
}

// FinishRun records the outcome of a run owner claimed and moves the
// schedule on to next, in one transaction. See crier.ScheduleStore.
func (db *DB) FinishRun(ctx context.Context, r *crier.ScheduleRun, owner string, next, now time.Time) error {
	if !r.State.Final() {
		return crier.Errorf(crier.EINVALID, "finish run: %q is not an outcome", r.State)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE schedule_runs SET state = ?, announcement = ?, deliveries = ?,
				error = ?, lease_until = 0, finished_at = ?
			WHERE schedule = ? AND fire_at = ? AND state = 'claimed' AND owner = ?`,
			string(r.State), r.Announcement, r.Deliveries, r.Error, nanos(now), r.Schedule, nanos(r.FireAt), owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, crier.Errorf(crier.ECONFLICT,
				"run of schedule %s at %s is not claimed by this scheduler", r.Schedule, r.FireAt.UTC().Format(time.RFC3339)))
		}
		_, err = moveSchedule(ctx, tx, r.Schedule, r.FireAt, next, r.State == crier.RunPublished)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return nil
}

// SkipRuns records runs as skipped and moves their schedule on to next, or
// writes nothing when the schedule's next run is no longer the first of
// runs. See crier.ScheduleStore.
func (db *DB) SkipRuns(ctx context.Context, runs []*crier.ScheduleRun, next, now time.Time) (bool, error) {
	if len(runs) == 0 {
		return false, nil
	}
	moved := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if moved, err = moveSchedule(ctx, tx, runs[0].Schedule, runs[0].FireAt, next, false); err != nil || !moved {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO schedule_runs (schedule, fire_at, announcement, state, error,
				finished_at)
			VALUES (?, ?, ?, 'skipped', ?, ?) ON CONFLICT (schedule, fire_at) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range runs {
			if r.Schedule != runs[0].Schedule {
				return crier.Errorf(crier.EINVALID, "skip runs: runs of schedules %s and %s", runs[0].Schedule, r.Schedule)
			}
			if _, err := stmt.ExecContext(ctx, r.Schedule, nanos(r.FireAt), r.Announcement, r.Error, nanos(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("skip runs: %w", err)
	}
	return moved, nil
}

// moveSchedule moves the next run of schedule id from 'from' to next when
// it is still at 'from', and reports whether it did. A zero next makes an
// active or paused schedule done; published sets the last run to 'from'.
func moveSchedule(ctx context.Context, tx *sql.Tx, id string, from, next time.Time, published bool) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE schedules SET next_run = ?1,
			last_run = iif(?2, ?3, last_run),
			state = iif(?1 = 0 AND state IN ('active', 'paused'), 'done', state)
		WHERE id = ?4 AND next_run = ?3`,
		nanos(next), published, nanos(from), id)
	if err != nil {
		return false, fmt.Errorf("move schedule %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Runs returns up to limit runs of a schedule (1000 when 0), newest first.
func (db *DB) Runs(ctx context.Context, schedule string, limit int) ([]*crier.ScheduleRun, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+runColumns+` FROM schedule_runs WHERE schedule = ?
		ORDER BY fire_at DESC LIMIT ?`, schedule, limitOr(limit))
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	rs, err := collect(rows, func(s scanner) (*crier.ScheduleRun, error) { return scanRun(s) })
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return rs, nil
}

// normalizeSchedule puts s's times in the stored form: UTC, without the
// monotonic clock reading.
func normalizeSchedule(s *crier.Schedule) {
	for _, t := range []*time.Time{&s.At, &s.Until, &s.NextRun, &s.LastRun, &s.CreatedAt, &s.UpdatedAt} {
		*t = fromNanos(nanos(*t))
	}
}

func scanSchedule(s scanner) (*crier.Schedule, error) {
	var (
		sc                                 crier.Schedule
		ann                                []byte
		state                              string
		at, until, next, last, created, up int64
		expiresAfter                       int64
	)
	err := s.Scan(&sc.ID, &sc.Spec, &at, &until, &expiresAfter, &ann, &state, &next, &last, &created, &up)
	if err != nil {
		return nil, err
	}
	sc.Announcement = new(crier.Announcement)
	if err := json.Unmarshal(ann, sc.Announcement); err != nil {
		return nil, fmt.Errorf("decode schedule %s: %w", sc.ID, err)
	}
	sc.At, sc.Until, sc.NextRun, sc.LastRun = fromNanos(at), fromNanos(until), fromNanos(next), fromNanos(last)
	sc.CreatedAt, sc.UpdatedAt = fromNanos(created), fromNanos(up)
	sc.ExpiresAfter, sc.State = crier.Duration(expiresAfter), crier.ScheduleState(state)
	return &sc, nil
}

// scanRun scans runColumns and, when given, the owner column after them.
func scanRun(s scanner, owner ...*string) (*crier.ScheduleRun, error) {
	var (
		r                                   crier.ScheduleRun
		state                               string
		fireAt, leaseUntil, claimed, finish int64
	)
	dest := []any{&r.Schedule, &fireAt, &r.Announcement, &state, &r.Deliveries, &r.Error, &leaseUntil, &claimed, &finish}
	for _, o := range owner {
		dest = append(dest, o)
	}
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	r.State, r.FireAt, r.LeaseUntil = crier.RunState(state), fromNanos(fireAt), fromNanos(leaseUntil)
	r.ClaimedAt, r.FinishedAt = fromNanos(claimed), fromNanos(finish)
	return &r, nil
}

// scheduleDetail is what the audit trail keeps of a schedule: when it
// runs and its state.
func scheduleDetail(s *crier.Schedule) map[string]string {
	d := map[string]string{"state": string(s.State)}
	if s.Spec != "" {
		d["spec"] = s.Spec
	}
	if !s.At.IsZero() {
		d["at"] = s.At.UTC().Format(time.RFC3339)
	}
	return d
}
