package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

var _ crier.SessionStore = (*DB)(nil)

// CreateSession stores a session under the hash of its secret, with its
// sign-in in the audit trail; not_found when the user does not exist.
func (db *DB) CreateSession(ctx context.Context, hash [sha256.Size]byte, s *crier.Session) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var towns string
		err := tx.QueryRowContext(ctx, `SELECT towns FROM users WHERE name = ?`, s.User).Scan(&towns)
		if errors.Is(err, sql.ErrNoRows) {
			return crier.Errorf(crier.ENOTFOUND, "no user %s", s.User)
		}
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, user, created_at, last_seen_at, address) VALUES (?, ?, ?, ?, ?)`,
			hash[:], s.User, nanos(s.CreatedAt), nanos(s.LastSeen), s.Address); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditLogin, Subject: s.User, Towns: splitList(towns)}, s.CreatedAt)
	})
}

// SessionPrincipal returns who holds the session with the hash and notes
// now as its latest request, at most once a minute to spare the writer. A
// session past its idle or absolute limit is deleted; it, a missing one
// and one of a disabled user are all the same unauthorized error.
func (db *DB) SessionPrincipal(ctx context.Context, hash [sha256.Size]byte, now time.Time, lim crier.SessionLimits) (*crier.Principal, error) {
	var created, seen int64
	var name, role, towns string
	var actual, disabled bool
	err := db.read.QueryRowContext(ctx, `SELECT s.created_at, s.last_seen_at, u.name, u.role, u.towns, u.actual, u.disabled
		FROM sessions s JOIN users u ON u.name = s.user WHERE s.hash = ?`, hash[:]).
		Scan(&created, &seen, &name, &role, &towns, &actual, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.EUNAUTHORIZED, "no session")
	}
	if err != nil {
		return nil, fmt.Errorf("look up session: %w", err)
	}
	ended := now.Sub(fromNanos(seen)) >= lim.Idle || now.Sub(fromNanos(created)) >= lim.Absolute
	switch {
	case ended:
		if _, err := db.write.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash[:]); err != nil {
			return nil, fmt.Errorf("delete ended session: %w", err)
		}
		return nil, crier.Errorf(crier.EUNAUTHORIZED, "session ended")
	case disabled:
		return nil, crier.Errorf(crier.EUNAUTHORIZED, "no session")
	case now.Sub(fromNanos(seen)) >= time.Minute:
		if _, err := db.write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE hash = ?`, nanos(now), hash[:]); err != nil {
			return nil, fmt.Errorf("note session use: %w", err)
		}
	}
	p := &crier.Principal{Name: name, Role: crier.Role(role), Actual: actual}
	if towns != "" {
		p.Towns = strings.Split(towns, ",")
	}
	return p, nil
}

// DeleteSession ends the session with the hash, with a sign-out in the
// audit trail when there was one.
func (db *DB) DeleteSession(ctx context.Context, hash [sha256.Size]byte, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var user string
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE hash = ? RETURNING user`, hash[:]).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditLogout, Subject: user}, now)
	})
}
