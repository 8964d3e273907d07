package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

const subscriberColumns = `id, town, email, name, state, source, created_at, updated_at, confirmed_at, unsubscribed_at`

// AddSubscribers inserts or updates subscribers by town and address in one
// transaction and returns how many were new. An existing subscriber takes
// the given name, state and source. Addresses are normalised with
// crier.NormalizeEmail; each subscriber's ID, Email, CreatedAt and
// UpdatedAt are set to what was stored. A missing town, a bad address or an
// unknown state makes the whole batch invalid, with every problem listed.
func (db *DB) AddSubscribers(ctx context.Context, subs []*crier.Subscriber, now time.Time) (int, error) {
	emails, err := checkSubscribers(subs)
	if err != nil {
		return 0, err
	}
	added := 0
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		up, err := prepareUpsert(ctx, tx)
		if err != nil {
			return err
		}
		defer up.close()
		added = 0
		for i, s := range subs {
			isNew, err := up.upsert(ctx, s, emails[i], now)
			if err != nil {
				return err
			}
			if isNew {
				added++
			}
		}
		return appendAudit(ctx, tx, subscribersAudit(subs, added), now)
	})
	if err != nil {
		return 0, fmt.Errorf("add subscribers: %w", err)
	}
	return added, nil
}

func checkSubscribers(subs []*crier.Subscriber) ([]string, error) {
	var ps []crier.Problem
	emails := make([]string, len(subs))
	for i, s := range subs {
		field := fmt.Sprintf("subscribers[%d]", i)
		if s == nil {
			ps = append(ps, crier.Problemf(field, "request.null", "must not be null"))
			continue
		}
		if s.Town == "" {
			ps = append(ps, crier.Problemf(field+".town", "empty", "must not be empty"))
		}
		if !s.State.Valid() {
			ps = append(ps, crier.Problemf(field+".state", "not_one_of", "%q is not one of %v", s.State, "pending, confirmed, unsubscribed"))
		}
		e, err := crier.NormalizeEmail(s.Email)
		if err != nil {
			ps = append(ps, crier.EmailProblem(field+".email", err))
		}
		emails[i] = e
	}
	return emails, crier.Invalid("invalid subscribers", ps)
}

// upserter holds the statements of one AddSubscribers transaction; an
// import of many thousand addresses prepares them once.
type upserter struct {
	find, insert, update *sql.Stmt
}

func prepareUpsert(ctx context.Context, tx *sql.Tx) (*upserter, error) {
	var u upserter
	var err error
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&u.find, `SELECT id, created_at FROM subscribers WHERE town = ? AND email = ?`},
		{&u.insert, `INSERT INTO subscribers (town, email, name, state, source, created_at, updated_at,
				confirmed_at, unsubscribed_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, iif(?4 = 'confirmed', ?6, 0), iif(?4 = 'unsubscribed', ?6, 0))`},
		// The times of confirming and leaving change with the state alone.
		{&u.update, `UPDATE subscribers SET name = ?1, state = ?2, source = ?3, updated_at = ?4,
				confirmed_at = iif(?2 = 'confirmed' AND state != 'confirmed', ?4, confirmed_at),
				unsubscribed_at = iif(?2 = 'unsubscribed' AND state != 'unsubscribed', ?4, unsubscribed_at)
			WHERE id = ?5`},
	} {
		if *p.stmt, err = tx.PrepareContext(ctx, p.query); err != nil {
			u.close()
			return nil, err
		}
	}
	return &u, nil
}

func (u *upserter) close() {
	for _, s := range []*sql.Stmt{u.find, u.insert, u.update} {
		if s != nil {
			s.Close()
		}
	}
}

// upsert stores s under email and reports whether it was new.
func (u *upserter) upsert(ctx context.Context, s *crier.Subscriber, email string, now time.Time) (bool, error) {
	var id, created int64
	err := u.find.QueryRowContext(ctx, s.Town, email).Scan(&id, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		r, err := u.insert.ExecContext(ctx, s.Town, email, s.Name, string(s.State), s.Source, nanos(now))
		if err != nil {
			return false, err
		}
		id, err = r.LastInsertId()
		s.ID, s.Email, s.CreatedAt, s.UpdatedAt = id, email, fromNanos(nanos(now)), fromNanos(nanos(now))
		return true, err
	case err != nil:
		return false, err
	}
	_, err = u.update.ExecContext(ctx, s.Name, string(s.State), s.Source, nanos(now), id)
	s.ID, s.Email, s.CreatedAt, s.UpdatedAt = id, email, fromNanos(created), fromNanos(nanos(now))
	return false, err
}

// RemoveSubscriber marks the address unsubscribed on the town's list. It
// returns a not_found error when the town has no such address.
func (db *DB) RemoveSubscriber(ctx context.Context, town, email string, now time.Time) error {
	if e, err := crier.NormalizeEmail(email); err == nil {
		email = e
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE subscribers SET state = 'unsubscribed', updated_at = ?1,
				unsubscribed_at = iif(state != 'unsubscribed', ?1, unsubscribed_at)
			WHERE town = ?2 AND email = ?3 RETURNING id`, nanos(now), town, email).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return crier.Errorf(crier.ENOTFOUND, "%s is not on the list of %s", email, town)
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditSubscriberRemove,
			Subject: strconv.FormatInt(id, 10), Towns: []string{town}}, now)
	})
	if err != nil && crier.ErrorCode(err) != crier.ENOTFOUND {
		return fmt.Errorf("remove subscriber: %w", err)
	}
	return err
}

// subscribersAudit is the audit entry of AddSubscribers: how many and in
// which towns, never the addresses; the subscriber's ID when there is one.
func subscribersAudit(subs []*crier.Subscriber, added int) crier.AuditEntry {
	e := crier.AuditEntry{Action: crier.AuditSubscriberAdd, Detail: map[string]string{
		"count": strconv.Itoa(len(subs)), "new": strconv.Itoa(added)}}
	var states []string
	for _, s := range subs {
		if !slices.Contains(e.Towns, s.Town) {
			e.Towns = append(e.Towns, s.Town)
		}
		if !slices.Contains(states, string(s.State)) {
			states = append(states, string(s.State))
		}
	}
	slices.Sort(e.Towns)
	slices.Sort(states)
	e.Detail["states"] = strings.Join(states, ",")
	if len(subs) == 1 {
		e.Subject = strconv.FormatInt(subs[0].ID, 10)
	}
	return e
}

// ConfirmSubscriber sets the town's pending subscriber with the address
// confirmed, with source as the record of its consent, but only while
// the subscription is the version the confirmation link was made for:
// pending and last changed at version (Subscriber.UpdatedAt). The check
// and the change are one statement, so that an unsubscribe or a new
// subscription in between is never overwritten. An address confirmed
// already is left as it is and is no error; an unknown one is not_found;
// any other state or version is a conflict.
func (db *DB) ConfirmSubscriber(ctx context.Context, town, email string, version time.Time, source string, now time.Time) error {
	if e, err := crier.NormalizeEmail(email); err == nil {
		email = e
	}
	confirmed := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE subscribers SET state = 'confirmed', source = ?1, updated_at = ?2,
				confirmed_at = ?2
			WHERE town = ?3 AND email = ?4 AND state = 'pending' AND updated_at = ?5 RETURNING id`,
			source, nanos(now), town, email, nanos(version)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		confirmed = true
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditSubscriberConfirm,
			Subject: strconv.FormatInt(id, 10), Towns: []string{town}}, now)
	})
	if err != nil {
		return fmt.Errorf("confirm subscriber: %w", err)
	}
	if confirmed {
		return nil
	}
	cur, err := db.Subscriber(ctx, town, email)
	switch {
	case err != nil:
		return err
	case cur.State == crier.SubscriberConfirmed:
		return nil
	}
	return crier.Errorf(crier.ECONFLICT, "the subscription changed after the confirmation link was made")
}

// Subscriber returns the town's subscriber with the address email, or a
// not_found error.
func (db *DB) Subscriber(ctx context.Context, town, email string) (*crier.Subscriber, error) {
	if e, err := crier.NormalizeEmail(email); err == nil {
		email = e
	}
	row := db.read.QueryRowContext(ctx, `SELECT `+subscriberColumns+` FROM subscribers WHERE town = ? AND email = ?`, town, email)
	sub, err := scanSubscriber(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.ENOTFOUND, "%s is not on the list of %s", email, town)
	}
	if err != nil {
		return nil, fmt.Errorf("read subscriber: %w", err)
	}
	return sub, nil
}

// Subscribers returns the town's subscribers in the given state, or in any
// state when state is empty, ordered by id. An unknown state is invalid.
func (db *DB) Subscribers(ctx context.Context, town string, state crier.SubscriberState) ([]*crier.Subscriber, error) {
	if state != "" && !state.Valid() {
		return nil, crier.Errorf(crier.EINVALID, "unknown subscriber state %q", state)
	}
	query, args := `SELECT `+subscriberColumns+` FROM subscribers WHERE town = ?`, []any{town}
	if state != "" {
		query, args = query+` AND state = ?`, append(args, string(state))
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	subs, err := collect(rows, scanSubscriber)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	return subs, nil
}

func scanSubscriber(s scanner) (*crier.Subscriber, error) {
	var (
		sub              crier.Subscriber
		state            string
		created, updated int64
		confirmed, left  int64
	)
	if err := s.Scan(&sub.ID, &sub.Town, &sub.Email, &sub.Name, &state, &sub.Source, &created, &updated,
		&confirmed, &left); err != nil {
		return nil, err
	}
	sub.State, sub.CreatedAt, sub.UpdatedAt = crier.SubscriberState(state), fromNanos(created), fromNanos(updated)
	sub.ConfirmedAt, sub.UnsubscribedAt = fromNanos(confirmed), fromNanos(left)
	return &sub, nil
}
