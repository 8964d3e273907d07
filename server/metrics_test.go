package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func TestMetricsCollector(t *testing.T) {
	store := newFakeStore()
	ctx := context.Background()
	plan := func(id string) *crier.Plan {
		return &crier.Plan{Announcement: &crier.Announcement{ID: id}, Messages: []*crier.Message{
			{Announcement: id, Revision: 1, Town: "soest", Channel: "mastodon-soest", Type: "mastodon"},
			{Announcement: id, Revision: 1, Town: "werl", Channel: "mail-werl", Type: "email"},
		}}
	}
	for _, id := range []string{"a1", "a2"} {
		if _, err := store.CreateAnnouncement(ctx, plan(id), "", testNow); err != nil {
			t.Fatal(err)
		}
	}
	store.setState(1, crier.StateSent)
	store.setState(3, crier.StateSent)
	store.setState(4, crier.StateFailed)
	queue := &fakeQueue{depth: map[string]int{"email": 1, "mastodon": 0}}

	reg := prometheus.NewRegistry()
	NewMetrics(reg, store, queue)
	const want = `# HELP crier_deliveries Deliveries of all announcements by state, channel and town.
# TYPE crier_deliveries gauge
crier_deliveries{channel="mail-werl",state="failed",town="werl"} 1
crier_deliveries{channel="mail-werl",state="queued",town="werl"} 1
crier_deliveries{channel="mastodon-soest",state="sent",town="soest"} 2
# HELP crier_queue_depth Deliveries still to be sent (queued, sending, or waiting for an earlier revision's) by channel type.
# TYPE crier_queue_depth gauge
crier_queue_depth{type="email"} 1
crier_queue_depth{type="mastodon"} 0
`
	if diff := cmp.Diff(want, scrape(t, reg, "crier_deliveries", "crier_queue_depth")); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}

	// Counts are read at every scrape.
	store.setState(2, crier.StateSent)
	const after = `# HELP crier_deliveries Deliveries of all announcements by state, channel and town.
# TYPE crier_deliveries gauge
crier_deliveries{channel="mail-werl",state="failed",town="werl"} 1
crier_deliveries{channel="mail-werl",state="sent",town="werl"} 1
crier_deliveries{channel="mastodon-soest",state="sent",town="soest"} 2
`
	if diff := cmp.Diff(after, scrape(t, reg, "crier_deliveries")); diff != "" {
		t.Errorf("metrics after a change (-want +got):\n%s", diff)
	}

	store.fail(errors.New("database is locked"))
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("Gather with a failing store: %v, want the store's error", err)
	}
}

func TestObserveAttempt(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, nil, nil)
	job := func(typ string) *crier.Job { return &crier.Job{Delivery: &crier.Delivery{ID: 1, Type: typ}} }
	attempt := &crier.Attempt{Delivery: 1}
	m.ObserveAttempt(job("mastodon"), &crier.Outcome{State: crier.StateSent, Attempt: attempt}, 200*time.Millisecond)
	m.ObserveAttempt(job("mastodon"), &crier.Outcome{State: crier.StateSent, Attempt: attempt}, 2*time.Second)
	m.ObserveAttempt(job("email"), &crier.Outcome{State: crier.StateQueued, Attempt: attempt}, time.Second)
	m.ObserveAttempt(job("email"), &crier.Outcome{State: crier.StateExpired}, 0) // nothing tried

	const want = `# HELP crier_attempt_duration_seconds Duration of delivery attempts by channel type and outcome.
# TYPE crier_attempt_duration_seconds histogram
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="0.01"} 0
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="0.025"} 0
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="0.05"} 0
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="0.1"} 0
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="0.25"} 0
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="0.5"} 0
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="1"} 1
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="2.5"} 1
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="5"} 1
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="10"} 1
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="30"} 1
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="60"} 1
crier_attempt_duration_seconds_bucket{outcome="retry",type="email",le="+Inf"} 1
crier_attempt_duration_seconds_sum{outcome="retry",type="email"} 1
crier_attempt_duration_seconds_count{outcome="retry",type="email"} 1
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="0.01"} 0
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="0.025"} 0
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="0.05"} 0
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="0.1"} 0
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="0.25"} 1
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="0.5"} 1
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="1"} 1
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="2.5"} 2
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="5"} 2
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="10"} 2
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="30"} 2
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="60"} 2
crier_attempt_duration_seconds_bucket{outcome="sent",type="mastodon",le="+Inf"} 2
crier_attempt_duration_seconds_sum{outcome="sent",type="mastodon"} 2.2
crier_attempt_duration_seconds_count{outcome="sent",type="mastodon"} 2
# HELP crier_attempts_total Delivery attempts by channel type and outcome.
# TYPE crier_attempts_total counter
crier_attempts_total{outcome="retry",type="email"} 1
crier_attempts_total{outcome="sent",type="mastodon"} 2
`
	if diff := cmp.Diff(want, scrape(t, reg, "crier_attempt_duration_seconds", "crier_attempts_total")); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}

	// A nil *Metrics can be wired into the workers and observes nothing.
	var none *Metrics
	w := crier.Workers{Observe: none.ObserveAttempt}
	w.Observe(job("email"), &crier.Outcome{State: crier.StateSent, Attempt: attempt}, time.Second)
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Metrics = NewMetrics(nil, o.Store, o.Queue) })
	e.mustPublish(t)
	e.queue.setDepth("email", 2)

	status, body := rawRequest(t, e, http.MethodGet, "/metrics", "", "")
	if status != http.StatusOK {
		t.Fatalf("metrics: status %d, want 200", status)
	}
	for _, want := range []string{
		`crier_deliveries{channel="mail-soest",state="queued",town="soest"} 1`,
		`crier_queue_depth{type="email"} 2`,
		"go_goroutines ",
		"process_",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// A failing store leaves its gauge out but the rest is served.
	e.store.fail(errors.New("database is locked"))
	status, body = rawRequest(t, e, http.MethodGet, "/metrics", "", "")
	if status != http.StatusOK || strings.Contains(string(body), "crier_deliveries{") ||
		!strings.Contains(string(body), `crier_queue_depth{type="email"} 2`) {
		t.Errorf("metrics with a failing store: status %d, want 200 without crier_deliveries and with the queue depth:\n%.500s", status, body)
	}

	noMetrics := newEnv(t)
	if status, _ := rawRequest(t, noMetrics, http.MethodGet, "/metrics", "", ""); status != http.StatusNotFound {
		t.Errorf("metrics without Options.Metrics: status %d, want 404", status)
	}
}

// scrape gathers g and returns the named metric families in the text
// exposition format, families ordered by name and series by labels.
func scrape(t testing.TB, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatalf("format %s: %v", mf.GetName(), err)
		}
	}
	return b.String()
}

// TestSetEndpoint: SetEndpoint gives an endpoint its crier_endpoint_up
// series from its state without counting a breaker change.
func TestSetEndpoint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, nil, nil)
	m.SetEndpoint("radio", "primary", "default", "closed")
	m.SetEndpoint("radio", "lte-backup", "lte", "open")
	m.SetEndpoint("radio", "spare", "lte", "half-open")
	want := `# HELP crier_endpoint_up 1 while the endpoint's circuit breaker admits traffic, 0 while it is open.
# TYPE crier_endpoint_up gauge
crier_endpoint_up{channel="radio",endpoint="lte-backup",network="lte"} 0
crier_endpoint_up{channel="radio",endpoint="primary",network="default"} 1
crier_endpoint_up{channel="radio",endpoint="spare",network="lte"} 1
`
	if diff := cmp.Diff(want, scrape(t, reg, "crier_endpoint_up", "crier_breaker_changes_total")); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	var none *Metrics
	none.SetEndpoint("radio", "primary", "default", "closed")
}
