package mastodon

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// Mastodon's default limits for one account. An instance may set its own;
// the X-RateLimit headers of its answers then say so, and the channel
// follows them as well.
const (
	// statusLimit statuses (posts, replies and edits) per statusWindow.
	statusLimit  = 300
	statusWindow = 3 * time.Hour
	// requestLimit API requests per requestWindow.
	requestLimit  = 300
	requestWindow = 5 * time.Minute
	// deleteLimit deletions per deleteWindow.
	deleteLimit  = 30
	deleteWindow = 30 * time.Minute

	// maxWait caps a wait asked for by the instance.
	maxWait = crier.MaxRetryAfter
)

// kind is what a request counts against.
type kind int

const (
	// public requests carry no token and count against the address, not
	// the account; they are not paced.
	public kind = iota
	request
	status // POST /api/v1/statuses or PUT /api/v1/statuses/:id
	deletion
)

// window is a sliding window of the times of past requests of one kind.
type window struct {
	limit int
	span  time.Duration
	times []time.Time
}

// prune forgets the requests that left the window by now.
func (w *window) prune(now time.Time) {
	i := 0
	for i < len(w.times) && !w.times[i].After(now.Add(-w.span)) {
		i++
	}
	w.times = w.times[i:]
}

// wait returns how long until the window has room for one more request.
func (w *window) wait(now time.Time) time.Duration {
	w.prune(now)
	if len(w.times) < w.limit {
		return 0
	}
	return w.times[len(w.times)-w.limit].Add(w.span).Sub(now)
}

// forget removes one request made at t, after it turned out that the
// instance did not count it.
func (w *window) forget(t time.Time) {
	for i := len(w.times) - 1; i >= 0; i-- {
		if w.times[i].Equal(t) {
			w.times = append(w.times[:i], w.times[i+1:]...)
			return
		}
	}
}

// limits keeps one account's budget: crier's own sliding windows, and what
// the instance said in its X-RateLimit headers. It is safe for concurrent
// use.
type limits struct {
	mu       sync.Mutex
	requests window
	statuses window
	deletes  window
	// until holds, per kind, the time before which the instance said it
	// would refuse requests of that kind (X-RateLimit-Remaining 0, or a 429).
	until map[kind]time.Time
}

func newLimits() *limits {
	return &limits{
		requests: window{limit: requestLimit, span: requestWindow},
		statuses: window{limit: statusLimit, span: statusWindow},
		deletes:  window{limit: deleteLimit, span: deleteWindow},
		until:    map[kind]time.Time{},
	}
}

// reserve takes a slot for a request of kind k at now. When there is none,
// it returns how long to wait and why, and takes nothing. release gives a
// status slot back, for a post or edit the instance did not carry out and
// so did not count; the request slot stays taken, since the instance
// counted the request.
func (l *limits) reserve(k kind, now time.Time) (release func(), wait time.Duration, why error) {
	if k == public {
		return func() {}, 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	wait, why = l.blocked(request, now)
	if d, err := l.blocked(k, now); d > wait {
		wait, why = d, err
	}
	if d := l.requests.wait(now); d > wait {
		wait, why = d, fmt.Errorf("%d requests in %v, the instance's limit for an account", requestLimit, requestWindow)
	}
	own := l.window(k)
	if own != nil {
		if d := own.wait(now); d > wait {
			wait, why = d, fmt.Errorf("%d %s in %v, the instance's limit for an account", own.limit, k, own.span)
		}
	}
	if wait > 0 {
		return nil, wait, why
	}
	l.requests.times = append(l.requests.times, now)
	if own == nil {
		return func() {}, 0, nil
	}
	own.times = append(own.times, now)
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		own.forget(now)
	}, 0, nil
}

// blocked returns how long the instance said it refuses requests of kind k.
func (l *limits) blocked(k kind, now time.Time) (time.Duration, error) {
	until := l.until[k]
	if !until.After(now) {
		return 0, nil
	}
	return until.Sub(now), fmt.Errorf("the instance's rate limit is used up until %s", until.UTC().Format(time.RFC3339))
}

func (l *limits) window(k kind) *window {
	switch k {
	case status:
		return &l.statuses
	case deletion:
		return &l.deletes
	}
	return nil
}

// observe reads the X-RateLimit headers of an answer to a request of kind
// k. Remaining 0 holds back requests of that kind until the reset; a
// positive Remaining lifts such a hold. Mastodon reports the tightest of
// the limits a request counts against, so that the answer to a status post
// may speak of the status limit rather than the request limit.
func (l *limits) observe(k kind, h http.Header, now time.Time) {
	if k == public {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > 0 {
		delete(l.until, k)
		return
	}
	if reset, ok := parseReset(h.Get("X-RateLimit-Reset")); ok && reset.After(now) {
		if limit := now.Add(maxWait); reset.After(limit) {
			reset = limit
		}
		l.holdLocked(k, reset)
	}
}

// hold holds back requests of kind k until t.
func (l *limits) hold(k kind, t time.Time) {
	if k == public {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdLocked(k, t)
}

func (l *limits) holdLocked(k kind, t time.Time) {
	if t.After(l.until[k]) {
		l.until[k] = t
	}
}

func (k kind) String() string {
	switch k {
	case status:
		return "statuses"
	case deletion:
		return "deletions"
	case request:
		return "requests"
	}
	return "public requests"
}

// parseReset parses X-RateLimit-Reset, an ISO 8601 time such as
// 2023-10-30T06:05:00.000000Z.
func parseReset(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	return t, err == nil
}

// rateLimitWait returns how long a 429 answer asks to wait, relative to
// now and capped at maxWait: Retry-After (seconds or an HTTP date) when the
// answer has one, which is the explicit request, and X-RateLimit-Reset,
// the end of the used-up window, otherwise.
func rateLimitWait(h http.Header, now time.Time) time.Duration {
	if h.Get("Retry-After") != "" {
		return retryAfter(h.Get("Retry-After"), now)
	}
	reset, ok := parseReset(h.Get("X-RateLimit-Reset"))
	if !ok {
		return 0
	}
	return min(max(reset.Sub(now), 0), maxWait)
}

// retryAfter reads a Retry-After header value; see crier.ParseRetryAfter.
func retryAfter(v string, now time.Time) time.Duration { return crier.ParseRetryAfter(v, now) }
