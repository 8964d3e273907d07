package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The due queries read expired leases and queued rows as two arms, each in
// index order, that SQLite merges: a claim reads about n index entries
// however long the backlog is.
const dueSQL = `
	SELECT id, state, next_at FROM deliveries WHERE state = 'sending' AND lease_until <= ?1 %[1]s
	UNION ALL
	SELECT id, state, next_at FROM deliveries WHERE state = 'queued' AND next_at <= ?1 %[1]s
	ORDER BY 3, 1 LIMIT ?2`

const leaseSQL = `UPDATE deliveries SET state = 'sending', lease = ?1, lease_until = ?2,
		first_attempt = iif(first_attempt = 0, ?3, first_attempt), updated_at = ?3
	WHERE id IN (SELECT value FROM json_each(?4))
	RETURNING ` + deliveryColumns + `, message_id`

const messagesSQL = `SELECT m.id, m.content, a.expires FROM messages m
	JOIN announcements a ON a.id = m.announcement AND a.revision = m.revision
	WHERE m.id IN (SELECT value FROM json_each(?1))`

// Without an attempt (?3 = 0) a delivery keeps the error and the remote
// references of its last attempt.
const completeSQL = `UPDATE deliveries SET state = ?1, next_at = iif(?1 = 'queued', ?2, next_at),
		attempts = attempts + ?3, error_code = iif(?3, ?4, error_code), error = iif(?3, ?5, error),
		remote_id = iif(?3, ?6, remote_id), url = iif(?3, ?7, url), endpoint = iif(?3, ?8, endpoint),
		ambiguous = ambiguous OR (?3 AND ?4 = 'unknown_outcome'),
		lease = NULL, lease_until = 0, updated_at = ?9
	WHERE id = ?10 AND lease = ?11 AND state = 'sending'`

const addAttemptSQL = `INSERT INTO attempts (delivery, started, finished, endpoint, network, error_code,
	error, remote_id, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

const releaseSQL = `UPDATE deliveries SET state = 'queued', lease = NULL, lease_until = 0,
		first_attempt = iif(attempts = 0, 0, first_attempt)
	WHERE id = ?1 AND lease = ?2 AND state = 'sending'`

const insertMessageSQL = `INSERT INTO messages (announcement, revision, town, channel, type, content)
	VALUES (?, ?, ?, ?, ?, ?)`

// queueSubscribersSQL copies a town's confirmed subscribers into deliveries
// in SQL: a list can be long, and it never passes through memory here. The
// key is crier.DeliveryKey with the subscriber's id.
const queueSubscribersSQL = `INSERT INTO deliveries (key, announcement, revision, town, channel, type,
		message_id, subscriber_id, recipient, state, next_at, capture, created_at, updated_at)
	SELECT ?1 || '.' || id, ?2, ?3, ?4, ?5, ?6, ?7, id, email, 'queued', ?8, ?9, ?8, ?8
	FROM subscribers WHERE town = ?4 AND state = 'confirmed' ORDER BY id`

const queueSingleSQL = `INSERT INTO deliveries (key, announcement, revision, town, channel, type,
		message_id, recipient, state, next_at, capture, created_at, updated_at)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?10, ?9, ?9)`

// statements are the hot paths (publishing, claiming, completing),
// prepared once on the writer connection and bound to each transaction
// with Tx.StmtContext.
type statements struct {
	dueAll, dueType, lease, messages, complete, addAttempt, release *sql.Stmt
	insertMessage, queueSubscribers, queueSingle                    *sql.Stmt
}

func prepare(ctx context.Context, db *sql.DB) (*statements, error) {
	s := new(statements)
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.dueAll, fmt.Sprintf(dueSQL, "")},
		{&s.dueType, fmt.Sprintf(dueSQL, "AND type = ?3")},
		{&s.lease, leaseSQL},
		{&s.messages, messagesSQL},
		{&s.complete, completeSQL},
		{&s.addAttempt, addAttemptSQL},
		{&s.release, releaseSQL},
		{&s.insertMessage, insertMessageSQL},
		{&s.queueSubscribers, queueSubscribersSQL},
		{&s.queueSingle, queueSingleSQL},
	} {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare statement: %w", err), s.close())
		}
		*p.stmt = stmt
	}
	return s, nil
}

func (s *statements) close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{s.dueAll, s.dueType, s.lease, s.messages, s.complete, s.addAttempt, s.release,
		s.insertMessage, s.queueSubscribers, s.queueSingle} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}
