package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

const deliveryColumns = `id, key, announcement, revision, town, channel, type, recipient, state, attempts,
	next_at, first_attempt, error_code, error, remote_id, url, endpoint, capture, ambiguous, pin, updated_at`

func scanDelivery(s scanner, extra ...any) (*crier.Delivery, error) {
	var (
		d                          crier.Delivery
		state                      string
		nextAt, firstAt, updatedAt int64
	)
	dest := append([]any{&d.ID, &d.Key, &d.Announcement, &d.Revision, &d.Town, &d.Channel, &d.Type,
		&d.Recipient, &state, &d.Attempts, &nextAt, &firstAt, &d.ErrorCode, &d.Error, &d.RemoteID,
		&d.URL, &d.Endpoint, &d.Capture, &d.Ambiguous, &d.Pin, &updatedAt}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	d.State = crier.State(state)
	d.NextAt, d.FirstAttempt, d.UpdatedAt = fromNanos(nextAt), fromNanos(firstAt), fromNanos(updatedAt)
	return &d, nil
}

// Deliveries returns up to f.Limit (default 1000) deliveries matching f with
// an id above f.AfterID, ordered by id. An unknown state is invalid.
func (db *DB) Deliveries(ctx context.Context, f crier.DeliveryFilter) ([]*crier.Delivery, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, crier.Errorf(crier.EINVALID, "unknown delivery state %q", f.State)
	}
	var (
		where = []string{"id > ?"}
		args  = []any{f.AfterID}
	)
	for _, c := range []struct{ column, value string }{
		{"announcement", f.Announcement}, {"town", f.Town}, {"channel", f.Channel}, {"state", string(f.State)},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if f.Towns != nil {
		if len(f.Towns) == 0 {
			return nil, nil
		}
		where = append(where, "town IN (?"+strings.Repeat(", ?", len(f.Towns)-1)+")")
		for _, t := range f.Towns {
			args = append(args, t)
		}
	}
	args = append(args, limitOr(f.Limit))
	rows, err := db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	ds, err := collect(rows, func(s scanner) (*crier.Delivery, error) { return scanDelivery(s) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// countsSQL counts the deliveries of announcement ?1 as Counts returns them.
const countsSQL = `
	WITH counted (town, channel, state, n) AS MATERIALIZED (
		SELECT town, channel, state, COUNT(*) FROM deliveries
		WHERE announcement = ?1 AND state NOT IN ('queued', 'sending') GROUP BY town, channel, state
		UNION ALL
		SELECT town, channel, state, COUNT(*) FROM deliveries INDEXED BY deliveries_sending
		WHERE state = 'sending' AND announcement = ?1 GROUP BY town, channel
	), made (town, channel, n) AS (
		SELECT town, channel, SUM(deliveries) FROM messages WHERE announcement = ?1 GROUP BY town, channel
	)
	SELECT town, channel, state, n FROM counted
	UNION ALL
	SELECT town, channel, 'queued', made.n - COALESCE((SELECT SUM(c.n) FROM counted c
		WHERE c.town = made.town AND c.channel = made.channel), 0) AS queued
	FROM made WHERE queued > 0
	ORDER BY 1, 2, 3`

// Counts returns the number of the announcement's deliveries per town,
// channel and state, ordered by town, channel and state. Queued deliveries
// have no entries in an index: they are those of the messages' deliveries
// that are in no other state.
func (db *DB) Counts(ctx context.Context, announcement string) ([]crier.Count, error) {
	rows, err := db.read.QueryContext(ctx, countsSQL, announcement)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	cs, err := collect(rows, func(s scanner) (crier.Count, error) {
		var c crier.Count
		err := s.Scan(&c.Town, &c.Channel, &c.State, &c.N)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	return cs, nil
}

// Attempts returns the attempts of one delivery, oldest first: the earlier
// ones from the attempts table, the latest from the delivery's row.
func (db *DB) Attempts(ctx context.Context, delivery int64) ([]*crier.Attempt, error) {
	rows, err := db.read.QueryContext(ctx, attemptsSQL, delivery)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	as, err := collect(rows, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return as, nil
}

// attemptsSQL reads the attempts of delivery ?1: the earlier ones from the
// attempts table, then the latest from the delivery's row.
const attemptsSQL = `
	SELECT delivery, started, finished, endpoint, network, error_code, error, remote_id, url, 0, id
	FROM attempts WHERE delivery = ?1
	UNION ALL
	SELECT id, started, finished, endpoint, network, error_code, error, remote_id, url, 1, 0
	FROM deliveries WHERE id = ?1 AND started != 0
	ORDER BY 10, 11`

func scanAttempt(s scanner) (*crier.Attempt, error) {
	var (
		a                 crier.Attempt
		started, finished int64
		latest, id        int64
	)
	err := s.Scan(&a.Delivery, &started, &finished, &a.Endpoint, &a.Network, &a.ErrorCode, &a.Error,
		&a.RemoteID, &a.URL, &latest, &id)
	a.Started, a.Finished = fromNanos(started), fromNanos(finished)
	return &a, err
}

// Retry puts the deliveries of the announcement's latest revision in the
// given states back in the queue, due at now, with their attempts, first
// attempt and error cleared (their latest attempt moves to the attempts
// table), and returns how many. Deliveries of earlier revisions stay as
// they are: a later revision replaced what they would say. The states must
// be final; an empty or non-final list is invalid, and an unknown
// announcement is not_found. A delivery whose recipient was erased or is
// past its retention period (a pseudonym) is never queued again.
func (db *DB) Retry(ctx context.Context, announcement string, states []crier.State, now time.Time) (int, error) {
	list, err := finalStates(states)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM announcements WHERE id = ?)`, announcement).Scan(&exists)
		if err != nil {
			return err
		}
		if !exists {
			return crier.Errorf(crier.ENOTFOUND, "announcement %s not found", announcement)
		}
		r, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'queued', next_at = ?1, attempts = 0,
				first_attempt = 0, ambiguous = 0, pin = '', error_code = '', error = '', started = 0, finished = 0, network = '',
				lease = NULL, lease_until = 0, updated_at = ?1
			WHERE announcement = ?2 AND state IN (SELECT value FROM json_each(?3))
				AND revision = (SELECT MAX(revision) FROM announcements WHERE id = ?2)
				AND recipient NOT LIKE ?4`,
			nanos(now), announcement, list, crier.PseudonymPrefix+"%")
		if err != nil {
			return err
		}
		if n, err = r.RowsAffected(); err != nil {
			return err
		}
		ts, err := messageTowns(ctx, tx, announcement)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditRetry, Subject: announcement,
			Towns: ts, Detail: map[string]string{"states": strings.Trim(list, "[]"),
				"deliveries": strconv.FormatInt(n, 10)}}, now)
	})
	if err != nil {
		return 0, fmt.Errorf("retry deliveries: %w", err)
	}
	return int(n), nil
}

// finalStates checks that states is a non-empty list of final states and
// returns it as a JSON array.
func finalStates(states []crier.State) (string, error) {
	if len(states) == 0 {
		return "", crier.Errorf(crier.EINVALID, "name the states to retry")
	}
	quoted := make([]string, len(states))
	for i, s := range states {
		if !s.Valid() || !s.Final() {
			return "", crier.Errorf(crier.EINVALID, "cannot retry deliveries in state %q: only final states can be retried", s)
		}
		quoted[i] = `"` + string(s) + `"`
	}
	return "[" + strings.Join(quoted, ",") + "]", nil
}

// messageTowns returns the towns an announcement's messages went to,
// groups and "all" expanded, by ID.
func messageTowns(ctx context.Context, tx *sql.Tx, announcement string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT town FROM messages WHERE announcement = ? ORDER BY town`, announcement)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var towns []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		towns = append(towns, t)
	}
	return towns, rows.Err()
}
