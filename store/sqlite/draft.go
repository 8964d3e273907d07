package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/crierhq/crier"
)

var _ crier.DraftStore = (*DB)(nil)

// SaveDraft stores a new draft or replaces one of the same user; the
// count is checked in the same transaction, so that two saves at once
// cannot pass crier.MaxDrafts.
func (db *DB) SaveDraft(ctx context.Context, d *crier.Draft) error {
	if len(d.Form) > crier.MaxDraftSize {
		return crier.Errorf(crier.EINVALID, "the draft is %s, larger than the %s a draft may be",
			crier.SizeText(int64(len(d.Form))), crier.SizeText(crier.MaxDraftSize))
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if d.ID != 0 {
			res, err := tx.ExecContext(ctx, `UPDATE drafts SET title = ?, form = ?, updated_at = ? WHERE id = ? AND user = ?`,
				d.Title, d.Form, nanos(d.UpdatedAt), d.ID, d.User)
			if err != nil {
				return fmt.Errorf("save draft: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("save draft: %w", err)
			} else if n == 0 {
				return crier.Errorf(crier.ENOTFOUND, "no draft %d", d.ID)
			}
			return nil
		}
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM drafts WHERE user = ?`, d.User).Scan(&count); err != nil {
			return fmt.Errorf("save draft: %w", err)
		}
		if count >= crier.MaxDrafts {
			return crier.Errorf(crier.ECONFLICT, "%s has %d drafts, the most one may keep; delete some first", d.User, count)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO drafts (user, title, form, updated_at) VALUES (?, ?, ?, ?)`,
			d.User, d.Title, d.Form, nanos(d.UpdatedAt))
		if err != nil {
			return fmt.Errorf("save draft: %w", err)
		}
		d.ID, err = res.LastInsertId()
		return err
	})
}

// Drafts returns user's drafts, the latest first, without their forms.
func (db *DB) Drafts(ctx context.Context, user string) ([]*crier.Draft, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, title, updated_at FROM drafts WHERE user = ?
		ORDER BY updated_at DESC, id DESC`, user)
	if err != nil {
		return nil, fmt.Errorf("drafts: %w", err)
	}
	defer rows.Close()
	var out []*crier.Draft
	for rows.Next() {
		d := &crier.Draft{User: user}
		var updated int64
		if err := rows.Scan(&d.ID, &d.Title, &updated); err != nil {
			return nil, fmt.Errorf("drafts: %w", err)
		}
		d.UpdatedAt = fromNanos(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Draft returns user's draft id.
func (db *DB) Draft(ctx context.Context, user string, id int64) (*crier.Draft, error) {
	d := &crier.Draft{ID: id, User: user}
	var updated int64
	err := db.read.QueryRowContext(ctx, `SELECT title, form, updated_at FROM drafts WHERE id = ? AND user = ?`, id, user).
		Scan(&d.Title, &d.Form, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.ENOTFOUND, "no draft %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("draft %d: %w", id, err)
	}
	d.UpdatedAt = fromNanos(updated)
	return d, nil
}

// DeleteDraft deletes user's draft id.
func (db *DB) DeleteDraft(ctx context.Context, user string, id int64) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM drafts WHERE id = ? AND user = ?`, id, user)
	if err != nil {
		return fmt.Errorf("delete draft %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete draft %d: %w", id, err)
	} else if n == 0 {
		return crier.Errorf(crier.ENOTFOUND, "no draft %d", id)
	}
	return nil
}
