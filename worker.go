package crier

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Defaults of the delivery workers.
const (
	DefaultConcurrency     = 4
	DefaultLease           = 2 * time.Minute
	DefaultSendTimeout     = 30 * time.Second
	DefaultMaxAttempts     = 12
	DefaultPoll            = time.Second
	DefaultShutdownTimeout = 20 * time.Second
)

// Workers deliver queued messages: one dispatcher per channel type claims
// as many jobs as it has free slots, each job is sent by its own goroutine
// (bounded by the type's concurrency), and one acker records outcomes in
// batches. Dispatchers claim only for free slots and outcomes wait in a
// bounded channel, so at most three times the total concurrency is claimed
// but not yet recorded: after a crash only those few are repeated (where
// the receiver deduplicates) or named unknown.
type Workers struct {
	Queue Queue
	// Channels maps channel ids to their configuration.
	Channels map[string]*ChannelInfo
	// Capture receives every message marked Capture (exercise and test mode).
	Capture Channel
	Clock   Clock
	Logger  *slog.Logger
	// Concurrency is the number of parallel sends per channel type;
	// DefaultConcurrency for types not listed.
	Concurrency     map[string]int
	Lease           time.Duration
	SendTimeout     time.Duration
	MaxAttempts     int
	Backoff         Backoff
	Poll            time.Duration
	ShutdownTimeout time.Duration
	// Unsubscribe returns a recipient's unsubscribe URL; it replaces
	// UnsubscribePlaceholder in email text and HTML.
	Unsubscribe func(town, recipient string) string
	// Observe, when set, is called after every job with its outcome and
	// the time the send took (metrics).
	Observe func(j *Job, o *Outcome, took time.Duration)

	wakeOnce sync.Once
	wake     chan struct{}
}

// Notify wakes idle dispatchers, e.g. right after a publish.
func (w *Workers) Notify() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Workers) init() {
	w.wakeOnce.Do(func() { w.wake = make(chan struct{}, 1) })
}

// Run delivers until ctx is canceled. Then it stops claiming, lets
// in-flight sends finish for up to ShutdownTimeout (canceling them after
// that, which records their outcome), records every outcome, and returns.
func (w *Workers) Run(ctx context.Context) error {
	w.init()
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	// Outcomes wait for the acker in a channel no larger than the number
	// of parallel sends, so that at any moment at most three times that
	// many jobs are claimed but not yet recorded: in flight, waiting, and
	// in the batch being written. Those are the ones a crash repeats.
	types := w.types()
	total := 0
	for _, typ := range types {
		total += w.concurrency(typ)
	}
	outcomes := make(chan *Outcome, total)
	ackerDone := make(chan struct{})
	go func() {
		defer close(ackerDone)
		w.ack(outcomes, total)
	}()

	var wg sync.WaitGroup
	wakes := make(map[string]chan struct{})
	for _, typ := range types {
		wakes[typ] = make(chan struct{}, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.dispatch(ctx, sendCtx, typ, wakes[typ], outcomes)
		}()
	}
	// Fan a single wake signal out to every dispatcher.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
				for _, c := range wakes {
					select {
					case c <- struct{}{}:
					default:
					}
				}
			}
		}
	}()

	<-ctx.Done()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	timer := time.NewTimer(w.shutdownTimeout())
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		w.logger().Warn("shutdown timeout: canceling in-flight sends")
		cancelSends()
		<-stopped
	}
	close(outcomes)
	<-ackerDone
	return nil
}

// dispatch claims and sends jobs of one channel type until ctx ends, then
// waits for its in-flight sends.
func (w *Workers) dispatch(ctx, sendCtx context.Context, typ string, wake <-chan struct{}, out chan<- *Outcome) {
	limit := w.concurrency(typ)
	finished := make(chan struct{}, limit)
	inflight := 0
	log := w.logger().With("type", typ)
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		free := limit - inflight
		// Claim in batches: a single free slot waits for company unless
		// nothing is in flight, which keeps claims cheap under load.
		if ctx.Err() == nil && free > 0 && (inflight == 0 || free >= (limit+1)/2) {
			jobs, err := w.Queue.Claim(ctx, []string{typ}, free, w.Clock.Now(), w.lease())
			if err != nil && ctx.Err() == nil {
				log.Error("claim deliveries", "err", err)
			}
			for _, j := range jobs {
				inflight++
				go func() {
					o, took := w.work(sendCtx, j)
					if w.Observe != nil {
						w.Observe(j, o, took)
					}
					out <- o
					finished <- struct{}{}
				}()
			}
			if len(jobs) == free {
				continue // there may be more
			}
		}
		if ctx.Err() != nil {
			for ; inflight > 0; inflight-- {
				<-finished
			}
			return
		}
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(w.poll())
		select {
		case <-finished:
			inflight--
		case <-wake:
		case <-poll.C:
		case <-ctx.Done():
		}
	}
}

// ack records outcomes in batches of at most maxBatch: whatever has
// arrived while the previous batch was being written goes into the next
// transaction.
func (w *Workers) ack(in <-chan *Outcome, maxBatch int) {
	batch := make([]*Outcome, 0, maxBatch)
	for o := range in {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-in:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		w.complete(batch)
	}
}

// complete writes a batch of outcomes, trying a few times: an outcome that
// is never written leaves its job leased, and the job is claimed again
// after the lease expires.
func (w *Workers) complete(batch []*Outcome) {
	ctx := context.Background()
	var err error
	for try := 0; try < 3; try++ {
		var stale int
		stale, err = w.Queue.Complete(ctx, batch, w.Clock.Now())
		if err == nil {
			if stale > 0 {
				w.logger().Warn("outcomes of jobs whose lease was taken over were dropped", "n", stale)
			}
			return
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	w.logger().Error("record delivery outcomes", "n", len(batch), "err", err)
}

// RunOnce delivers every job that is due now and returns how many it
// worked on. Tests drive the workers with it on an injected clock.
func (w *Workers) RunOnce(ctx context.Context) (int, error) {
	n := 0
	for {
		jobs, err := w.Queue.Claim(ctx, nil, 64, w.Clock.Now(), w.lease())
		if err != nil {
			return n, fmt.Errorf("claim deliveries: %w", err)
		}
		if len(jobs) == 0 {
			return n, nil
		}
		outcomes := make([]*Outcome, len(jobs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i, j := range jobs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				o, took := w.work(ctx, j)
				if w.Observe != nil {
					w.Observe(j, o, took)
				}
				outcomes[i] = o
			}()
		}
		wg.Wait()
		if _, err := w.Queue.Complete(ctx, outcomes, w.Clock.Now()); err != nil {
			return n, fmt.Errorf("record delivery outcomes: %w", err)
		}
		n += len(jobs)
	}
}

// work sends one job and decides what becomes of it.
func (w *Workers) work(ctx context.Context, j *Job) (*Outcome, time.Duration) {
	d, m := j.Delivery, j.Message
	now := w.Clock.Now()
	o := &Outcome{Delivery: d.ID, Lease: j.Lease}
	if !m.Expires.IsZero() && !now.Before(m.Expires) {
		o.State = StateExpired
		return o, 0
	}
	info := w.Channels[d.Channel]
	ch, dedup := w.channel(info, m)
	attempt := &Attempt{Delivery: d.ID, Started: now, Finished: now}
	o.Attempt = attempt
	if ch == nil {
		attempt.ErrorCode, attempt.Error = EPERMANENT, fmt.Sprintf("channel %q is no longer configured", d.Channel)
		o.State = StateFailed
		return o, 0
	}
	if j.Reclaimed && !dedup {
		attempt.ErrorCode = EUNKNOWN
		attempt.Error = "the worker sending this was lost; it may or may not have been delivered"
		o.State = StateUnknown
		return o, 0
	}
	w.personalize(m)
	sctx, cancel := context.WithTimeout(ctx, w.sendTimeout())
	r, err := ch.Send(sctx, m)
	cancel()
	attempt.Finished = w.Clock.Now()
	took := attempt.Finished.Sub(now)
	if err == nil {
		if r == nil {
			r = &Receipt{}
		}
		attempt.RemoteID, attempt.URL, attempt.Endpoint, attempt.Network = r.RemoteID, r.URL, r.Endpoint, r.Network
		o.State = StateSent
		return o, took
	}
	w.classify(o, d.Attempts+1, err)
	w.logger().Debug("delivery attempt failed", "delivery", d.ID, "key", d.Key, "state", o.State, "err", err)
	return o, took
}

// classify sets the outcome of a failed attempt number n.
func (w *Workers) classify(o *Outcome, n int, err error) {
	a := o.Attempt
	a.ErrorCode, a.Error = ErrorCode(err), err.Error()
	var e *Error
	if !errors.As(err, &e) {
		a.ErrorCode = EUNKNOWN
	}
	retry := false
	var after time.Duration
	switch {
	case e == nil:
		o.State = StateUnknown
	case e.Code == ETRANSIENT:
		retry, after = true, e.RetryAfter
	case e.Code == EUNKNOWN && e.Retryable:
		retry = true
	case e.Code == EUNKNOWN:
		o.State = StateUnknown
	default:
		o.State = StateFailed
	}
	if !retry {
		return
	}
	if n >= w.maxAttempts() {
		o.State = StateFailed
		a.Error = fmt.Sprintf("%s (gave up after %d attempts)", a.Error, n)
		return
	}
	o.State = StateQueued
	o.NextAt = a.Finished.Add(w.Backoff.Delay(n, after))
}

// channel returns the channel a message goes to and whether its receiver
// deduplicates.
func (w *Workers) channel(info *ChannelInfo, m *Message) (Channel, bool) {
	if m.Capture {
		return w.Capture, true
	}
	if info == nil {
		return nil, false
	}
	return info.Channel, info.Deduplicates
}

func (w *Workers) personalize(m *Message) {
	if m.Recipient == "" || w.Unsubscribe == nil {
		return
	}
	u := w.Unsubscribe(m.Town, m.Recipient)
	m.UnsubscribeURL = u
	m.Text = strings.ReplaceAll(m.Text, UnsubscribePlaceholder, u)
	m.HTML = strings.ReplaceAll(m.HTML, UnsubscribePlaceholder, html.EscapeString(u))
}

func (w *Workers) types() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range w.Channels {
		if !seen[c.Type] {
			seen[c.Type] = true
			out = append(out, c.Type)
		}
	}
	return out
}

func (w *Workers) concurrency(typ string) int {
	if n := w.Concurrency[typ]; n > 0 {
		return n
	}
	return DefaultConcurrency
}

func (w *Workers) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func (w *Workers) lease() time.Duration       { return orDefault(w.Lease, DefaultLease) }
func (w *Workers) sendTimeout() time.Duration { return orDefault(w.SendTimeout, DefaultSendTimeout) }
func (w *Workers) maxAttempts() int           { return orDefault(w.MaxAttempts, DefaultMaxAttempts) }
func (w *Workers) poll() time.Duration        { return orDefault(w.Poll, DefaultPoll) }
func (w *Workers) shutdownTimeout() time.Duration {
	return orDefault(w.ShutdownTimeout, DefaultShutdownTimeout)
}
