package crier

import (
	"context"
	"crypto/sha256"
	"time"
)

// Session is a person signed in to the newsroom with a browser. The
// browser holds a random secret in a cookie; only its SHA-256 hash is
// stored, like an API token's.
type Session struct {
	User string
	// CreatedAt is when the person signed in; the session ends at
	// CreatedAt plus the absolute lifetime however busy it is.
	CreatedAt time.Time
	// LastSeen is the time of the latest request, at a minute's
	// precision; the session ends after the idle time without one.
	LastSeen time.Time
	// Address is the client's address at sign-in, for the person's list of
	// their sessions and the audit trail.
	Address string
}

// SessionLimits bound how long a session lasts.
type SessionLimits struct {
	// Idle ends a session this long after its latest request.
	Idle time.Duration
	// Absolute ends a session this long after sign-in.
	Absolute time.Duration
}

// SessionStore keeps the newsroom's sessions.
type SessionStore interface {
	// CreateSession stores a session under the hash of its secret;
	// not_found when the user does not exist.
	CreateSession(ctx context.Context, hash [sha256.Size]byte, s *Session) error
	// SessionPrincipal returns who holds the session with the hash, and
	// notes now as its latest request. An unauthorized error when there is
	// no such session, it has ended by lim, or its user is disabled; an
	// ended session is deleted.
	SessionPrincipal(ctx context.Context, hash [sha256.Size]byte, now time.Time, lim SessionLimits) (*Principal, error)
	// CreateSession and DeleteSession record the sign-in and the
	// sign-out in the audit trail in the same transaction.
	//
	// DeleteSession ends the session with the hash at now; nothing
	// happens when there is none.
	DeleteSession(ctx context.Context, hash [sha256.Size]byte, now time.Time) error
}
