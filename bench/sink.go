package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier/channels/email/smtptest"
)

// counter counts arrivals at a sink towards a goal and keeps the times of
// the first and the last.
type counter struct {
	n, bytes    atomic.Int64
	first, last atomic.Int64 // unix nanoseconds
	want        int64
	once        sync.Once
	done        chan struct{}
}

func newCounter(want int) *counter {
	return &counter{want: int64(want), done: make(chan struct{})}
}

// add counts one arrival of size bytes.
func (c *counter) add(size int) {
	now := time.Now().UnixNano()
	c.first.CompareAndSwap(0, now)
	c.last.Store(now)
	c.bytes.Add(int64(size))
	if c.n.Add(1) == c.want {
		c.once.Do(func() { close(c.done) })
	}
}

// wait returns when the goal is reached, or an error after within.
func (c *counter) wait(ctx context.Context, within time.Duration) error {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-c.done:
		return nil
	case <-t.C:
		return fmt.Errorf("%d of %d arrived after %v", c.n.Load(), c.want, within)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// span is the time from the first to the last arrival.
func (c *counter) span() time.Duration { return time.Duration(c.last.Load() - c.first.Load()) }

// firstAt and lastAt are the times of the first and last arrival.
func (c *counter) firstAt() time.Time { return time.Unix(0, c.first.Load()) }
func (c *counter) lastAt() time.Time  { return time.Unix(0, c.last.Load()) }

// mailSink is an SMTP server on loopback that accepts every mail at once,
// keeps none, and counts them: smtptest's server with Discard.
type mailSink struct {
	*smtptest.Server
	count atomic.Pointer[counter]
}

// startSink starts a sink that stops when f closes.
func startSink(f *fixture) *mailSink {
	s := &mailSink{}
	s.Server = smtptest.NewServer(f, smtptest.Options{Discard: true, OnMessage: func(m *smtptest.Message) {
		if c := s.count.Load(); c != nil {
			c.add(len(m.Data))
		}
	}})
	return s
}

// expect starts counting afresh towards n mails.
func (s *mailSink) expect(n int) *counter {
	c := newCounter(n)
	s.count.Store(c)
	return c
}
