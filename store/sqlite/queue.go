package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// candidate is a due delivery found by a claim.
type candidate struct {
	id, nextAt int64
	reclaimed  bool // it was sending under an expired lease
}

// claimed is a leased job and the id of its rendered message.
type claimed struct {
	job     *crier.Job
	message int64
	after   int64 // the delivery this one follows, 0 for none
}

// Claim leases up to n due deliveries of the given channel types (all types
// when types is empty) until now+lease and marks them sending, the earliest
// due first. Every job carries its own copy of the rendered message with
// Key, Recipient, Attempt, FirstAttempt and Expires filled in; Reclaimed is
// set on jobs whose earlier lease expired. A non-positive lease is invalid;
// n <= 0 claims nothing. A claim by type reads about n index entries; one
// across all types, meant for tests and tools, reads every queued one.
func (db *DB) Claim(ctx context.Context, types []string, n int, now time.Time, lease time.Duration) ([]*crier.Job, error) {
	if lease <= 0 {
		return nil, crier.Errorf(crier.EINVALID, "lease %s is not positive", lease)
	}
	if n <= 0 {
		return nil, nil
	}
	jobs, _, err := db.Exchange(ctx, nil, types, n, now, lease)
	return jobs, err
}

// Exchange records outcomes as Complete does and then claims up to n due
// deliveries as Claim does, in one transaction: a worker that hands back
// finished jobs and takes new ones pays for one commit, not two.
//
// ctx is checked before the transaction starts, which then runs to its
// end: it takes milliseconds, and a context that can be canceled would
// cost the driver a goroutine per statement, on the workers' hottest path.
func (db *DB) Exchange(ctx context.Context, outcomes []*crier.Outcome, types []string, n int, now time.Time, lease time.Duration) ([]*crier.Job, int, error) {
	if err := validOutcomes(outcomes); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("exchange deliveries: %w", err)
	}
	ctx = context.WithoutCancel(ctx)
	if n > 0 && lease <= 0 {
		return nil, 0, crier.Errorf(crier.EINVALID, "lease %s is not positive", lease)
	}
	if len(outcomes) == 0 && n <= 0 {
		return nil, 0, nil
	}
	token := rand.Text() // one lease token per claim
	var (
		cs    []claimed
		stale int
	)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if stale, err = db.complete(ctx, tx, outcomes, now); err != nil || n <= 0 {
			return err
		}
		due, err := db.due(ctx, tx, types, n, now)
		if err != nil || len(due) == 0 {
			return err
		}
		if cs, err = db.lease(ctx, tx, due, token, now.Add(lease), now); err != nil {
			return err
		}
		if err := db.attachMessages(ctx, tx, cs); err != nil {
			return err
		}
		return attachPrevious(ctx, tx, cs)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("exchange deliveries: %w", err)
	}
	jobs := make([]*crier.Job, len(cs))
	for i, c := range cs {
		jobs[i] = c.job
	}
	return jobs, stale, nil
}

// due returns up to n due deliveries ordered by next_at and id. With types,
// each type is read in its own index order and the results are merged.
func (db *DB) due(ctx context.Context, tx *sql.Tx, types []string, n int, now time.Time) ([]candidate, error) {
	if len(types) == 0 {
		return readDue(ctx, tx.StmtContext(ctx, db.stmts.dueAll), nanos(now), n)
	}
	due, limit := db.stmts.due(n)
	stmt := tx.StmtContext(ctx, due)
	var all []candidate
	for _, typ := range slices.Compact(slices.Sorted(slices.Values(types))) {
		cs, err := readDue(ctx, stmt, nanos(now), append([]any{typ}, limit...)...)
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	slices.SortFunc(all, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.nextAt, b.nextAt), cmp.Compare(a.id, b.id))
	})
	return all[:min(n, len(all))], nil
}

// readDue runs a due statement with the parameters now and args.
func readDue(ctx context.Context, stmt *sql.Stmt, now int64, args ...any) ([]candidate, error) {
	rows, err := stmt.QueryContext(ctx, append([]any{now}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", err)
	}
	cs, err := collect(rows, func(s scanner) (candidate, error) {
		var (
			c     candidate
			state string
		)
		err := s.Scan(&c.id, &state, &c.nextAt)
		c.reclaimed = state == string(crier.StateSending)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", err)
	}
	return cs, nil
}

// lease marks the candidates sending under token until until and returns
// their jobs in candidate order, without messages yet.
func (db *DB) lease(ctx context.Context, tx *sql.Tx, due []candidate, token string, until, now time.Time) ([]claimed, error) {
	ids := make([]int64, len(due))
	for i, c := range due {
		ids[i] = c.id
	}
	rows, err := tx.StmtContext(ctx, db.stmts.lease).QueryContext(ctx, token, nanos(until), nanos(now), jsonInts(ids))
	if err != nil {
		return nil, fmt.Errorf("lease deliveries: %w", err)
	}
	got, err := collect(rows, func(s scanner) (claimed, error) {
		var c claimed
		d, err := scanClaimed(s, &c.message, &c.after)
		if err != nil {
			return c, err
		}
		d.UpdatedAt = now
		c.job = &crier.Job{Delivery: d, Lease: token}
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease deliveries: %w", err)
	}
	byID := make(map[int64]claimed, len(got))
	for _, c := range got {
		byID[c.job.Delivery.ID] = c
	}
	out := make([]claimed, len(due))
	for i, c := range due {
		l, ok := byID[c.id]
		if !ok {
			return nil, fmt.Errorf("lease deliveries: delivery %d was not updated", c.id)
		}
		l.job.Reclaimed = c.reclaimed
		out[i] = l
	}
	return out, nil
}

// claimedColumns are the columns of a delivery that sending needs: the
// last attempt's error and remote references are not read for a claim.
const claimedColumns = `id, key, announcement, revision, town, channel, type, recipient, attempts, next_at,
	first_attempt, capture, ambiguous, pin`

// A claim's RETURNING adds message_id and after to claimedColumns.

// scanClaimed reads claimedColumns and extra into a delivery in state
// sending.
func scanClaimed(s scanner, extra ...any) (*crier.Delivery, error) {
	var (
		d               crier.Delivery
		nextAt, firstAt int64
	)
	dest := append([]any{&d.ID, &d.Key, &d.Announcement, &d.Revision, &d.Town, &d.Channel, &d.Type,
		&d.Recipient, &d.Attempts, &nextAt, &firstAt, &d.Capture, &d.Ambiguous, &d.Pin}, extra...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	d.State = crier.StateSending
	d.NextAt, d.FirstAttempt = fromNanos(nextAt), fromNanos(firstAt)
	return &d, nil
}

// attachMessages gives every job its own copy of its rendered message with
// the per-delivery fields filled in. Rendered messages never change once
// committed, so each is decoded once and kept in a bounded cache.
func (db *DB) attachMessages(ctx context.Context, tx *sql.Tx, cs []claimed) error {
	byID := make(map[int64]*crier.Message, 4)
	var missing []int64
	for _, c := range cs {
		if _, ok := byID[c.message]; ok {
			continue
		}
		if m := db.messages.get(c.message); m != nil {
			byID[c.message] = m
			continue
		}
		byID[c.message] = nil
		missing = append(missing, c.message)
	}
	if len(missing) > 0 {
		if err := db.readMessages(ctx, tx, missing, byID); err != nil {
			return err
		}
	}
	for _, c := range cs {
		base := byID[c.message]
		if base == nil {
			return fmt.Errorf("read messages: message %d not found", c.message)
		}
		c.job.Message = forDelivery(base, c.job.Delivery)
	}
	return nil
}

// attachPrevious gives the jobs that follow a delivery of an earlier
// revision that delivery, as it stands now.
func attachPrevious(ctx context.Context, tx *sql.Tx, cs []claimed) error {
	var ids []int64
	for _, c := range cs {
		if c.after != 0 {
			ids = append(ids, c.after)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE id IN (SELECT value FROM json_each(?))`, jsonInts(ids))
	if err != nil {
		return fmt.Errorf("read previous deliveries: %w", err)
	}
	ds, err := collect(rows, func(s scanner) (*crier.Delivery, error) { return scanDelivery(s) })
	if err != nil {
		return fmt.Errorf("read previous deliveries: %w", err)
	}
	byID := make(map[int64]*crier.Delivery, len(ds))
	for _, d := range ds {
		byID[d.ID] = d
	}
	for _, c := range cs {
		if c.after != 0 {
			c.job.Previous = byID[c.after]
		}
	}
	return nil
}

// readMessages decodes the messages with the given ids into byID and the cache.
func (db *DB) readMessages(ctx context.Context, tx *sql.Tx, ids []int64, byID map[int64]*crier.Message) error {
	slices.Sort(ids)
	rows, err := tx.StmtContext(ctx, db.stmts.messages).QueryContext(ctx, jsonInts(ids))
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	type rendered struct {
		id int64
		m  *crier.Message
	}
	ms, err := collect(rows, func(s scanner) (rendered, error) {
		var (
			r       rendered
			content []byte
			expires int64
		)
		if err := s.Scan(&r.id, &content, &expires); err != nil {
			return r, err
		}
		r.m, err = decodeMessage(content)
		if r.m != nil {
			r.m.Expires = fromNanos(expires)
		}
		return r, err
	})
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	for _, r := range ms {
		byID[r.id] = r.m
		db.messages.put(r.id, r.m)
	}
	return nil
}

// messageCache holds decoded rendered messages by id. It is bounded by
// dropping everything when full: messages of one announcement are claimed
// together, so the working set is small and refills quickly.
type messageCache struct {
	mu sync.Mutex
	m  map[int64]*crier.Message
}

const messageCacheSize = 4096

func (c *messageCache) get(id int64) *crier.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

func (c *messageCache) put(id int64, m *crier.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= messageCacheSize {
		c.m = make(map[int64]*crier.Message)
	}
	c.m[id] = m
}

// forDelivery returns a copy of m, sharing no memory with it, addressed to d.
func forDelivery(m *crier.Message, d *crier.Delivery) *crier.Message {
	c := *m
	c.Payload = bytes.Clone(m.Payload)
	c.Key, c.Recipient = d.Key, d.Recipient
	c.Attempt, c.FirstAttempt, c.Ambiguous, c.Pin = d.Attempts+1, d.FirstAttempt, d.Ambiguous, d.Pin
	return &c
}

// Complete records outcomes and their attempts in one transaction. An
// outcome whose lease is no longer held (the job was reclaimed, released or
// completed) changes nothing and is counted in stale. An outcome in state
// queued is due again at NextAt, or at now when NextAt is zero. An outcome
// with an Attempt counts one attempt and records it (zero times in it are
// recorded as now); one without keeps the delivery's attempts and last
// error. The state sending, or an unknown
// state, is invalid and fails the whole batch.
func (db *DB) Complete(ctx context.Context, outcomes []*crier.Outcome, now time.Time) (stale int, err error) {
	if err := validOutcomes(outcomes); err != nil {
		return 0, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		stale, err = db.complete(ctx, tx, outcomes, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("complete deliveries: %w", err)
	}
	return stale, nil
}

func validOutcomes(outcomes []*crier.Outcome) error {
	for i, o := range outcomes {
		if o == nil || !o.State.Valid() || o.State != crier.StateQueued && !o.State.Final() {
			return crier.Errorf(crier.EINVALID, "outcome %d: the new state must be queued or final", i)
		}
	}
	return nil
}

// complete records outcomes within tx and returns how many were stale.
// Outcomes are written in batches of up to maxBatchRows with one
// statement for the deliveries and one for their attempts. Of two
// outcomes for one delivery, the second is stale.
func (db *DB) complete(ctx context.Context, tx *sql.Tx, outcomes []*crier.Outcome, now time.Time) (int, error) {
	applied := 0
	for batch := range slices.Chunk(outcomes, maxBatchRows) {
		n, err := db.completeBatch(ctx, tx, batch, now)
		if err != nil {
			return 0, err
		}
		applied += n
	}
	return len(outcomes) - applied, nil
}

// completeBatch records up to maxBatchRows outcomes and returns how many
// were applied.
func (db *DB) completeBatch(ctx context.Context, tx *sql.Tx, outcomes []*crier.Outcome, now time.Time) (int, error) {
	size := batchSize(len(outcomes))
	stmt := db.stmts.complete[size]
	args := make([]any, 0, size*outcomeColumns+1)
	byID := make(map[int64]*crier.Outcome, len(outcomes))
	for _, o := range outcomes {
		if _, dup := byID[o.Delivery]; dup {
			args = appendPadding(args)
			continue
		}
		byID[o.Delivery] = o
		args = appendOutcome(args, o, now)
	}
	for range size - len(outcomes) {
		args = appendPadding(args)
	}
	args = append(args, nanos(now))
	rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("record outcomes: %w", err)
	}
	applied, err := collect(rows, func(s scanner) (int64, error) {
		var id int64
		return id, s.Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("record outcomes: %w", err)
	}
	var final []int64
	for _, id := range applied {
		if byID[id].State.Final() {
			final = append(final, id)
		}
	}
	if len(final) > 0 && db.mayWait.Load() {
		// Revisions that waited for these deliveries may go now.
		_, err := tx.StmtContext(ctx, db.stmts.releaseWaiting).ExecContext(ctx, jsonInts(final), nanos(now))
		if err != nil {
			return 0, fmt.Errorf("release waiting deliveries: %w", err)
		}
	}
	return len(applied), nil
}

// appendOutcome appends o's row of completeSQL: id, lease, state, next_at,
// tried, started, finished, endpoint, network, error_code, error,
// remote_id, url. An attempt's missing times are now: a row holds an
// attempt when its started is set.
func appendOutcome(args []any, o *crier.Outcome, now time.Time) []any {
	nextAt := o.NextAt
	if nextAt.IsZero() {
		nextAt = now
	}
	a, tried := o.Attempt, 1
	if a == nil {
		a, tried = new(crier.Attempt), 0
	}
	started, finished := cmp.Or(nanos(a.Started), nanos(now)), cmp.Or(nanos(a.Finished), nanos(now))
	return append(args, o.Delivery, o.Lease, string(o.State), nanos(nextAt), tried, started, finished,
		a.Endpoint, a.Network, a.ErrorCode, a.Error, a.RemoteID, a.URL)
}

// appendPadding appends a row of completeSQL that matches no delivery.
func appendPadding(args []any) []any {
	return append(args, 0, nil, nil, nil, 0, nil, nil, nil, nil, nil, nil, nil, nil)
}

// Release puts claimed jobs back to queued, due as before, without counting
// an attempt. Jobs whose lease is no longer held are left alone.
func (db *DB) Release(ctx context.Context, jobs []*crier.Job) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, db.stmts.release)
		for _, j := range jobs {
			if j == nil || j.Delivery == nil {
				continue
			}
			if _, err := stmt.ExecContext(ctx, j.Delivery.ID, j.Lease); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release deliveries: %w", err)
	}
	return nil
}

// Hurry makes the queued deliveries of channel that wait for a later time
// due at now and returns how many there were.
func (db *DB) Hurry(ctx context.Context, channel string, now time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_at = ?2, updated_at = ?2
			WHERE state = 'queued' AND next_at > ?2 AND channel = ?1`, channel, nanos(now))
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("hurry deliveries of %s: %w", channel, err)
	}
	return int(n), nil
}

// Pinned returns, per channel and endpoint, how many deliveries still to
// be sent are pinned to that endpoint (crier.Delivery.Pin).
func (db *DB) Pinned(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT channel, pin, COUNT(*) FROM deliveries
		WHERE pin != '' AND state IN ('queued', 'sending', 'waiting') GROUP BY channel, pin`)
	if err != nil {
		return nil, fmt.Errorf("count pinned deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var channel, pin string
		var n int
		if err := rows.Scan(&channel, &pin, &n); err != nil {
			return nil, fmt.Errorf("count pinned deliveries: %w", err)
		}
		if out[channel] == nil {
			out[channel] = map[string]int{}
		}
		out[channel][pin] = n
	}
	return out, rows.Err()
}

// Recover expires every lease, so that the next claims take over all
// deliveries left sending, as reclaimed, and returns how many there were.
// The database lock guarantees that no other process holds those leases.
func (db *DB) Recover(ctx context.Context) (int, error) {
	r, err := db.write.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0 WHERE state = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("recover leases: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("recover leases: %w", err)
	}
	return int(n), nil
}

// Depth returns the number of queued, sending and waiting deliveries per
// channel type; types with none are absent.
func (db *DB) Depth(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT type, COUNT(*) FROM deliveries WHERE state = 'queued' GROUP BY type
		UNION ALL
		SELECT type, COUNT(*) FROM deliveries WHERE state = 'sending' GROUP BY type
		UNION ALL
		SELECT type, COUNT(*) FROM deliveries WHERE state = 'waiting' GROUP BY type`)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	defer rows.Close()
	depth := make(map[string]int)
	for rows.Next() {
		var (
			typ string
			n   int
		)
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, fmt.Errorf("queue depth: %w", err)
		}
		depth[typ] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	return depth, nil
}

// jsonInts formats ids as a JSON array for json_each.
func jsonInts(ids []int64) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
