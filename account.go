package crier

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Role is what a user may do; see Authorize.
type Role string

// Roles.
const (
	// RoleAdmin may do everything, in every town.
	RoleAdmin Role = "admin"
	// RoleEditor composes, previews, publishes, updates, cancels,
	// schedules and retries announcements and sets the service status,
	// for their towns only.
	RoleEditor Role = "editor"
	// RoleApprover approves or rejects announcements for their towns.
	RoleApprover Role = "approver"
	// RoleViewer reads the status and deliveries of their towns.
	RoleViewer Role = "viewer"
)

// Roles lists every role, the most powerful first.
var Roles = []Role{RoleAdmin, RoleEditor, RoleApprover, RoleViewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// User is a person's account: a press officer, a mayor, an operator.
type User struct {
	// Name is unique and is how the user signs in; see ValidUserName.
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Towns are the town IDs the role applies to, groups already
	// expanded; an admin needs none.
	Towns []string `json:"towns"`
	// PasswordHash is the encoded Argon2id hash; it never leaves the
	// server.
	PasswordHash string `json:"-"`
	// Actual lets the user publish real notices (mode actual); without it
	// they rehearse in exercise mode, which is where every new user
	// starts until an admin changes it. An admin always may.
	Actual    bool      `json:"actual"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	// External is the identity provider (the OpenID Connect issuer) the
	// user signs in with; "" for a local account with a password. An
	// external user has no usable password: their role and towns are
	// set from the provider's claims at each login.
	External string `json:"external,omitempty"`
	// Subject is the user's stable ID at External.
	Subject string `json:"-"`
}

// NoPassword is the PasswordHash of a user who has none, such as an
// external user: no password matches it.
const NoPassword = "!"

// APIToken is a user's bearer token for the API and the CLI. Only the
// SHA-256 hash of the secret is stored, so the secret is shown once, when
// the token is made.
type APIToken struct {
	ID        int64     `json:"id"`
	User      string    `json:"user"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsed is zero until the token is first used.
	LastUsed time.Time `json:"last_used"`
	// Revoked is zero while the token is valid.
	Revoked time.Time `json:"revoked"`
}

// NewTokenSecret returns the secret of a new API token: "crier_" and 32
// random bytes in lower-case base32, 58 characters in all.
func NewTokenSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "crier_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// TokenHash is how a token's secret is stored and looked up.
func TokenHash(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }

// AccountStore keeps users and their API tokens.
type AccountStore interface {
	// CreateUser stores a new user; a conflict error when the name is
	// taken.
	CreateUser(ctx context.Context, u *User) error
	// User returns the named user, or a not_found error.
	User(ctx context.Context, name string) (*User, error)
	// Users returns every user by name.
	Users(ctx context.Context) ([]*User, error)
	// DisableUser disables the named user: their tokens stop working at
	// once. A not_found error when there is no such user.
	DisableUser(ctx context.Context, name string) error
	// SetActual allows or forbids the user to publish real notices (see
	// User.Actual); not_found when there is no such user. Their sessions
	// and tokens follow at once.
	SetActual(ctx context.Context, name string, actual bool) error
	// SetPassword replaces the user's password hash; not_found when there
	// is no such user.
	SetPassword(ctx context.Context, name, hash string) error
	// CreateToken stores a token with the hash of its secret and sets
	// t.ID; not_found when the user does not exist.
	CreateToken(ctx context.Context, t *APIToken, hash [sha256.Size]byte) error
	// Tokens returns the tokens of user, or of every user when user is "".
	Tokens(ctx context.Context, user string) ([]*APIToken, error)
	// RevokeToken revokes a token at once; not_found when there is no such
	// token, and nothing changes when it was revoked before.
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	// TokenPrincipal returns who holds the token with the hash, and notes
	// now as its last use. An unauthorized error when no such token is
	// stored, it is revoked, or its user is disabled.
	TokenPrincipal(ctx context.Context, hash [sha256.Size]byte, now time.Time) (*Principal, error)
}

// userName is what a user name may look like: it appears in logs, the
// audit trail and URLs.
var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidUserName returns a problem when name is no valid user name:
// lower-case letters, digits, '.', '_' and '-', at most 64, starting with
// a letter or a digit.
func ValidUserName(name string) []Problem {
	if userName.MatchString(name) {
		return nil
	}
	return []Problem{Problemf("name", "user_name",
		"%q is no valid user name: use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", name)}
}

// ParseTowns splits a comma-separated list of towns, groups or "all" and
// expands it with the directory; every unknown name is a problem.
func ParseTowns(d *Directory, list string) ([]string, []Problem) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return d.Resolve(names)
}
