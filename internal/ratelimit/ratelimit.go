// Package ratelimit keeps token buckets per key in bounded memory: the
// subscribe form's limit per client address and the login limits per
// account and per address.
package ratelimit

import (
	"container/list"
	"sync"
	"time"
)

// Limiter is a token bucket per key, in memory: Limit tokens that refill
// evenly over Window, for at most a fixed number of keys. Beyond that
// bound the least recently used bucket is forgotten: the first to go are
// those that have filled up again, which limit nothing. It never forgets
// every bucket at once, so flooding it with new keys lifts no limit of a
// recent one. Its zero value is not usable; see New.
type Limiter struct {
	limit   float64
	window  time.Duration
	max     int
	backoff bool

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket, in order
	order   *list.List               // most recently used first
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time
	// strikes counts the tokens taken since the bucket was first empty;
	// until is when the next token may be taken (backoff).
	strikes int
	until   time.Time
}

// New returns a Limiter of limit tokens per window for at most bound
// keys.
func New(limit int, window time.Duration, bound int) *Limiter {
	return &Limiter{limit: float64(max(1, limit)), window: window, max: max(1, bound),
		buckets: map[string]*list.Element{}, order: list.New()}
}

// NewBackoff is New with a backoff: once a key's bucket is empty, each
// further token taken doubles the wait before the next one, from
// window/limit up to window, until a whole window has passed without a
// token taken after the last wait.
func NewBackoff(limit int, window time.Duration, bound int) *Limiter {
	l := New(limit, window, bound)
	l.backoff = true
	return l
}

// Allow takes a token from key's bucket at now. When none is left it
// returns false and how long until the next one.
func (l *Limiter) Allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if wait := l.wait(b, now); wait > 0 {
		return wait, false
	}
	l.take(b, now)
	return 0, true
}

// Peek reports, like Allow, whether key may take a token at now, but
// takes none.
func (l *Limiter) Peek(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if wait := l.wait(b, now); wait > 0 {
		return wait, false
	}
	return 0, true
}

// Take takes a token from key's bucket at now, even when it is empty:
// the count of a failure that has happened already. The bucket goes no
// lower than one window's worth of debt.
func (l *Limiter) Take(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.take(l.refill(key, now), now)
}

// Forget drops key's bucket: it starts full again.
func (l *Limiter) Forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.buckets[key]; e != nil {
		delete(l.buckets, l.order.Remove(e).(*bucket).key)
	}
}

// Len is the number of buckets kept.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

func (l *Limiter) perToken() time.Duration { return l.window / time.Duration(l.limit) }

// refill returns key's bucket, made or refilled up to now, as the most
// recently used.
func (l *Limiter) refill(key string, now time.Time) *bucket {
	e := l.buckets[key]
	if e == nil {
		for len(l.buckets) >= l.max {
			oldest := l.order.Back()
			delete(l.buckets, l.order.Remove(oldest).(*bucket).key)
		}
		e = l.order.PushFront(&bucket{key: key, tokens: l.limit, at: now})
		l.buckets[key] = e
	} else {
		l.order.MoveToFront(e)
	}
	b := e.Value.(*bucket)
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.limit, b.tokens+float64(elapsed)/float64(l.perToken()))
		b.at = now
	}
	if b.strikes > 0 && now.Sub(b.until) >= l.window {
		b.strikes = 0 // a quiet window after the last pause
	}
	return b
}

// wait is how long b must wait at now for its next token; 0 when it may
// take one.
func (l *Limiter) wait(b *bucket, now time.Time) time.Duration {
	var wait time.Duration
	if b.tokens < 1 {
		wait = time.Duration((1 - b.tokens) * float64(l.perToken()))
	}
	if d := b.until.Sub(now); d > wait {
		wait = d
	}
	return wait
}

func (l *Limiter) take(b *bucket, now time.Time) {
	b.tokens = max(b.tokens-1, -l.limit)
	if !l.backoff || b.tokens >= 1 && b.strikes == 0 {
		return
	}
	b.strikes++
	pause := l.perToken() << min(b.strikes-1, 30)
	b.until = now.Add(min(pause, l.window))
}
