package crier_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/store/sqlite"
)

// ordered is a remote that records which revision of which town arrived
// in what order. The first attempt of every revision 1 is refused with 503;
// the first four retries wait until the test releases them.
type ordered struct {
	mu       sync.Mutex
	tries    map[string]int // key → attempts seen
	held     int            // retries held so far
	arrived  []string       // "announcement/town/revision" in arrival order
	started  chan string
	release  chan struct{}
	observed chan struct{}
	seen     int // jobs observed so far
}

const heldRetries = 4

func newOrdered() *ordered {
	return &ordered{tries: map[string]int{}, started: make(chan string, 100), release: make(chan struct{}),
		observed: make(chan struct{}, 1000)}
}

func (o *ordered) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	o.mu.Lock()
	o.tries[m.Key]++
	n := o.tries[m.Key]
	hold := m.Revision == 1 && n == 2 && o.held < heldRetries
	if hold {
		o.held++
	}
	o.mu.Unlock()
	if m.Revision == 1 && n == 1 {
		return nil, crier.Transient(errors.New("503 Service Unavailable"), 0)
	}
	if hold {
		o.started <- m.Key
		select {
		case <-o.release:
		case <-ctx.Done():
			return nil, crier.Transient(ctx.Err(), 0)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.arrived = append(o.arrived, fmt.Sprintf("%s/%s/%d", m.Announcement, m.Town, m.Revision))
	return &crier.Receipt{RemoteID: m.Key}, nil
}

func (o *ordered) arrivals() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.arrived)
}

// waitObserved waits until n jobs in all have been worked on.
func (o *ordered) waitObserved(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for ; o.seen < n; o.seen++ {
		select {
		case <-o.observed:
		case <-timeout:
			t.Fatalf("%d jobs were worked on within 30s, want %d", o.seen, n)
		}
	}
}

// revisionPlan returns revision rev of announcement id for towns, on the
// webhook channel "radio".
func revisionPlan(id string, rev int, event string, towns []string) *crier.Plan {
	a := &crier.Announcement{ID: id, Revision: rev, Event: event, Title: "Rathaus geschlossen", Body: "x",
		Towns: towns, Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed",
		Mode: crier.ModeActual}
	p := &crier.Plan{Announcement: a, Towns: towns}
	for _, town := range towns {
		p.Messages = append(p.Messages, &crier.Message{Announcement: id, Revision: rev, Town: town,
			Channel: "radio", Type: "webhook", Event: event, Mode: crier.ModeActual, Text: "Rathaus " + town})
	}
	return p
}

// TestRevisionOrder: with 8 concurrent sends, an update published while
// the originals are retrying never arrives before its original in any
// town, even with sends free while some originals hang; where the original
// was waiting for its retry it is replaced and never sent; and a notice
// canceled while still queued is never sent.
func TestRevisionOrder(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, t.TempDir()+"/crier.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var towns []string
	for i := range 24 {
		towns = append(towns, fmt.Sprintf("town-%02d", i))
	}
	if _, err := db.CreateAnnouncement(ctx, revisionPlan("a1", 1, crier.EventPublished, towns), "", now); err != nil {
		t.Fatal(err)
	}
	// A second notice is canceled before any worker runs.
	if _, err := db.CreateAnnouncement(ctx, revisionPlan("a2", 1, crier.EventPublished, towns), "", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAnnouncement(ctx, revisionPlan("a2", 2, crier.EventCanceled, towns), "", now); err != nil {
		t.Fatal(err)
	}

	remote := newOrdered()
	clock := channeltest.NewClock(now)
	w := &crier.Workers{
		Queue:       db,
		Channels:    map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Channel: remote}},
		Clock:       clock,
		Concurrency: map[string]int{"webhook": 8},
		Backoff:     crier.Backoff{Base: time.Minute, Max: time.Minute, Jitter: 0},
		Lease:       time.Hour, // the clock moves on by minutes: no lease may run out
		Poll:        10 * time.Millisecond,
		Observe:     func(*crier.Job, *crier.Outcome, time.Duration) { remote.observed <- struct{}{} },
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		<-ran
	})

	// Every original is refused once and waits for its retry a minute on.
	remote.waitObserved(t, len(towns))
	clock.Advance(2 * time.Minute)
	w.Notify()
	for range heldRetries {
		<-remote.started // these retries hang; the other sends go on
	}
	if _, err := db.CreateAnnouncement(ctx, revisionPlan("a1", 2, crier.EventUpdated, towns), "", clock.Now()); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	replaced, inFlight := map[string]bool{}, 0
	for _, d := range ds {
		switch {
		case d.Revision == 1 && d.State == crier.StateCanceled:
			replaced[d.Town] = true
		case d.Revision == 1 && d.State == crier.StateSending:
			inFlight++
		}
	}
	if inFlight < heldRetries {
		t.Fatalf("%d originals in flight when the update was committed, want at least %d", inFlight, heldRetries)
	}
	close(remote.release)
	// First attempts, the retries of the originals not replaced, updates.
	remote.waitObserved(t, len(towns)+len(towns)-len(replaced)+len(towns))

	seen := map[string][]string{}
	for _, a := range remote.arrivals() {
		if town, rev, ok := strings.Cut(strings.TrimPrefix(a, "a1/"), "/"); ok && strings.HasPrefix(a, "a1/") {
			seen[town] = append(seen[town], rev)
		}
	}
	t.Logf("replaced %d, in flight %d; arrivals %v", len(replaced), inFlight, remote.arrivals())
	for _, town := range towns {
		want := []string{"1", "2"}
		if replaced[town] {
			want = []string{"2"}
		}
		if !slices.Equal(seen[town], want) {
			t.Errorf("%s received revisions %v, want %v", town, seen[town], want)
		}
	}
	// Nothing of the canceled notice arrived, and its deliveries say why.
	a2, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "a2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range a2 {
		if d.State != crier.StateCanceled {
			t.Errorf("a2 revision %d in %s is %s, want canceled", d.Revision, d.Town, d.State)
		}
	}
	for _, a := range remote.arrivals() {
		if strings.HasPrefix(a, "a2/") {
			t.Errorf("the canceled notice arrived: %s", a)
		}
	}
	if len(a2) != 2*len(towns) {
		t.Errorf("a2 has %d deliveries, want %d", len(a2), 2*len(towns))
	}
}
