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

var _ crier.AuditStore = (*DB)(nil)

// appendAudit appends e to the audit trail within tx, the transaction of
// the change it records: who from ctx (crier.AuditActor), at now. It reads
// the head inside tx, which holds SQLite's write lock from its start
// (_txlock=immediate), so that two writers can never both extend the same
// head; then it inserts the entry chained to the head and moves the head
// to it. Every store method that changes state for a person calls it;
// methods of other packages' stores call it the same way.
func appendAudit(ctx context.Context, tx *sql.Tx, e crier.AuditEntry, now time.Time) error {
	crier.AuditActor(ctx, &e)
	var head int64
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&head, &e.PrevHash); err != nil {
		return fmt.Errorf("audit: read head: %w", err)
	}
	e.Seq, e.Time = head+1, fromNanos(nanos(now))
	if e.Time.IsZero() {
		return errors.New("audit: entry without a time")
	}
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	e.Hash = e.ComputeHash()
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if e.Detail == nil {
		detail = []byte("{}")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, at, actor, role, token, client, action, subject, towns,
			detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, nanos(e.Time), e.Actor, string(e.Role), e.Token, e.Client, e.Action, e.Subject,
		strings.Join(e.Towns, ","), string(detail), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, e.Seq, e.Hash); err != nil {
		return fmt.Errorf("audit: move head: %w", err)
	}
	return nil
}

// Record appends e, for an event that changes nothing else, in its own
// transaction.
func (db *DB) Record(ctx context.Context, e crier.AuditEntry, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, e, now) })
}

const auditColumns = `seq, at, actor, role, token, client, action, subject, towns, detail, prev_hash, hash`

func scanAudit(s interface{ Scan(...any) error }) (*crier.AuditEntry, error) {
	var e crier.AuditEntry
	var at int64
	var role, towns, detail string
	if err := s.Scan(&e.Seq, &at, &e.Actor, &role, &e.Token, &e.Client, &e.Action, &e.Subject, &towns, &detail,
		&e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time, e.Role = fromNanos(at), crier.Role(role)
	if towns != "" {
		e.Towns = strings.Split(towns, ",")
	}
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		// A detail that is no JSON object of strings was not written by
		// crier: keep it whole, so that the hash check reports the entry.
		e.Detail = map[string]string{"": detail}
	}
	if len(e.Detail) == 0 {
		e.Detail = nil
	}
	return &e, nil
}

// AuditEntries returns the entries matching f by Seq (newest first when
// f.Newest), at most f.Limit
// (crier.MaxAuditLimit when 0 or more).
func (db *DB) AuditEntries(ctx context.Context, f crier.AuditFilter) ([]*crier.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 || limit > crier.MaxAuditLimit {
		limit = crier.MaxAuditLimit
	}
	var where []string
	var args []any
	add := func(cond string, arg ...any) {
		where = append(where, cond)
		args = append(args, arg...)
	}
	add(`seq > ?`, f.After)
	if f.Before > 0 {
		add(`seq < ?`, f.Before)
	}
	if !f.Since.IsZero() {
		add(`at >= ?`, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(`at < ?`, nanos(f.Until))
	}
	if f.Actor != "" {
		add(`actor = ?`, f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		add(`substr(action, 1, ?) = ?`, len(prefix)+1, prefix+".")
	} else if f.Action != "" {
		add(`action = ?`, f.Action)
	}
	if f.Town != "" {
		add(`instr(',' || towns || ',', ',' || ? || ',') > 0`, f.Town)
	}
	args = append(args, limit)
	order := ` ORDER BY seq LIMIT ?`
	if f.Newest {
		order = ` ORDER BY seq DESC LIMIT ?`
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE `+strings.Join(where, " AND ")+
		order, args...)
	if err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()
	var out []*crier.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("audit entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit reads the whole chain in one read transaction, so that it
// sees the entries and the head of one moment while crier serve goes on
// writing, and reports the first break: an entry whose content does not
// give its hash (changed), a gap in the sequence (missing), an entry that
// does not follow the one before it (reordered), or a head that is not
// the newest entry (head).
func (db *DB) VerifyAudit(ctx context.Context) (*crier.AuditReport, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	defer tx.Rollback()
	var r crier.AuditReport
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&r.HeadSeq, &r.HeadHash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			r.Broken = crier.AuditHead
			return &r, nil
		}
		return nil, fmt.Errorf("verify audit: read head: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	prev := crier.AuditEntry{Hash: crier.ZeroHash}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("verify audit: %w", err)
		}
		r.Entries++
		if r.Broken != "" {
			continue // count the rest
		}
		switch {
		case e.Seq != prev.Seq+1:
			r.Broken, r.BrokenSeq = crier.AuditMissing, prev.Seq+1
		case e.ComputeHash() != e.Hash:
			r.Broken, r.BrokenSeq = crier.AuditChanged, e.Seq
		case e.PrevHash != prev.Hash:
			r.Broken, r.BrokenSeq = crier.AuditReordered, e.Seq
		}
		prev = *e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("verify audit: %w", err)
	}
	if r.Broken == "" && (prev.Seq != r.HeadSeq || prev.Hash != r.HeadHash) {
		r.Broken, r.BrokenSeq = crier.AuditHead, r.HeadSeq
	}
	return &r, nil
}
