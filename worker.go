package crier

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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
	// DefaultPrefetch is how many rounds of Concurrency jobs per type the
	// configuration claims ahead of the sends unless told otherwise.
	DefaultPrefetch = 5
	// DefaultSlowAfter is how long a send may take before its sender is
	// replaced: see Workers.SlowAfter.
	DefaultSlowAfter = time.Second
	// deferFloor is the shortest wait of a send that was held back without
	// a wait of its own, so that it is not claimed again in a busy loop.
	deferFloor = time.Second
)

// Workers deliver queued messages. One dispatcher per channel type owns
// that type's slots: it claims as many jobs as it has free slots, each job
// is sent by its own goroutine once one of the type's Concurrency sends is
// free, and when half the slots are done it records their outcomes and
// claims replacements in one transaction, as late as it can without
// leaving the sends idle. There are Concurrency slots, plus Prefetch ×
// Concurrency more, so that jobs are ready while earlier ones are being
// recorded and connections never wait for the database, and so that one
// commit records many outcomes. A slot is free only once its outcome is
// recorded, so at most the slots' worth of jobs is claimed but unrecorded:
// after a crash only those are repeated (where the receiver deduplicates)
// or named unknown.
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
	Concurrency map[string]int
	// Prefetch is how many rounds of Concurrency jobs per type are claimed
	// ahead of the sends; 0 claims only what the sends take. It keeps
	// connections busy while outcomes are recorded and lets one commit
	// record more of them. The price: after a crash, jobs that were
	// waiting count as in flight.
	Prefetch int
	// SlowAfter is how long a send may take before another sender takes
	// its place, default DefaultSlowAfter. A send to a hung endpoint then
	// holds a goroutine until its timeout, but not one of the type's
	// Concurrency slots: the other endpoints and channels of the type keep
	// their throughput. How many such sends one endpoint may hold is the
	// endpoint's own bound (netpath.Endpoint.Slots); at most the claimed
	// jobs' worth of senders exist at once.
	SlowAfter       time.Duration
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

	hurryMu sync.Mutex
	hurried map[string]uint64 // per channel: how many times Hurry began
}

// held is a job's outcome that leaves it queued for later, with how many
// times its channel had been hurried when its send began.
type held struct {
	channel string
	seen    uint64
}

// Notify wakes idle dispatchers, e.g. right after a publish.
func (w *Workers) Notify() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Hurry makes the queued deliveries of channel that wait for a later time
// due now, wakes the dispatchers and returns how many it made due: an
// endpoint they waited for takes sends again.
//
// A delivery whose send is under way meanwhile may still be held back on
// what the endpoint was before (an open breaker's cool-down) and be
// recorded as queued after Hurry looked at the queue. Its dispatcher
// therefore hurries the channel again once it has recorded such an
// outcome, so that no delivery waits out a cool-down that is over.
func (w *Workers) Hurry(ctx context.Context, channel string) (int, error) {
	w.hurryMu.Lock()
	if w.hurried == nil {
		w.hurried = make(map[string]uint64)
	}
	w.hurried[channel]++
	w.hurryMu.Unlock()
	return w.hurry(ctx, channel)
}

func (w *Workers) hurry(ctx context.Context, channel string) (int, error) {
	n, err := w.Queue.Hurry(ctx, channel, w.Clock.Now())
	if n > 0 {
		w.Notify()
	}
	return n, err
}

// hurries returns how many times Hurry began for channel.
func (w *Workers) hurries(channel string) uint64 {
	w.hurryMu.Lock()
	defer w.hurryMu.Unlock()
	return w.hurried[channel]
}

// rehurry hurries the channels of recorded outcomes that left their job
// queued and whose send began before a Hurry of their channel: that Hurry
// may have looked at the queue before they were recorded. Each outcome
// must be recorded before rehurry reads the count, and Hurry counts
// before it looks at the queue, so that one of the two sees the job
// queued. It does not count as a Hurry itself: jobs sent after it are
// not hurried again on its account.
func (w *Workers) rehurry(ctx context.Context, hs []held) {
	done := map[string]bool{}
	for _, h := range hs {
		if done[h.channel] || w.hurries(h.channel) == h.seen {
			continue
		}
		done[h.channel] = true
		if _, err := w.hurry(ctx, h.channel); err != nil {
			w.logger().Warn("release deliveries held back before their endpoint recovered", "channel", h.channel, "err", err)
		}
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
	var wg sync.WaitGroup
	wakes := make(map[string]chan struct{})
	for _, typ := range w.types() {
		wake := make(chan struct{}, 1)
		wakes[typ] = wake
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.dispatch(ctx, sendCtx, typ, wake)
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
	return nil
}

// dispatch owns the slots of one channel type until ctx ends and every
// outcome is recorded.
func (w *Workers) dispatch(ctx, sendCtx context.Context, typ string, wake <-chan struct{}) {
	senders := w.concurrency(typ)
	limit := senders * (1 + max(w.Prefetch, 0))
	// Half the slots done is the time to record them and claim more,
	// unless enough claimed jobs still wait for a send to keep the sends
	// busy for a while: a later commit records more outcomes at once.
	hold := limit + 1 // without prefetch, never
	if w.Prefetch > 0 {
		hold = max(1, senders*(w.Prefetch-1)/2)
	}
	// One goroutine per send slot, for as long as the dispatcher runs:
	// claimed jobs wait in queue until a sender takes them. Senders put
	// outcomes in finished and wake the dispatcher only when there is
	// something for it to do, not for every outcome.
	queue := make(chan *Job, limit)
	defer close(queue)
	var (
		mu       sync.Mutex
		finished []*Outcome   // outcomes the dispatcher has not taken yet
		queued   []held       // of finished, those that leave their job queued
		running  atomic.Int32 // jobs claimed whose outcome is not in finished yet
		waiting  atomic.Int32 // jobs in queue, not taken by a sender yet
	)
	ready := make(chan struct{}, 1)
	// due says that with r jobs running, enough sends are done to record
	// them and claim more.
	due := func(r int) bool {
		return r == 0 || 2*(limit-r) >= limit && int(waiting.Load()) < hold
	}
	// A sender works on one job after another. One whose send is still
	// under way after SlowAfter parks it: the job stops counting as
	// running, so that the dispatcher claims in its place, and a new sender
	// takes the slot; the parked sender ends once its send is over. A hung
	// endpoint then never holds the type's slots. At most limit jobs are
	// parked at once (each endpoint's own bound, netpath.Endpoint.Slots,
	// usually keeps them far fewer), so at most twice limit are claimed.
	var parked atomic.Int32
	var sender func()
	sender = func() {
		for j := range queue {
			waiting.Add(-1)
			var o *Outcome
			var h *held // o leaves the job queued
			park := false
			if sendCtx.Err() != nil {
				// The shutdown's time is up before this job's send
				// began: it goes back to the queue untried.
				o = &Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: StateQueued, NextAt: j.Delivery.NextAt}
			} else {
				var once sync.Once
				slow := time.AfterFunc(w.slowAfter(), func() {
					once.Do(func() {
						if int(parked.Add(1)) > limit {
							parked.Add(-1)
							return
						}
						park = true
						mu.Lock()
						r := running.Add(-1)
						mu.Unlock()
						go sender()
						if due(int(r)) {
							select {
							case ready <- struct{}{}:
							default:
							}
						}
					})
				})
				var took time.Duration
				seen := w.hurries(j.Delivery.Channel)
				o, took = w.work(sendCtx, j)
				if o.State == StateQueued {
					h = &held{channel: j.Delivery.Channel, seen: seen}
				}
				if !slow.Stop() {
					once.Do(func() {}) // wait until the job is parked, if it is
				}
				if w.Observe != nil {
					w.Observe(j, o, took)
				}
			}
			mu.Lock()
			finished = append(finished, o)
			if h != nil {
				queued = append(queued, *h)
			}
			r := int(running.Load())
			if !park {
				r = int(running.Add(-1))
			}
			mu.Unlock()
			if park {
				parked.Add(-1)
			}
			if due(r) || ctx.Err() != nil || park {
				select {
				case ready <- struct{}{}:
				default:
				}
			}
			if park {
				return
			}
		}
	}
	for range senders {
		go sender()
	}
	var pending, taken []*Outcome
	var pendingHeld, takenHeld []held
	log := w.logger().With("type", typ)
	done := ctx.Done()
	poll := time.NewTimer(0)
	defer poll.Stop()
	failures := 0
	wanted := true // a claim is worth trying: woken, polled, or the last claim was full
	for {
		// Take every outcome that is ready, so that one commit records as
		// many as possible; the jobs of outcomes finished after this still
		// count as running.
		mu.Lock()
		taken, finished = finished, taken[:0]
		takenHeld, queued = queued, takenHeld[:0]
		r := int(running.Load())
		mu.Unlock()
		pending = append(pending, taken...)
		pendingHeld = append(pendingHeld, takenHeld...)
		stopping := ctx.Err() != nil
		idle := limit - r // slots whose job is done (pending) or that are empty
		half := due(r)
		commit := len(pending) > 0 && (half || stopping)
		claim := !stopping && idle > 0 && half && (wanted || commit)
		if commit || claim {
			n := 0
			if claim {
				n = idle
			}
			jobs, err := w.exchange(ctx, pending, typ, n)
			if err != nil && ctx.Err() != nil && n > 0 {
				// Stopping while a claim was under way: the outcomes stay
				// pending and are recorded by the next, claim-free exchange.
				continue
			}
			if err != nil {
				log.Error("record outcomes and claim deliveries", "err", err, "outcomes", len(pending))
				wanted = false // try again at the next poll; outcomes stay pending
				if failures++; stopping && r == 0 && parked.Load() == 0 && failures >= 3 {
					// Their leases expire and the jobs are claimed again.
					log.Error("stopping without recording outcomes", "outcomes", len(pending))
					return
				}
			} else {
				failures = 0
				pending = pending[:0]
				w.rehurry(ctx, pendingHeld)
				pendingHeld = pendingHeld[:0]
				for _, j := range jobs {
					running.Add(1)
					waiting.Add(1)
					queue <- j // never blocks: at most limit jobs run
				}
				wanted = n > 0 && len(jobs) == n // a full claim: there may be more
				if wanted {
					continue
				}
			}
		}
		if stopping && r == 0 && parked.Load() == 0 && len(pending) == 0 {
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
		case <-ready:
		case <-wake:
			wanted = true
		case <-poll.C:
			wanted = true
		case <-done:
			done = nil
		}
	}
}

// exchange records outcomes and claims n jobs of typ in one transaction.
// Recording must outlive a canceled ctx: a shutdown still writes what the
// last sends achieved.
func (w *Workers) exchange(ctx context.Context, outcomes []*Outcome, typ string, n int) ([]*Job, error) {
	if n == 0 {
		ctx = context.WithoutCancel(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	jobs, stale, err := w.Queue.Exchange(ctx, outcomes, []string{typ}, n, w.Clock.Now(), w.lease())
	if stale > 0 {
		w.logger().Warn("outcomes of jobs whose lease was taken over were dropped", "n", stale)
	}
	return jobs, err
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
		seen := make([]uint64, len(jobs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i, j := range jobs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				seen[i] = w.hurries(j.Delivery.Channel)
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
		var hs []held
		for i, o := range outcomes {
			if o.State == StateQueued {
				hs = append(hs, held{channel: jobs[i].Delivery.Channel, seen: seen[i]})
			}
		}
		w.rehurry(ctx, hs)
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
	if j.Reclaimed {
		m.Ambiguous = true // the lost worker may have sent it; the receiver decides by the key
	}
	w.personalize(m, !m.Capture && info.Personalizes)
	action, withdrawn := revision(info, j, m)
	if withdrawn {
		// A cancel whose notice never went out here has nothing to withdraw.
		o.State, o.Attempt = StateCanceled, nil
		return o, 0
	}
	sctx, cancel := context.WithTimeout(ctx, w.sendTimeout())
	r, err := send(sctx, ch, action, m)
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
	var e *Error
	if errors.As(err, &e) {
		attempt.Endpoint, attempt.Network = e.Endpoint, e.Network
	}
	w.classify(o, d.Attempts+1, err, m.Expires)
	// A relay's refusal of a recipient names the address: the log gets the
	// class only, the delivery's record the whole text.
	if d.Recipient != "" {
		w.logger().Debug("delivery attempt failed", "delivery", d.ID, "key", d.Key, "state", o.State, "code", ErrorCode(err))
	} else {
		w.logger().Debug("delivery attempt failed", "delivery", d.ID, "key", d.Key, "state", o.State, "err", err)
	}
	return o, took
}

// revision returns what an update or a cancel does on its channel: the
// action on the earlier post, when there is one the channel may change
// (none: send m as a message of its own), and whether a cancel finds
// nothing to withdraw because the previous revision never went out here.
// It sets m.Previous to the earlier post's receipt.
func revision(info *ChannelInfo, j *Job, m *Message) (action string, withdrawn bool) {
	if m.Event != EventUpdated && m.Event != EventCanceled {
		return "", false
	}
	prev := j.Previous
	if m.Event == EventCanceled && (prev == nil || prev.State != StateSent && prev.State != StateUnknown) {
		return "", true
	}
	if prev == nil || prev.State != StateSent || prev.RemoteID == "" || m.Capture {
		return "", false
	}
	m.Previous = &Receipt{RemoteID: prev.RemoteID, URL: prev.URL, Endpoint: prev.Endpoint}
	reply := info != nil && info.Revisions == RevisionsReply
	switch {
	case reply:
		return ActionReply, false
	case m.Event == EventUpdated:
		return ActionEdit, false
	default:
		return ActionDelete, false
	}
}

// send carries out action on ch, or sends m when there is none or ch
// cannot change its earlier posts.
func send(ctx context.Context, ch Channel, action string, m *Message) (*Receipt, error) {
	if action == "" {
		return ch.Send(ctx, m)
	}
	var (
		r   *Receipt
		err = ErrCannotRevise
	)
	remoteID := m.Previous.RemoteID
	switch c := ch.(type) {
	case Reviser:
		r, err = c.Revise(ctx, action, m)
	case Editor:
		if action == ActionEdit {
			r, err = c.Edit(ctx, remoteID, m)
		}
	}
	if errors.Is(err, ErrCannotRevise) {
		if d, ok := ch.(Deleter); ok && action == ActionDelete {
			return &Receipt{RemoteID: remoteID, URL: m.Previous.URL}, d.Delete(ctx, remoteID)
		}
		if rp, ok := ch.(Replier); ok && action == ActionReply {
			return rp.Reply(ctx, remoteID, m)
		}
		return ch.Send(ctx, m)
	}
	return r, err
}

// classify sets the outcome of a failed attempt number n.
//
// A notice with an expiry is retried until it expires: while every
// endpoint is unreachable it waits with capped backoff, and the backlog
// drains when one comes back. Without an expiry, MaxAttempts bounds the
// tries.
//
// A send that was held back before anything was tried (Error.Deferred:
// crier's own pacing, open breakers, busy or gone endpoints) is no
// attempt: it waits and keeps its count of attempts.
func (w *Workers) classify(o *Outcome, n int, err error, expires time.Time) {
	a := o.Attempt
	a.ErrorCode, a.Error = ErrorCode(err), err.Error()
	var e *Error
	if !errors.As(err, &e) {
		a.ErrorCode = EUNKNOWN
	}
	if e != nil && e.Deferred {
		o.Attempt, o.State = nil, StateQueued
		o.NextAt = a.Finished.Add(max(e.RetryAfter, deferFloor))
		return
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
	if n >= w.maxAttempts() && expires.IsZero() {
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

// personalize sets m's unsubscribe URL and, unless the channel does it
// itself, puts it in place of UnsubscribePlaceholder.
func (w *Workers) personalize(m *Message, byChannel bool) {
	if m.Recipient == "" || w.Unsubscribe == nil {
		return
	}
	u := w.Unsubscribe(m.Town, m.Recipient)
	m.UnsubscribeURL = u
	if byChannel {
		return
	}
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
func (w *Workers) slowAfter() time.Duration   { return orDefault(w.SlowAfter, DefaultSlowAfter) }
func (w *Workers) poll() time.Duration        { return orDefault(w.Poll, DefaultPoll) }
func (w *Workers) shutdownTimeout() time.Duration {
	return orDefault(w.ShutdownTimeout, DefaultShutdownTimeout)
}
