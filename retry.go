package crier

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Backoff computes when a failed delivery is tried again: exponential from
// Base, capped at Max, with ±Jitter spread so that a backlog does not retry
// in lock step, and never earlier than the remote side asked.
type Backoff struct {
	Base   time.Duration // delay after the first failure; default 5s
	Max    time.Duration // cap; default 10m
	Jitter float64       // fraction of spread, 0..1; default 0.2
	// Rand returns a float in [0,1); default math/rand/v2. Tests inject it.
	Rand func() float64
}

// Delay returns the wait before attempt+1 after attempt (1-based) failed.
// retryAfter, when positive, is a lower bound.
func (b Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	base, limit, jitter := b.Base, b.Max, b.Jitter
	if base <= 0 {
		base = 5 * time.Second
	}
	if limit <= 0 {
		limit = 10 * time.Minute
	}
	if jitter <= 0 || jitter > 1 {
		jitter = 0.2
	}
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	spread := 1 + jitter*(2*r()-1) // in [1-jitter, 1+jitter)
	d = time.Duration(float64(d) * spread)
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// MaxRetryAfter caps a wait a remote side asks for: a broken or hostile
// server must not park a delivery for longer than a day.
const MaxRetryAfter = 24 * time.Hour

// httpDateLayouts are the date forms HTTP allows (RFC 9110, 5.6.7).
var httpDateLayouts = []string{
	"Mon, 02 Jan 2006 15:04:05 GMT",  // IMF-fixdate
	"Monday, 02-Jan-06 15:04:05 GMT", // RFC 850
	"Mon Jan _2 15:04:05 2006",       // asctime
}

// ParseRetryAfter reads an HTTP Retry-After value, delay-seconds or an
// HTTP date relative to now, and returns the wait it asks for: zero when v
// is empty, malformed or in the past, at most MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else {
		for _, layout := range httpDateLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				d = t.Sub(now)
				break
			}
		}
	}
	return min(max(d, 0), MaxRetryAfter)
}
