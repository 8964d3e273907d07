package crier_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/store/sqlite"
)

// mustQueueChannels opens a real SQLite queue and commits one delivery of
// type typ for each town on each channel.
func mustQueueChannels(t *testing.T, now time.Time, towns int, typ string, channels ...string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/crier.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &crier.Announcement{ID: "a1", Revision: 1, Title: "Rathaus geschlossen", Body: "x", Towns: []string{"all"},
		Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed", Mode: crier.ModeActual}
	p := &crier.Plan{Announcement: a}
	for i := range towns {
		town := fmt.Sprintf("town-%02d", i)
		p.Towns = append(p.Towns, town)
		for _, ch := range channels {
			p.Messages = append(p.Messages, &crier.Message{Announcement: "a1", Revision: 1, Town: town,
				Channel: ch, Type: typ, Event: crier.EventPublished, Mode: crier.ModeActual, Text: "Rathaus " + town})
		}
	}
	if _, err := db.CreateAnnouncement(context.Background(), p, "", now); err != nil {
		t.Fatal(err)
	}
	return db
}

// counting is a remote that accepts every send and reports its key.
type counting struct{ sent chan string }

func (c *counting) Send(_ context.Context, m *crier.Message) (*crier.Receipt, error) {
	c.sent <- m.Key
	return &crier.Receipt{RemoteID: m.Key}, nil
}

// TestWorkersHungEndpointKeepsTheTypeMoving: sends to a hung endpoint
// hold none of their type's slots for long: once slower than SlowAfter
// they are parked and other senders take the slots, and the endpoint's
// own bound (netpath.Endpoint.Slots) defers its sends beyond that, so
// that a healthy channel of the same type is served at full speed.
func TestWorkersHungEndpointKeepsTheTypeMoving(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	const towns = 12
	db := mustQueueChannels(t, now, towns, "mastodon", "m2", "m1")
	hung := newBlocking()
	healthy := &counting{sent: make(chan string, towns)}
	chain := func(id string, ch crier.Channel) crier.Channel {
		c, err := netpath.NewChain(netpath.ChainOptions{Channel: id,
			Endpoints: []netpath.Endpoint{{Name: id + ".example", Network: "default", Channel: ch, Slots: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	w := &crier.Workers{
		Queue: db,
		Channels: map[string]*crier.ChannelInfo{
			"m2": {ID: "m2", Type: "mastodon", Deduplicates: true, Channel: chain("m2", hung)},
			"m1": {ID: "m1", Type: "mastodon", Deduplicates: true, Channel: chain("m1", healthy)},
		},
		Clock:       channeltest.NewClock(now),
		Concurrency: map[string]int{"mastodon": 2},
		Prefetch:    1,
		SlowAfter:   10 * time.Millisecond,
		Poll:        10 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	timeout := time.After(bound)
	for i := range towns {
		select {
		case <-healthy.sent:
		case <-timeout:
			t.Fatalf("%d of %d posts to the healthy channel within %v while the other hangs", i, towns, bound)
		}
	}
	close(hung.release)
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	got := countStates(t, db)
	if got[crier.StateSent] < towns {
		t.Errorf("states %v; want at least the %d healthy posts sent", got, towns)
	}
}

// bound is how long a test waits for something that must happen soon.
const bound = 10 * time.Second

// deferring is a remote that holds every send back without trying it, as
// crier's own pacing or an open breaker does.
type deferring struct{ wait time.Duration }

func (d deferring) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return nil, crier.Deferred(errors.New("held back: the account's budget is used up"), d.wait)
}

// TestWorkersDeferredIsNoAttempt: a send that nothing tried counts no
// attempt, so that a delivery held back by an open breaker or crier's own
// pacing never "gives up after N attempts" that sent nothing.
func TestWorkersDeferredIsNoAttempt(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db := mustQueue(t, now, 1, "slack")
	clock := channeltest.NewClock(now)
	w := &crier.Workers{
		Queue:       db,
		Channels:    map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "slack", Channel: deferring{wait: time.Minute}}},
		Clock:       clock,
		MaxAttempts: 2,
	}
	for range 5 {
		if n, err := w.RunOnce(t.Context()); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v; want 1 job", n, err)
		}
		ds, err := db.Deliveries(t.Context(), crier.DeliveryFilter{Announcement: "a1"})
		if err != nil {
			t.Fatal(err)
		}
		d := ds[0]
		if d.State != crier.StateQueued || d.Attempts != 0 || !d.NextAt.Equal(clock.Now().Add(time.Minute)) {
			t.Fatalf("after a deferred send: %s with %d attempts, next at %v; want queued, 0, a minute later",
				d.State, d.Attempts, d.NextAt)
		}
		clock.Advance(time.Minute)
	}
}

// pinning is a remote whose send ends with an unknown outcome at a named
// endpoint, as a chain of endpoints reports it.
type pinning struct{ pins chan string }

func (p pinning) Send(_ context.Context, m *crier.Message) (*crier.Receipt, error) {
	p.pins <- m.Pin
	return nil, &crier.Error{Code: crier.EUNKNOWN, Message: "no answer after the request was written",
		Retryable: true, Endpoint: "social.example", Network: "default"}
}

// TestWorkersPinLastsAcrossRestarts: the endpoint of an unknown outcome is
// recorded with the attempt and pins the delivery in the store, so that
// new workers on the same database (a restart) send it there again.
func TestWorkersPinLastsAcrossRestarts(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	path := t.TempDir() + "/crier.db"
	clock := channeltest.NewClock(now)
	remote := pinning{pins: make(chan string, 2)}
	run := func() {
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if ds, _ := db.Deliveries(t.Context(), crier.DeliveryFilter{}); len(ds) == 0 {
			a := &crier.Announcement{ID: "a1", Revision: 1, Title: "Rathaus geschlossen", Body: "x", Towns: []string{"soest"},
				Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed", Mode: crier.ModeActual}
			p := &crier.Plan{Announcement: a, Towns: []string{"soest"}, Messages: []*crier.Message{{Announcement: "a1",
				Revision: 1, Town: "soest", Channel: "social", Type: "mastodon", Event: crier.EventPublished,
				Mode: crier.ModeActual, Text: "Rathaus"}}}
			if _, err := db.CreateAnnouncement(t.Context(), p, "", now); err != nil {
				t.Fatal(err)
			}
		}
		w := &crier.Workers{Queue: db, Clock: clock,
			Channels: map[string]*crier.ChannelInfo{"social": {ID: "social", Type: "mastodon", Deduplicates: true, Channel: remote}}}
		if n, err := w.RunOnce(t.Context()); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v; want 1", n, err)
		}
		clock.Advance(time.Hour)
	}
	run()
	run()
	if first, second := <-remote.pins, <-remote.pins; first != "" || second != "social.example" {
		t.Errorf("pins sent with: %q, then %q; want none, then social.example", first, second)
	}
}

// refusing is a relay that refuses every recipient by name, as a 550 does.
type refusing struct{}

func (refusing) Send(_ context.Context, m *crier.Message) (*crier.Receipt, error) {
	return nil, crier.Permanent(errors.New("550 5.1.1 <" + m.Recipient + ">: no such user"))
}

// TestWorkersLogNoRecipient: a refused recipient's address stays out of
// the log, even at debug level; the delivery's record keeps the relay's
// text for a person.
func TestWorkersLogNoRecipient(t *testing.T) {
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/crier.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const addr = "anna@buerger.example"
	if _, err := db.AddSubscribers(t.Context(), []*crier.Subscriber{{Town: "soest", Email: addr, State: crier.SubscriberConfirmed}}, now); err != nil {
		t.Fatal(err)
	}
	a := &crier.Announcement{ID: "a1", Revision: 1, Title: "Rathaus geschlossen", Body: "x", Towns: []string{"soest"},
		Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed", Mode: crier.ModeActual}
	p := &crier.Plan{Announcement: a, Towns: []string{"soest"}, Messages: []*crier.Message{{Announcement: "a1", Revision: 1,
		Town: "soest", Channel: "mail-soest", Type: "email", PerSubscriber: true, Event: crier.EventPublished,
		Mode: crier.ModeActual, Subject: "Rathaus geschlossen", Text: "x"}}}
	if _, err := db.CreateAnnouncement(t.Context(), p, "", now); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	w := &crier.Workers{Queue: db, Clock: channeltest.NewClock(now),
		Logger:   slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Channels: map[string]*crier.ChannelInfo{"mail-soest": {ID: "mail-soest", Type: "email", PerSubscriber: true, Channel: refusing{}}}}
	if n, err := w.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1", n, err)
	}
	if strings.Contains(log.String(), addr) {
		t.Errorf("the log names the recipient:\n%s", log.String())
	}
	ds, err := db.Deliveries(t.Context(), crier.DeliveryFilter{Announcement: "a1"})
	if err != nil || len(ds) != 1 || ds[0].State != crier.StateFailed || !strings.Contains(ds[0].Error, "550") {
		t.Errorf("deliveries: %+v, %v; want one failed with the relay's answer", ds, err)
	}
}
