package access

import (
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/internal/ratelimit"
)

// Login rate limits. Failed logins are counted per account name (known
// or not) and per client address; a success forgets the account's
// failures but not the address's, so that one good account does not
// open the door for guessing others.
const (
	// AccountFailures failed logins per account are allowed in every
	// AccountWindow; then the next attempt waits AccountWindow /
	// AccountFailures (3 minutes), and every further failure doubles the
	// wait, up to AccountWindow.
	AccountFailures = 5
	AccountWindow   = 15 * time.Minute
	// AddressFailures failed logins per client address (an IPv6 /64) are
	// allowed in every AddressWindow, with the same backoff.
	AddressFailures = 20
	AddressWindow   = 15 * time.Minute
	// MaxTracked bounds the memory of each of the two counts: beyond it,
	// the least recently seen keys are forgotten first.
	MaxTracked = 10000
)

// CodeTooMany is the error code of a login refused by the rate limit; the
// API answers it with 429 and Retry-After (server.CodeTooManyRequests).
const CodeTooMany = "too_many_requests"

// Limiter limits failed logins per account and per client address, in
// memory. It is safe for concurrent use.
type Limiter struct {
	clock    crier.Clock
	accounts *ratelimit.Limiter
	addrs    *ratelimit.Limiter
}

// NewLimiter returns a Limiter with the default limits on clock (the
// system clock when nil).
func NewLimiter(clock crier.Clock) *Limiter {
	if clock == nil {
		clock = crier.SystemClock{}
	}
	return &Limiter{clock: clock,
		accounts: ratelimit.NewBackoff(AccountFailures, AccountWindow, MaxTracked),
		addrs:    ratelimit.NewBackoff(AddressFailures, AddressWindow, MaxTracked)}
}

// Allow reports whether a login for account from addr may be tried now,
// and otherwise how long until it may.
func (l *Limiter) Allow(account, addr string) (ok bool, retryAfter time.Duration) {
	now := l.clock.Now()
	waitAccount, okAccount := l.accounts.Peek(accountKey(account), now)
	waitAddr, okAddr := l.addrs.Peek(addr, now)
	if okAccount && okAddr {
		return true, 0
	}
	return false, max(waitAccount, waitAddr)
}

// Failed counts a failed login for account from addr.
func (l *Limiter) Failed(account, addr string) {
	now := l.clock.Now()
	l.accounts.Take(accountKey(account), now)
	l.addrs.Take(addr, now)
}

// Succeeded forgets the account's failures. The address's stay: they
// may have been tries at other accounts.
func (l *Limiter) Succeeded(account, addr string) {
	l.accounts.Forget(accountKey(account))
}

// accountKey folds the ways of writing one name into one key, and bounds
// its length.
func accountKey(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}

// tooMany is the error of a login refused by the limit.
func tooMany(wait time.Duration) error {
	err := refuse(CodeTooMany, "access.login.too_many", nil, max(1, int((wait+time.Minute-1)/time.Minute)))
	err.err.RetryAfter = wait
	return err
}
