package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The due queries read expired leases and queued rows as two arms, each in
// index order, that SQLite merges: a claim by type reads about n index
// entries however long the backlog is.
//
// SQLite plans a LIMIT with the value bound to it, and prepares the
// statement again whenever that value changes: every claim of the workers,
// whose sizes vary, would pay for it. The claims by type therefore use one
// statement per batchSize with the limit written into it (%[2]s).
const dueSQL = `
	SELECT id, state, next_at FROM deliveries WHERE state = 'sending' AND lease_until <= ?1 %[1]s
	UNION ALL
	SELECT id, state, next_at FROM deliveries WHERE state = 'queued' AND next_at <= ?1 %[1]s
	ORDER BY 3, 1 LIMIT %[2]s`

const leaseSQL = `UPDATE deliveries SET state = 'sending', lease = ?1, lease_until = ?2,
		first_attempt = iif(first_attempt = 0, ?3, first_attempt), updated_at = ?3
	WHERE id IN (SELECT value FROM json_each(?4))
	RETURNING ` + claimedColumns + `, message_id, after`

const messagesSQL = `SELECT m.id, m.content, a.expires FROM messages m
	JOIN announcements a ON a.id = m.announcement AND a.revision = m.revision
	WHERE m.id IN (SELECT value FROM json_each(?1))`

// Batch statements take anonymous parameters: the driver looks up every
// parameter's name when binding, which costs time linear in the number of
// numbered ones.

// completeSQL records a batch of outcomes, given as rows of outcomeColumns
// in place of %[1]s, at the last parameter and returns the deliveries whose
// lease was still held. Rows with id 0 fill a batch up to its prepared size
// and match no delivery. An attempt (tried = 1) becomes the row's latest
// attempt, and the trigger deliveries_attempt_history moves the one it
// replaces into the attempts table. Without an attempt (tried = 0) a
// delivery keeps its latest attempt. An attempt with an unknown outcome
// through a named endpoint pins the delivery to that endpoint.
const completeSQL = `WITH o (id, lease, state, next_at, tried, started, finished, endpoint, network, error_code,
		error, remote_id, url) AS (VALUES %[1]s)
	UPDATE deliveries SET state = o.state,
		next_at = iif(o.state = 'queued', o.next_at, deliveries.next_at),
		attempts = deliveries.attempts + o.tried,
		started = iif(o.tried, o.started, deliveries.started),
		finished = iif(o.tried, o.finished, deliveries.finished),
		endpoint = iif(o.tried, o.endpoint, deliveries.endpoint),
		network = iif(o.tried, o.network, deliveries.network),
		error_code = iif(o.tried, o.error_code, deliveries.error_code),
		error = iif(o.tried, o.error, deliveries.error),
		remote_id = iif(o.tried, o.remote_id, deliveries.remote_id),
		url = iif(o.tried, o.url, deliveries.url),
		ambiguous = deliveries.ambiguous OR (o.tried AND o.error_code = 'unknown_outcome'),
		pin = iif(o.tried AND o.error_code = 'unknown_outcome' AND o.endpoint != '', o.endpoint, deliveries.pin),
		lease = NULL, lease_until = 0, updated_at = ?
	FROM o
	WHERE deliveries.id = o.id AND deliveries.lease = o.lease AND deliveries.state = 'sending'
	RETURNING deliveries.id`

const outcomeColumns = 13

// releaseWaitingSQL queues the deliveries that waited for the deliveries
// in the JSON array ?1, which have become final, due at ?2.
const releaseWaitingSQL = `UPDATE deliveries SET state = 'queued', next_at = ?2, updated_at = ?2
	WHERE state = 'waiting' AND after IN (SELECT value FROM json_each(?1))`

const releaseSQL = `UPDATE deliveries SET state = 'queued', lease = NULL, lease_until = 0,
		first_attempt = iif(attempts = 0, 0, first_attempt)
	WHERE id = ?1 AND lease = ?2 AND state = 'sending'`

// insertMessageSQL stores a message with the number of deliveries made
// from it, which Counts relies on.
const insertMessageSQL = `INSERT INTO messages (announcement, revision, town, channel, type, content, deliveries)
	VALUES (?, ?, ?, ?, ?, ?, ?)`

const setMessageDeliveriesSQL = `UPDATE messages SET deliveries = ?2 WHERE id = ?1`

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
	dueAll, dueType, lease, messages, release, releaseWaiting *sql.Stmt
	insertMessage, setMessageDeliveries                       *sql.Stmt
	queueSubscribers, queueSingle                             *sql.Stmt

	// dueTypeLimit are the due statements by type for claims of up to n
	// rows, one for every power of two up to maxBatchRows; dueType, with a
	// bound limit, serves larger claims.
	dueTypeLimit map[int]*sql.Stmt

	// complete are completeSQL by number of rows, one for every power of
	// two up to maxBatchRows.
	complete map[int]*sql.Stmt
}

// maxBatchRows bounds the rows of one batch statement; larger batches are
// split.
const maxBatchRows = 128

// batchSize is the prepared size for n rows: the next power of two, so that
// a handful of statements serve every batch.
func batchSize(n int) int {
	size := 1
	for size < n {
		size *= 2
	}
	return size
}

// completeBatchSQL is completeSQL with rows rows of outcomeColumns
// parameters each.
func completeBatchSQL(rows int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range outcomeColumns {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return fmt.Sprintf(completeSQL, b.String())
}

// due returns the due statement by type for a claim of n rows, and the
// LIMIT to bind to it: none (nil) when the limit is part of the statement.
// Such a statement may return up to batchSize(n) rows.
func (s *statements) due(n int) (*sql.Stmt, []any) {
	if stmt, ok := s.dueTypeLimit[batchSize(n)]; ok {
		return stmt, nil
	}
	return s.dueType, []any{n}
}

func prepare(ctx context.Context, db *sql.DB) (*statements, error) {
	s := &statements{complete: make(map[int]*sql.Stmt), dueTypeLimit: make(map[int]*sql.Stmt)}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.dueAll, fmt.Sprintf(dueSQL, "", "?2")},
		{&s.dueType, fmt.Sprintf(dueSQL, "AND type = ?2", "?3")},
		{&s.lease, leaseSQL},
		{&s.messages, messagesSQL},
		{&s.release, releaseSQL},
		{&s.releaseWaiting, releaseWaitingSQL},
		{&s.insertMessage, insertMessageSQL},
		{&s.setMessageDeliveries, setMessageDeliveriesSQL},
		{&s.queueSubscribers, queueSubscribersSQL},
		{&s.queueSingle, queueSingleSQL},
	} {
		stmt, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("prepare statement: %w", err), s.close())
		}
		*p.stmt = stmt
	}
	for n := 1; n <= maxBatchRows; n *= 2 {
		for _, p := range []struct {
			in    map[int]*sql.Stmt
			query string
		}{
			{s.dueTypeLimit, fmt.Sprintf(dueSQL, "AND type = ?2", strconv.Itoa(n))},
			{s.complete, completeBatchSQL(n)},
		} {
			stmt, err := db.PrepareContext(ctx, p.query)
			if err != nil {
				return nil, errors.Join(fmt.Errorf("prepare statement: %w", err), s.close())
			}
			p.in[n] = stmt
		}
	}
	return s, nil
}

func (s *statements) close() error {
	var errs []error
	for _, stmt := range s.complete {
		errs = append(errs, stmt.Close())
	}
	for _, stmt := range s.dueTypeLimit {
		errs = append(errs, stmt.Close())
	}
	for _, stmt := range []*sql.Stmt{s.dueAll, s.dueType, s.lease, s.messages, s.release, s.releaseWaiting,
		s.insertMessage, s.setMessageDeliveries, s.queueSubscribers, s.queueSingle} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}
