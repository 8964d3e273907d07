package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crierhq/crier"
)

var _ crier.SubmissionStore = (*DB)(nil)

const submissionColumns = `seq, content, publish_at, state, author, decided_by, reason, created_at, decided_at`

// CreateSubmission stores s pending with a new Seq, and returns it as
// stored. A used idempotencyKey returns the submission stored with it,
// with existing set, and stores nothing; another pending submission of the
// same announcement is a conflict.
func (db *DB) CreateSubmission(ctx context.Context, s *crier.Submission, idempotencyKey string) (*crier.Submission, bool, error) {
	if s == nil || s.Announcement == nil || s.Announcement.ID == "" || s.Author == "" {
		return nil, false, crier.Errorf(crier.EINVALID, "a submission needs an announcement with an id, and an author")
	}
	content, err := json.Marshal(s.Announcement)
	if err != nil {
		return nil, false, fmt.Errorf("encode submission: %w", err)
	}
	var (
		stored   *crier.Submission
		existing bool
	)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if idempotencyKey != "" {
			row := tx.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE idempotency_key = ?`, idempotencyKey)
			if earlier, err := scanSubmission(row); err == nil {
				stored, existing = earlier, true
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM submissions WHERE announcement = ? AND state = ?`,
			s.Announcement.ID, crier.SubmissionPending).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			return crier.Errorf(crier.ECONFLICT, "announcement %s has a submission waiting for approval already; withdraw it first", s.Announcement.ID)
		}
		var key any
		if idempotencyKey != "" {
			key = idempotencyKey
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO submissions (announcement, revision, content, publish_at, state, author,
			idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Announcement.ID, s.Announcement.Revision, string(content), nanos(s.PublishAt), crier.SubmissionPending,
			s.Author, key, nanos(s.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert submission: %w", err)
		}
		seq, err := r.LastInsertId()
		if err != nil {
			return err
		}
		stored, err = scanSubmission(tx.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE seq = ?`, seq))
		if err != nil {
			return err
		}
		return auditSubmission(ctx, tx, crier.AuditSubmissionCreate, stored, cmp.Or(stored.CreatedAt, time.Now()))
	})
	if err != nil {
		return nil, false, fmt.Errorf("create submission: %w", err)
	}
	return stored, existing, nil
}

// SubmissionByKey returns the submission stored with idempotencyKey, or
// nil when there is none.
func (db *DB) SubmissionByKey(ctx context.Context, idempotencyKey string) (*crier.Submission, error) {
	if idempotencyKey == "" {
		return nil, nil
	}
	s, err := scanSubmission(db.read.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions
		WHERE idempotency_key = ?`, idempotencyKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read submission: %w", err)
	}
	return s, nil
}

// Submission returns the latest submission for the announcement id, or a
// not_found error.
func (db *DB) Submission(ctx context.Context, id string) (*crier.Submission, error) {
	s, err := scanSubmission(db.read.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions
		WHERE announcement = ? ORDER BY seq DESC LIMIT 1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.ENOTFOUND, "no submission of announcement %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read submission: %w", err)
	}
	return s, nil
}

// Submissions returns up to limit submissions (1000 when 0) in state, or
// in any state when state is empty, newest first.
func (db *DB) Submissions(ctx context.Context, state crier.SubmissionState, limit int) ([]*crier.Submission, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+submissionColumns+` FROM submissions
		WHERE ?1 = '' OR state = ?1 ORDER BY seq DESC LIMIT ?2`, string(state), limitOr(limit))
	if err != nil {
		return nil, fmt.Errorf("list submissions: %w", err)
	}
	ss, err := collect(rows, scanSubmission)
	if err != nil {
		return nil, fmt.Errorf("list submissions: %w", err)
	}
	return ss, nil
}

// ApproveSubmission marks the pending submission seq approved by approver
// and commits the plan as CreateAnnouncement does (without an idempotency
// key), in one transaction: a conflict error, and nothing written, when
// the submission is no longer pending, so that two approvers at once
// publish it once.
func (db *DB) ApproveSubmission(ctx context.Context, seq int64, p *crier.Plan, approver string, now time.Time) (*crier.PublishResult, error) {
	if err := checkPlan(p); err != nil {
		return nil, err
	}
	a := *p.Announcement
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.CreatedAt, a.Expires = fromNanos(nanos(a.CreatedAt)), fromNanos(nanos(a.Expires))
	var res *crier.PublishResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := decide(ctx, tx, seq, crier.SubmissionApproved, approver, "", now); err != nil {
			return err
		}
		s, err := scanSubmission(tx.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE seq = ?`, seq))
		if err != nil {
			return err
		}
		if err := auditSubmission(ctx, tx, crier.AuditSubmissionApprove, s, now); err != nil {
			return err
		}
		if res, err = db.insertPlan(ctx, tx, &a, p.Messages, p.Pages, now); err != nil {
			return err
		}
		// The publish is audited as CreateAnnouncement audits it.
		return auditPublish(ctx, tx, p, &a, res, now)
	})
	if err != nil {
		return nil, fmt.Errorf("approve submission: %w", err)
	}
	return res, nil
}

// DecideSubmission moves the pending submission seq to state, decided by
// by for reason, and returns it; a conflict error when it is not pending.
func (db *DB) DecideSubmission(ctx context.Context, seq int64, state crier.SubmissionState, by, reason string, now time.Time) (*crier.Submission, error) {
	var s *crier.Submission
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := decide(ctx, tx, seq, state, by, reason, now); err != nil {
			return err
		}
		var err error
		s, err = scanSubmission(tx.QueryRowContext(ctx, `SELECT `+submissionColumns+` FROM submissions WHERE seq = ?`, seq))
		if err != nil {
			return err
		}
		return auditSubmission(ctx, tx, decisionActions[state], s, now)
	})
	if err != nil {
		return nil, fmt.Errorf("decide submission: %w", err)
	}
	return s, nil
}

// decisionActions are the audit actions of the decisions on a submission.
var decisionActions = map[crier.SubmissionState]string{
	crier.SubmissionApproved:  crier.AuditSubmissionApprove,
	crier.SubmissionRejected:  crier.AuditSubmissionReject,
	crier.SubmissionWithdrawn: crier.AuditSubmissionWithdraw,
}

// auditSubmission appends the entry of action on s within tx: the
// announcement's ID and towns as submitted, its revision, its author, and
// a rejection's reason, which a person wrote for the author to read and
// which is bounded (crier.MaxRejectReason).
func auditSubmission(ctx context.Context, tx *sql.Tx, action string, s *crier.Submission, at time.Time) error {
	a := s.Announcement
	d := map[string]string{"submission": strconv.FormatInt(s.Seq, 10), "revision": strconv.Itoa(a.Revision),
		"author": s.Author, "mode": string(a.Mode)}
	if s.Reason != "" {
		d["reason"] = s.Reason
	}
	if !s.PublishAt.IsZero() {
		d["publish_at"] = s.PublishAt.UTC().Format(time.RFC3339)
	}
	return appendAudit(ctx, tx, crier.AuditEntry{Action: action, Subject: a.ID, Towns: a.Towns, Detail: d}, at)
}

// decide moves the pending submission seq to state in tx.
func decide(ctx context.Context, tx *sql.Tx, seq int64, state crier.SubmissionState, by, reason string, now time.Time) error {
	if state == crier.SubmissionPending || !state.Valid() {
		return crier.Errorf(crier.EINVALID, "%q is no decision on a submission", state)
	}
	r, err := tx.ExecContext(ctx, `UPDATE submissions SET state = ?, decided_by = ?, reason = ?, decided_at = ?
		WHERE seq = ? AND state = ?`, state, by, reason, nanos(now), seq, crier.SubmissionPending)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var current, decidedBy string
	err = tx.QueryRowContext(ctx, `SELECT state, decided_by FROM submissions WHERE seq = ?`, seq).Scan(&current, &decidedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return crier.Errorf(crier.ENOTFOUND, "no submission %d", seq)
	}
	if err != nil {
		return err
	}
	return crier.Errorf(crier.ECONFLICT, "the submission was %s by %s already", current, decidedBy)
}

func scanSubmission(sc scanner) (*crier.Submission, error) {
	var (
		s                           crier.Submission
		content                     []byte
		publishAt, created, decided int64
		state                       string
	)
	if err := sc.Scan(&s.Seq, &content, &publishAt, &state, &s.Author, &s.DecidedBy, &s.Reason, &created, &decided); err != nil {
		return nil, err
	}
	s.Announcement = new(crier.Announcement)
	if err := json.Unmarshal(content, s.Announcement); err != nil {
		return nil, fmt.Errorf("decode submission %d: %w", s.Seq, err)
	}
	s.State, s.PublishAt, s.CreatedAt, s.DecidedAt = crier.SubmissionState(state), fromNanos(publishAt), fromNanos(created), fromNanos(decided)
	return &s, nil
}
