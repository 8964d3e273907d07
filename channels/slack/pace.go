package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// Pacing: Slack allows about one message per second per channel, with
// short bursts. A post waits for its turn when that is at most maxWait
// away; a post further back in the line fails transiently and comes back
// later.
const (
	interval = time.Second
	maxWait  = time.Second
)

// pacer spaces the posts of one channel by interval. Turns are reserved
// when a post asks, so concurrent posts line up instead of all waking at
// once. It keeps its bookkeeping on the channel's clock and waits with the
// channel's sleep function, so that tests need not sleep.
type pacer struct {
	clock crier.Clock
	sleep func(context.Context, time.Duration) error

	mu   sync.Mutex
	next time.Time // the earliest start of the next post
}

// turnError says that a post's turn is too far away to wait for.
type turnError struct{ after time.Duration }

func (e *turnError) Error() string {
	return fmt.Sprintf("slack takes about one message per second per channel; this one's turn is %v away", e.after)
}

// wait returns when it is the caller's turn to post, a *turnError when the
// turn is more than maxWait away, or the sleep's error when ctx ends
// first. A turn given up stays taken, so pacing errs on the slow side.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := p.clock.Now()
	at := now
	if p.next.After(now) {
		at = p.next
	}
	d := at.Sub(now)
	if d > maxWait {
		p.mu.Unlock()
		return &turnError{after: d}
	}
	p.next = at.Add(interval)
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	return p.sleep(ctx, d)
}

// sleepTimer waits for d or until ctx is done.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
