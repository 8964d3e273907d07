package access

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/password"
)

// Bounds of a login request.
const (
	// MaxPassword is the longest password Login hashes, in bytes; a
	// longer one fails like a wrong one.
	MaxPassword = 1024
	// MaxTokenName is the longest API token name, in bytes.
	MaxTokenName = 100
	// maxHashing is how many password hashes are computed at once: each
	// takes 64 MiB (see package password).
	maxHashing = 4
)

// Accounts signs users in with their password and hands out and revokes
// their API tokens. It is safe for concurrent use.
type Accounts struct {
	store   crier.AccountStore
	limiter *Limiter
	clock   crier.Clock
	log     *slog.Logger
	hashing chan struct{}
}

// NewAccounts returns Accounts on store, limited by limiter (NewLimiter's
// defaults on clock when nil). clock and log default to the system clock
// and discarding.
func NewAccounts(store crier.AccountStore, limiter *Limiter, clock crier.Clock, log *slog.Logger) *Accounts {
	if clock == nil {
		clock = crier.SystemClock{}
	}
	if limiter == nil {
		limiter = NewLimiter(clock)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Accounts{store: store, limiter: limiter, clock: clock, log: log, hashing: make(chan struct{}, maxHashing)}
}

// Limiter returns the rate limiter of the logins, which single sign-on
// does not use: the identity provider limits its own.
func (a *Accounts) Limiter() *Limiter { return a.limiter }

// dummyHash is verified for a login that has no hash to check (an unknown
// or external user), so that its answer takes as long as a wrong
// password's and tells nobody whether the name exists.
var dummyHash = sync.OnceValue(func() string {
	h, err := password.Hash(rand.Text())
	if err != nil {
		panic(err) // crypto/rand never fails
	}
	return h
})

// Login checks name and pw, for a request from the client address addr
// (an IP address, or an IPv6 /64), and returns the principal the user
// acts as. Every refusal is the same unauthorized error, whether the
// name is unknown, the user disabled or external (they sign in with
// their identity provider), or the password wrong, and takes as long;
// each counts against the limits of the account and of addr. Over a
// limit, an error with code CodeTooMany and a RetryAfter is returned
// and no password is checked. Other errors come from the store.
func (a *Accounts) Login(ctx context.Context, name, pw, addr string) (*crier.Principal, error) {
	if ok, wait := a.limiter.Allow(name, addr); !ok {
		a.log.WarnContext(ctx, "login refused: too many failures", "user", logName(name), "remote", addr)
		return nil, tooMany(wait)
	}
	u, err := a.store.User(ctx, name)
	if err != nil && crier.ErrorCode(err) != crier.ENOTFOUND {
		return nil, err
	}
	hash := dummyHash()
	if u != nil && !u.Disabled && u.External == "" {
		hash = u.PasswordHash
	}
	if len(pw) > MaxPassword {
		pw = ""
		u = nil
	}
	ok, err := a.verify(ctx, hash, pw)
	if err != nil {
		return nil, err
	}
	if !ok || u == nil || hash != u.PasswordHash {
		a.limiter.Failed(name, addr)
		a.log.InfoContext(ctx, "login failed", "user", logName(name), "remote", addr)
		return nil, refuse(crier.EUNAUTHORIZED, "access.login.failed", nil)
	}
	a.limiter.Succeeded(name, addr)
	return &crier.Principal{Name: u.Name, Role: u.Role, Towns: u.Towns}, nil
}

// verify checks pw against hash with at most maxHashing checks at once.
// A damaged hash fails like a wrong password and is logged.
func (a *Accounts) verify(ctx context.Context, hash, pw string) (bool, error) {
	select {
	case a.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.hashing }()
	ok, err := password.Verify(hash, pw)
	if err != nil {
		a.log.ErrorContext(ctx, "stored password hash is damaged", "err", err)
		return false, nil
	}
	return ok, nil
}

// logName is name fit for a log line: printable and short.
func logName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, name)
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return name
}

// IssueToken makes a new API token for p's user, named name (cut to
// MaxTokenName, control characters dropped), and returns its secret,
// which is kept nowhere: only its hash is stored. The admin token's
// principal gets none (a conflict error).
func (a *Accounts) IssueToken(ctx context.Context, p *crier.Principal, name string) (string, *crier.APIToken, error) {
	if p == nil || p == crier.AdminPrincipal {
		return "", nil, crier.Errorf(crier.ECONFLICT, "only a user gets a token")
	}
	secret := crier.NewTokenSecret()
	t := &crier.APIToken{User: p.Name, Name: tokenName(name), CreatedAt: a.clock.Now().UTC()}
	if err := a.store.CreateToken(ctx, t, crier.TokenHash(secret)); err != nil {
		return "", nil, fmt.Errorf("issue token: %w", err)
	}
	return secret, t, nil
}

// RevokeToken revokes the token p signed in with, at once. The admin
// token cannot be revoked this way (a conflict error).
func (a *Accounts) RevokeToken(ctx context.Context, p *crier.Principal) error {
	if p == nil || p.Token == 0 {
		return crier.Errorf(crier.ECONFLICT, "this is no user's token; the admin token stays until its file is replaced")
	}
	return a.store.RevokeToken(ctx, p.Token, a.clock.Now().UTC())
}

// tokenName cleans a token name given by a client.
func tokenName(name string) string {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name))
	for len(name) > MaxTokenName {
		r := []rune(name)
		name = string(r[:len(r)-1])
	}
	return name
}
