package crier_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/store/sqlite"
)

// blocking is a remote that holds every send until the test releases it,
// and records what it received.
type blocking struct {
	mu        sync.Mutex
	started   chan string
	release   chan struct{}
	received  []string
	ambiguous []bool
}

func newBlocking() *blocking {
	return &blocking{started: make(chan string, 100), release: make(chan struct{})}
}

func (b *blocking) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	b.started <- m.Key
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, crier.Unknown(ctx.Err(), true)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.received = append(b.received, m.Key)
	b.ambiguous = append(b.ambiguous, m.Ambiguous)
	return &crier.Receipt{RemoteID: m.Key}, nil
}

func (b *blocking) keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.received...)
}

// mustQueue opens a real SQLite queue and commits one delivery of type
// typ for each of n towns on the channel "radio".
func mustQueue(t *testing.T, now time.Time, n int, typ string) *sqlite.DB {
	t.Helper()
	return mustQueueChannels(t, now, n, typ, "radio")
}

func countStates(t *testing.T, db *sqlite.DB) map[crier.State]int {
	t.Helper()
	ds, err := db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[crier.State]int{}
	for _, d := range ds {
		out[d.State]++
	}
	return out
}

// TestWorkersShutdown: when asked to stop, workers claim nothing more,
// let in-flight sends finish, record them, and a restart picks up exactly
// the rest.
func TestWorkersShutdown(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db := mustQueue(t, now, 20, "webhook")
	remote := newBlocking()
	w := &crier.Workers{
		Queue:       db,
		Channels:    map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Deduplicates: true, Channel: remote}},
		Clock:       channeltest.NewClock(now),
		Concurrency: map[string]int{"webhook": 2},
		Poll:        time.Hour, // only the two claims below; no polling in between
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-remote.started
	<-remote.started
	cancel() // SIGTERM: two sends are in flight
	select {
	case <-ran:
		t.Fatal("Run returned while sends were in flight")
	default:
	}
	close(remote.release)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if got := countStates(t, db); got[crier.StateSent] != 2 || got[crier.StateQueued] != 18 {
		t.Fatalf("after shutdown: %v; want the 2 in-flight sent and 18 queued", got)
	}

	// A restart resumes exactly what was not finished.
	w2 := &crier.Workers{Queue: db, Channels: w.Channels, Clock: w.Clock}
	if n, err := w2.RunOnce(context.Background()); err != nil || n != 18 {
		t.Fatalf("restart worked on %d jobs, %v; want 18", n, err)
	}
	if got := countStates(t, db); got[crier.StateSent] != 20 {
		t.Fatalf("after restart: %v; want all 20 sent", got)
	}
	seen := map[string]int{}
	for _, k := range remote.keys() {
		seen[k]++
	}
	if len(seen) != 20 {
		t.Errorf("remote received %d distinct keys, want 20", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times", k, n)
		}
	}
}

// TestWorkersShutdownTimeout: a send that does not finish within the
// shutdown timeout is canceled, and its outcome is still recorded.
func TestWorkersShutdownTimeout(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db := mustQueue(t, now, 1, "webhook")
	remote := newBlocking() // never released
	w := &crier.Workers{
		Queue:           db,
		Channels:        map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Deduplicates: true, Channel: remote}},
		Clock:           channeltest.NewClock(now),
		Backoff:         crier.Backoff{Rand: func() float64 { return 0.5 }},
		ShutdownTimeout: 50 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-remote.started
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := ds[0]; d.State != crier.StateQueued || d.Attempts != 1 || !d.NextAt.Equal(now.Add(5*time.Second)) {
		t.Errorf("canceled send: %s, %d attempts, next %v; want queued for a retry in 5s", d.State, d.Attempts, d.NextAt)
	}
}

// TestWorkersReclaim: a job whose worker died (its lease expired) is sent
// again only where the receiver deduplicates; otherwise it becomes unknown.
func TestWorkersReclaim(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		dedup bool
		want  crier.State
	}{
		{"webhook", true, crier.StateSent},
		{"email", false, crier.StateUnknown},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
			clock := channeltest.NewClock(now)
			db := mustQueue(t, now, 1, tc.typ)
			// A worker claims the job and dies.
			if jobs, err := db.Claim(context.Background(), nil, 10, now, time.Minute); err != nil || len(jobs) != 1 {
				t.Fatalf("claim: %d, %v", len(jobs), err)
			}
			remote := newBlocking()
			close(remote.release)
			w := &crier.Workers{
				Queue:    db,
				Channels: map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: tc.typ, Deduplicates: tc.dedup, Channel: remote}},
				Clock:    clock,
			}
			if n, _ := w.RunOnce(context.Background()); n != 0 {
				t.Fatalf("a leased job was taken over before its lease expired")
			}
			clock.Advance(time.Minute)
			if n, err := w.RunOnce(context.Background()); err != nil || n != 1 {
				t.Fatalf("RunOnce after lease expiry: %d, %v", n, err)
			}
			if got := countStates(t, db); got[tc.want] != 1 {
				t.Errorf("reclaimed %s job: %v, want %s", tc.typ, got, tc.want)
			}
			if sent := len(remote.keys()); (sent == 1) != tc.dedup {
				t.Errorf("remote received %d sends; want a resend only when the receiver deduplicates", sent)
			}
			if tc.dedup && !remote.ambiguous[0] {
				t.Error("a resent reclaimed job is not marked ambiguous")
			}
		})
	}
}

// TestWorkersPrefetch: with prefetch, that many rounds of jobs are claimed
// ahead, but no more than Concurrency sends run at once.
func TestWorkersPrefetch(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db := mustQueue(t, now, 20, "webhook")
	remote := newBlocking()
	w := &crier.Workers{
		Queue:       db,
		Channels:    map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Deduplicates: true, Channel: remote}},
		Clock:       channeltest.NewClock(now),
		Concurrency: map[string]int{"webhook": 2},
		Prefetch:    3,
		Poll:        time.Hour,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-remote.started
	<-remote.started
	// Two sends run; more jobs are claimed and wait for a send slot.
	claimed := 2 * (1 + 3)
	if got := countStates(t, db); got[crier.StateSending] != claimed || got[crier.StateQueued] != 20-claimed {
		t.Errorf("with two sends running: %v; want %d claimed (2 sending, the rest prefetched) and %d queued",
			got, claimed, 20-claimed)
	}
	select {
	case k := <-remote.started:
		t.Fatalf("a third send (%s) started while two were running", k)
	default:
	}
	cancel() // stop claiming first, then let the sends go
	close(remote.release)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if got := countStates(t, db); got[crier.StateSent] != claimed || got[crier.StateQueued] != 20-claimed {
		t.Errorf("after shutdown: %v; want the %d claimed sent, %d queued", got, claimed, 20-claimed)
	}
}

// TestWorkersShutdownTimeoutLeavesPrefetchedJobsUntried: jobs claimed
// ahead whose sends had not begun when the shutdown's time ran out go back
// to the queue without an attempt, due as before.
func TestWorkersShutdownTimeoutLeavesPrefetchedJobsUntried(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db := mustQueue(t, now, 3, "webhook")
	remote := newBlocking() // never released
	w := &crier.Workers{
		Queue:           db,
		Channels:        map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Deduplicates: true, Channel: remote}},
		Clock:           channeltest.NewClock(now),
		Backoff:         crier.Backoff{Rand: func() float64 { return 0.5 }},
		Concurrency:     map[string]int{"webhook": 1},
		Prefetch:        2,
		ShutdownTimeout: 50 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-remote.started
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	tried := 0
	for _, d := range ds {
		switch {
		case d.State != crier.StateQueued:
			t.Errorf("%s: %s after the shutdown, want queued", d.Key, d.State)
		case d.Attempts == 1:
			tried++
		case d.Attempts != 0 || !d.NextAt.Equal(now):
			t.Errorf("%s: %d attempts, due %v; want untried and due as before (%v)", d.Key, d.Attempts, d.NextAt, now)
		}
	}
	if len(ds) != 3 || tried != 1 {
		t.Errorf("%d deliveries, %d of them tried; want 3, the one whose send was cut off", len(ds), tried)
	}
}

// heldBack answers its first send, once the test releases it, as a chain
// whose endpoint's breaker was open when the send began: held back for
// the cool-down. Later sends go through.
type heldBack struct {
	started chan string
	release chan struct{}
	mu      sync.Mutex
	sends   int
}

func (h *heldBack) Send(_ context.Context, m *crier.Message) (*crier.Receipt, error) {
	h.mu.Lock()
	h.sends++
	first := h.sends == 1
	h.mu.Unlock()
	h.started <- m.Key
	if first {
		<-h.release
		return nil, crier.Deferred(errors.New("circuit open for another 1h0m0s"), time.Hour)
	}
	return &crier.Receipt{RemoteID: m.Key}, nil
}

// TestWorkersHurryReachesSendsUnderWay: Hurry while a send is under way
// that is then held back for an hour (it saw the endpoint before it
// recovered). Hurry found nothing queued, yet the delivery does not wait
// for the hour: it is sent again at once.
func TestWorkersHurryReachesSendsUnderWay(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db := mustQueue(t, now, 1, "webhook")
	remote := &heldBack{started: make(chan string, 4), release: make(chan struct{})}
	w := &crier.Workers{
		Queue:    db,
		Channels: map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Deduplicates: true, Channel: remote}},
		Clock:    channeltest.NewClock(now), // never advances: only a hurry makes the delivery due again
		Poll:     time.Hour,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()

	<-remote.started
	if n, err := w.Hurry(context.Background(), "radio"); err != nil || n != 0 {
		t.Fatalf("Hurry while the send is under way: %d, %v; want 0 (nothing queued)", n, err)
	}
	close(remote.release)
	select {
	case <-remote.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the delivery held back during the hurry was not sent again: %v", countStates(t, db))
	}
}
