package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// rig is crier built from a configuration with an injected clock, driven
// step by step with Workers.RunOnce: no server, no sleeps, real channels,
// real receivers, a real SQLite file.
type rig struct {
	t     *testing.T
	clock *channeltest.Clock
	app   *app
	smtp  *smtptest.Server
	hooks *webhooktest.Receiver
}

func newRig(t *testing.T, delivery string) *rig {
	t.Helper()
	r := &rig{t: t, clock: rigClock(), smtp: smtptest.NewServer(t, smtptest.Options{})}
	secret := webhooktest.NewSecret(t)
	r.hooks = webhooktest.NewReceiver(t, secret, r.clock)
	path := actualConfig(t, r.hooks.URL(), r.smtp.Port(), delivery)
	r.app = buildApp(t, r.clock, path, map[string]string{"RADIO_SECRET": secret})
	return r
}

func rigClock() *channeltest.Clock {
	return channeltest.NewClock(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC))
}

// buildApp builds crier from a configuration file with the given clock,
// in a fresh data dir, without jitter in its retry times.
func buildApp(t *testing.T, clock crier.Clock, path string, env map[string]string) *app {
	t.Helper()
	m, _, _ := testMain(env)
	m.Clock = clock
	cfg, err := m.loadConfig(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = newDataDir(t)
	a, err := m.build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.workers.Backoff.Rand = func() float64 { return 0.5 } // no jitter: exact retry times
	return a
}

// publish publishes a notice for soest to one channel; email goes to one subscriber.
func (r *rig) publish(channel string, expires time.Time) string {
	r.t.Helper()
	ctx := context.Background()
	if _, err := r.app.db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed}}, r.clock.Now()); err != nil {
		r.t.Fatal(err)
	}
	a := e2eNotice()
	a.Towns, a.Channels, a.Expires = []string{"soest"}, []string{channel}, expires
	res, err := r.app.engine.Publish(ctx, a, "")
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Announcement.ID
}

// runOnce works on everything due now and returns how many jobs it took.
func (r *rig) runOnce() int {
	r.t.Helper()
	n, err := r.app.workers.RunOnce(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// delivery returns the announcement's only delivery.
func (r *rig) delivery(id string) *crier.Delivery {
	r.t.Helper()
	ds, err := r.app.db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: id})
	if err != nil || len(ds) != 1 {
		r.t.Fatalf("deliveries: %v, %d; want exactly 1", err, len(ds))
	}
	return ds[0]
}

// expect checks a delivery's state, attempts and, for queued ones, when it is due.
func (r *rig) expect(id string, state crier.State, attempts int, dueIn time.Duration, errText string) *crier.Delivery {
	r.t.Helper()
	d := r.delivery(id)
	if d.State != state || d.Attempts != attempts {
		r.t.Fatalf("delivery %s: %s after %d attempts (%s); want %s after %d", d.Key, d.State, d.Attempts, d.Error, state, attempts)
	}
	if state == crier.StateQueued {
		if got := d.NextAt.Sub(r.clock.Now()); got != dueIn {
			r.t.Errorf("retry due in %v, want %v", got, dueIn)
		}
	}
	if !strings.Contains(d.Error, errText) {
		r.t.Errorf("error %q, want it to mention %q", d.Error, errText)
	}
	return d
}

// retryAt checks that nothing happens just before due and the retry runs at due.
func (r *rig) retryAt(due time.Duration) {
	r.t.Helper()
	r.clock.Advance(due - time.Millisecond)
	if n := r.runOnce(); n != 0 {
		r.t.Fatalf("%d jobs ran %v before they were due", n, time.Millisecond)
	}
	r.clock.Advance(time.Millisecond)
	if n := r.runOnce(); n != 1 {
		r.t.Fatalf("%d jobs ran when the retry was due, want 1", n)
	}
}

func TestFailureClasses(t *testing.T) {
	t.Run("webhook 500 is retried with backoff, then sent", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("radio", time.Time{})
		r.hooks.Respond(http.StatusInternalServerError, nil)
		r.runOnce()
		r.expect(id, crier.StateQueued, 1, 5*time.Second, "500")
		r.retryAt(5 * time.Second)
		r.expect(id, crier.StateQueued, 2, 10*time.Second, "500") // exponential
		r.hooks.Accept()
		r.retryAt(10 * time.Second)
		r.expect(id, crier.StateSent, 3, 0, "")
		if got := r.hooks.Accepted(); len(got) != 1 {
			t.Errorf("receiver accepted %v, want the one delivery", got)
		}
	})
	t.Run("webhook 429 waits for Retry-After", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("radio", time.Time{})
		r.hooks.Respond(http.StatusTooManyRequests, http.Header{"Retry-After": {"120"}})
		r.runOnce()
		r.expect(id, crier.StateQueued, 1, 120*time.Second, "429")
		r.hooks.Accept()
		r.retryAt(120 * time.Second)
		r.expect(id, crier.StateSent, 2, 0, "")
	})
	t.Run("webhook 410 marks the endpoint gone and the delivery waits", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("radio", time.Time{})
		r.hooks.Respond(http.StatusGone, nil)
		r.runOnce()
		r.expect(id, crier.StateQueued, 1, time.Minute, "410")
		// Held back without a request, and without counting an attempt,
		// until a person clears the endpoint.
		r.hooks.Accept()
		r.retryAt(time.Minute)
		r.expect(id, crier.StateQueued, 1, time.Minute, "410")
		if n := len(r.hooks.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("webhook slower than the send timeout is retried with the same id", func(t *testing.T) {
		r := newRig(t, "delivery: {send_timeout: 300ms}")
		id := r.publish("radio", time.Time{})
		r.hooks.Hang()
		r.runOnce()
		r.expect(id, crier.StateQueued, 1, 5*time.Second, "")
		r.hooks.Accept()
		// The timeout opened the endpoint's breaker at once: the retry
		// waits, without counting an attempt, for the cool-down's end,
		// when a trial goes through.
		r.retryAt(5 * time.Second)
		r.expect(id, crier.StateQueued, 1, 25*time.Second, "")
		r.retryAt(25 * time.Second)
		d := r.expect(id, crier.StateSent, 2, 0, "")
		for _, req := range r.hooks.Requests() {
			if req.ID != d.Key {
				t.Errorf("request with webhook-id %q, want %q on every try", req.ID, d.Key)
			}
		}
		if n := len(r.hooks.Requests()); n != 2 {
			t.Errorf("%d requests, want 2 (the timed-out one and the retry)", n)
		}
	})
	t.Run("webhook connection closed mid-response is retried", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("radio", time.Time{})
		r.hooks.Drop()
		r.runOnce()
		r.expect(id, crier.StateQueued, 1, 5*time.Second, "")
		r.hooks.Accept()
		r.retryAt(5 * time.Second)
		r.expect(id, crier.StateSent, 2, 0, "")
	})
	t.Run("SMTP 451 is retried, then sent", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("mail-soest", time.Time{})
		r.smtp.Fail(smtptest.StepRcpt, 451, "4.3.0 try again later")
		r.runOnce()
		r.expect(id, crier.StateQueued, 1, 5*time.Second, "451")
		r.smtp.Accept()
		r.smtp.Fail(smtptest.StepRcpt, 0, "")
		r.retryAt(5 * time.Second)
		r.expect(id, crier.StateSent, 2, 0, "")
		if n := len(r.smtp.Messages()); n != 1 {
			t.Errorf("%d mails received, want 1", n)
		}
	})
	t.Run("SMTP 550 fails at once", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("mail-soest", time.Time{})
		r.smtp.Fail(smtptest.StepRcpt, 550, "5.1.1 no such user")
		r.runOnce()
		r.expect(id, crier.StateFailed, 1, 0, "550")
		r.clock.Advance(time.Hour)
		if n := r.runOnce(); n != 0 {
			t.Errorf("a failed delivery was tried again")
		}
	})
	t.Run("SMTP connection lost after DATA is unknown", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("mail-soest", time.Time{})
		r.smtp.Drop()
		r.runOnce()
		r.expect(id, crier.StateUnknown, 1, 0, "")
		r.clock.Advance(time.Hour)
		if n := r.runOnce(); n != 0 {
			t.Errorf("an unknown outcome was retried without a person")
		}
	})
	t.Run("attempts run out", func(t *testing.T) {
		r := newRig(t, "delivery: {max_attempts: 3}")
		id := r.publish("radio", time.Time{})
		r.hooks.Respond(http.StatusServiceUnavailable, nil)
		r.runOnce()
		r.retryAt(5 * time.Second)
		r.retryAt(10 * time.Second)
		r.expect(id, crier.StateFailed, 3, 0, "gave up after 3 attempts")
	})
	t.Run("a notice with an expiry is retried past max_attempts until it expires", func(t *testing.T) {
		r := newRig(t, "delivery: {max_attempts: 2}")
		id := r.publish("radio", r.clock.Now().Add(time.Hour))
		r.hooks.Respond(http.StatusServiceUnavailable, nil)
		r.runOnce()
		r.retryAt(5 * time.Second)
		r.retryAt(10 * time.Second)
		// The third failure in a row opened the endpoint's breaker: the next
		// try waits for its cool-down (30s) rather than the backoff (20s).
		r.expect(id, crier.StateQueued, 3, 30*time.Second, "503")
		r.hooks.Accept()
		r.retryAt(30 * time.Second)
		r.expect(id, crier.StateSent, 4, 0, "")
	})
	t.Run("nothing is sent after expires", func(t *testing.T) {
		r := newRig(t, "")
		id := r.publish("radio", r.clock.Now().Add(30*time.Second))
		r.hooks.Respond(http.StatusServiceUnavailable, nil)
		r.runOnce()
		r.hooks.Accept()
		r.clock.Advance(time.Minute)
		r.runOnce()
		r.expect(id, crier.StateExpired, 1, 0, "")
		if got := r.hooks.Accepted(); len(got) != 0 {
			t.Errorf("an expired notice arrived: %v", got)
		}
	})
}
