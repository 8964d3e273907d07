package sqlite

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

var _ crier.AccountStore = (*DB)(nil)

// CreateUser stores a new user; a conflict error when the name is taken.
func (db *DB) CreateUser(ctx context.Context, u *crier.User) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var taken bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE name = ?)`, u.Name).Scan(&taken); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		if taken {
			return crier.Errorf(crier.ECONFLICT, "user %s exists already", u.Name)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, towns, password_hash, actual, disabled, created_at, external_issuer, external_subject)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.Name, string(u.Role), strings.Join(u.Towns, ","), u.PasswordHash, u.Actual, u.Disabled,
			nanos(u.CreatedAt), u.External, u.Subject)
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditUserAdd, Subject: u.Name, Towns: u.Towns,
			Detail: map[string]string{"role": string(u.Role)}}, u.CreatedAt)
	})
}

const userColumns = `name, role, towns, password_hash, actual, disabled, created_at, external_issuer, external_subject`

func scanUser(s interface{ Scan(...any) error }) (*crier.User, error) {
	var u crier.User
	var role, towns string
	var created int64
	if err := s.Scan(&u.Name, &role, &towns, &u.PasswordHash, &u.Actual, &u.Disabled, &created, &u.External, &u.Subject); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt = crier.Role(role), fromNanos(created)
	if towns != "" {
		u.Towns = strings.Split(towns, ",")
	}
	return &u, nil
}

// User returns the named user, or a not_found error.
func (db *DB) User(ctx context.Context, name string) (*crier.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.ENOTFOUND, "no user %s", name)
	}
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}

// ProvisionUser stores an external user (u.External and u.Subject set)
// as the identity provider describes them at a login: a new one is
// created without a usable password, a known one gets u's role and
// towns. It returns the stored user, whose Disabled the caller must
// heed. A conflict error when the name belongs to a local account or to
// another identity, so that no identity provider takes over an account
// it did not make; also when the identity is stored under another name
// (its name claim changed), which an administrator resolves.
func (db *DB) ProvisionUser(ctx context.Context, u *crier.User) (*crier.User, error) {
	if u.External == "" || u.Subject == "" {
		return nil, fmt.Errorf("provision user %s: no external identity", u.Name)
	}
	var out *crier.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stored, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, u.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var other string
			err := tx.QueryRowContext(ctx, `SELECT name FROM users WHERE external_issuer = ? AND external_subject = ?`,
				u.External, u.Subject).Scan(&other)
			if err == nil {
				return crier.Errorf(crier.ECONFLICT, "this identity is user %s already, not %s", other, u.Name)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("provision user %s: %w", u.Name, err)
			}
			out = &crier.User{Name: u.Name, Role: u.Role, Towns: u.Towns, PasswordHash: crier.NoPassword,
				CreatedAt: u.CreatedAt, External: u.External, Subject: u.Subject}
			_, err = tx.ExecContext(ctx, `INSERT INTO users (name, role, towns, password_hash, disabled, created_at, external_issuer, external_subject)
				VALUES (?, ?, ?, ?, 0, ?, ?, ?)`, u.Name, string(u.Role), strings.Join(u.Towns, ","), crier.NoPassword,
				nanos(u.CreatedAt), u.External, u.Subject)
			if err != nil {
				return fmt.Errorf("provision user %s: %w", u.Name, err)
			}
			return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditUserAdd, Subject: u.Name, Towns: u.Towns,
				Detail: map[string]string{"role": string(u.Role), "issuer": u.External}}, u.CreatedAt)
		case err != nil:
			return fmt.Errorf("provision user %s: %w", u.Name, err)
		}
		if stored.External != u.External || stored.Subject != u.Subject {
			return crier.Errorf(crier.ECONFLICT, "user %s exists already and is not this identity", u.Name)
		}
		out = stored
		if stored.Role == u.Role && slices.Equal(stored.Towns, u.Towns) {
			return nil
		}
		stored.Role, stored.Towns = u.Role, u.Towns
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, towns = ? WHERE name = ?`,
			string(u.Role), strings.Join(u.Towns, ","), u.Name); err != nil {
			return fmt.Errorf("provision user %s: %w", u.Name, err)
		}
		// The identity provider's groups changed the user's rights.
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditUserChange, Subject: u.Name, Towns: u.Towns,
			Detail: map[string]string{"role": string(u.Role), "issuer": u.External}}, u.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Users returns every user by name.
func (db *DB) Users(ctx context.Context) ([]*crier.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var out []*crier.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DisableUser disables the named user; their tokens and sessions stop
// working at once.
//
// The last active admin is never disabled (a conflict error): nobody but
// the operator with the admin token could manage the accounts then. The
// count is taken in the transaction that disables, so two admins who
// disable each other at once cannot both succeed.
func (db *DB) DisableUser(ctx context.Context, name string) error {
	return db.changeUser(ctx, name, crier.AuditUserDisable, nil, `UPDATE users SET disabled = 1 WHERE name = ?
		AND NOT (role = 'admin' AND disabled = 0 AND (SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0) = 1)`, name)
}

// SetActual allows or forbids the named user to publish real notices.
func (db *DB) SetActual(ctx context.Context, name string, actual bool) error {
	return db.changeUser(ctx, name, crier.AuditUserActual, map[string]string{"actual": strconv.FormatBool(actual)}, `UPDATE users SET actual = ? WHERE name = ?`, actual, name)
}

// SetPassword replaces the named user's password hash and ends their
// newsroom sessions in the same transaction: whoever knew the old password
// is signed out.
func (db *DB) SetPassword(ctx context.Context, name, hash string) error {
	return db.changeUser(ctx, name, crier.AuditUserPassword, nil, `UPDATE users SET password_hash = ? WHERE name = ?`, hash, name)
}

// changeUser runs query on the user name and records action in the audit
// trail. The account methods take no time, so the entry is dated by the
// wall clock.
func (db *DB) changeUser(ctx context.Context, name, action string, detail map[string]string, query string, args ...any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("change user %s: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("change user %s: %w", name, err)
		} else if n == 0 {
			var role string
			var disabled bool
			err := tx.QueryRowContext(ctx, `SELECT role, disabled FROM users WHERE name = ?`, name).Scan(&role, &disabled)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return crier.Errorf(crier.ENOTFOUND, "no user %s", name)
			case err != nil:
				return fmt.Errorf("change user %s: %w", name, err)
			case action == crier.AuditUserDisable && crier.Role(role) == crier.RoleAdmin && !disabled:
				return crier.Errorf(crier.ECONFLICT, "%s is the last active admin and stays enabled; add another admin first", name)
			}
			return crier.Errorf(crier.ENOTFOUND, "no user %s", name)
		}
		// Whoever signed in as the user before, with the old password or
		// before the user was disabled, is signed out.
		if action == crier.AuditUserPassword || action == crier.AuditUserDisable {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user = ?`, name); err != nil {
				return fmt.Errorf("end sessions of %s: %w", name, err)
			}
		}
		var towns string
		if err := tx.QueryRowContext(ctx, `SELECT towns FROM users WHERE name = ?`, name).Scan(&towns); err != nil {
			return fmt.Errorf("change user %s: %w", name, err)
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: action, Subject: name, Towns: splitList(towns), Detail: detail}, time.Now())
	})
}

// splitList splits a comma-separated list; "" is the empty list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// CreateToken stores a token with the hash of its secret and sets t.ID;
// not_found when the user does not exist.
func (db *DB) CreateToken(ctx context.Context, t *crier.APIToken, hash [sha256.Size]byte) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE name = ?)`, t.User).Scan(&exists); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		if !exists {
			return crier.Errorf(crier.ENOTFOUND, "no user %s", t.User)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (hash, user, name, created_at) VALUES (?, ?, ?, ?)`,
			hash[:], t.User, t.Name, nanos(t.CreatedAt))
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		if t.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditTokenAdd, Subject: strconv.FormatInt(t.ID, 10),
			Detail: map[string]string{"user": t.User, "name": t.Name}}, t.CreatedAt)
	})
}

// Tokens returns the tokens of user, or of every user when user is "",
// oldest first.
func (db *DB) Tokens(ctx context.Context, user string) ([]*crier.APIToken, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, user, name, created_at, last_used_at, revoked_at
		FROM api_tokens WHERE ? = '' OR user = ? ORDER BY id`, user, user)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []*crier.APIToken
	for rows.Next() {
		var t crier.APIToken
		var created, used, revoked int64
		if err := rows.Scan(&t.ID, &t.User, &t.Name, &created, &used, &revoked); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		t.CreatedAt, t.LastUsed, t.Revoked = fromNanos(created), fromNanos(used), fromNanos(revoked)
		out = append(out, &t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token at once; a token revoked before keeps its
// first revocation time.
func (db *DB) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var user string
		err := tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
			WHERE id = ? RETURNING user`, nanos(at), id).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return crier.Errorf(crier.ENOTFOUND, "no token %d", id)
		}
		if err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditTokenRevoke, Subject: strconv.FormatInt(id, 10),
			Detail: map[string]string{"user": user}}, at)
	})
}

// TokenPrincipal returns who holds the token with the hash and notes now
// as its last use (at most once a minute, to spare the writer). An
// unauthorized error when no such token is stored, it is revoked, or its
// user is disabled; the error does not say which.
func (db *DB) TokenPrincipal(ctx context.Context, hash [sha256.Size]byte, now time.Time) (*crier.Principal, error) {
	var stored []byte
	var id, used, revoked int64
	var role, towns, name string
	var actual, disabled bool
	err := db.read.QueryRowContext(ctx, `SELECT t.id, t.hash, t.last_used_at, t.revoked_at, u.name, u.role, u.towns, u.actual, u.disabled
		FROM api_tokens t JOIN users u ON u.name = t.user WHERE t.hash = ?`, hash[:]).
		Scan(&id, &stored, &used, &revoked, &name, &role, &towns, &actual, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.EUNAUTHORIZED, "invalid token")
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if subtle.ConstantTimeCompare(stored, hash[:]) != 1 || revoked != 0 || disabled {
		return nil, crier.Errorf(crier.EUNAUTHORIZED, "invalid token")
	}
	if now.Sub(fromNanos(used)) >= time.Minute {
		if _, err := db.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, nanos(now), id); err != nil {
			return nil, fmt.Errorf("note token use: %w", err)
		}
	}
	p := &crier.Principal{Name: name, Role: crier.Role(role), Token: id, Actual: actual}
	if towns != "" {
		p.Towns = strings.Split(towns, ",")
	}
	return p, nil
}
