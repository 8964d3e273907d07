package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// TestExpiryWhileUnreachable: the webhook receiver and the mail relay
// cannot be reached at all (nothing listens on their ports) until after
// the notice expires. Every delivery becomes expired, and when the
// receiver comes back it gets nothing.
func TestExpiryWhileUnreachable(t *testing.T) {
	closedPort := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port
	}
	hookPort, smtpPort := closedPort(), closedPort()
	clock := rigClock()
	secret := webhooktest.NewSecret(t)
	path := actualConfig(t, fmt.Sprintf("http://127.0.0.1:%d/hooks", hookPort), smtpPort, "")
	a := buildApp(t, clock, path, map[string]string{"RADIO_SECRET": secret})
	ctx := context.Background()
	if _, err := a.db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed}}, clock.Now()); err != nil {
		t.Fatal(err)
	}
	n := e2eNotice()
	n.Towns, n.Expires = []string{"soest"}, clock.Now().Add(2*time.Minute)
	res, err := a.engine.Publish(ctx, n, "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	states := func() map[crier.State]int {
		ds, err := a.db.Deliveries(ctx, crier.DeliveryFilter{Announcement: id})
		if err != nil {
			t.Fatal(err)
		}
		out := map[crier.State]int{}
		for _, d := range ds {
			out[d.State]++
		}
		return out
	}
	// Retried with backoff while nothing answers.
	for range 4 {
		if _, err := a.workers.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := states(); got[crier.StateQueued] != 2 {
			t.Fatalf("while unreachable: %v, want both queued for a retry", got)
		}
		clock.Advance(20 * time.Second)
	}

	// The receiver comes back, on its old address, after the expiry.
	hooks := webhooktest.NewReceiver(t, secret, clock)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", hookPort))
	if err != nil {
		t.Fatal(err)
	}
	back := httptest.NewUnstartedServer(http.StripPrefix("/hooks", hooks))
	back.Listener.Close()
	back.Listener = l
	back.Start()
	t.Cleanup(back.Close)
	clock.Advance(2 * time.Minute)
	if _, err := a.workers.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := states(); got[crier.StateExpired] != 2 || len(got) != 1 {
		t.Errorf("after the expiry: %v, want both expired", got)
	}
	if got := hooks.Requests(); len(got) != 0 {
		t.Errorf("the receiver got %d requests after the notice expired", len(got))
	}
	// It is reachable: a notice that has not expired arrives.
	fresh := e2eNotice()
	fresh.Towns, fresh.Channels = []string{"soest"}, []string{"radio"}
	if _, err := a.engine.Publish(ctx, fresh, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.workers.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hooks.Accepted(); len(got) != 1 {
		t.Errorf("the receiver, back, accepted %d notices, want the fresh one", len(got))
	}
}
