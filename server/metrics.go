package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crierhq/crier"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// scrapeTimeout bounds the store queries made during one scrape.
const scrapeTimeout = 10 * time.Second

// Metrics holds crier's Prometheus metrics:
//
//	crier_deliveries{state,channel,town}            gauge, read from the store at scrape time
//	crier_queue_depth{type}                         gauge, deliveries still to be sent per channel type
//	crier_attempts_total{type,outcome}              counter of delivery attempts
//	crier_attempt_duration_seconds{type,outcome}    histogram of delivery attempts
//	crier_endpoint_up{channel,endpoint,network}     1 while the endpoint's breaker admits traffic, 0 while open or gone;
//	                                                set for every endpoint at start (SetEndpoint)
//	crier_breaker_changes_total{channel,endpoint,network,state} counter of breaker state changes, and of
//	                                                endpoints found gone (state "gone") or cleared by a person
//	crier_failovers_total{channel,from,to}          counter of sends that moved on to the next endpoint
//
// plus the Go runtime and process collectors. Outcome is sent, retry
// (transient failure, queued again), failed or unknown.
type Metrics struct {
	reg       *prometheus.Registry
	attempts  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	up        *prometheus.GaugeVec
	changes   *prometheus.CounterVec
	failovers *prometheus.CounterVec
}

// NewMetrics registers crier's metrics on reg (a new registry when nil)
// and returns them. The delivery and queue gauges are computed when
// scraped, from store and queue; either may be nil to leave its gauge out.
// Like prometheus.MustRegister, it panics when reg already holds one of
// these collectors.
func NewMetrics(reg *prometheus.Registry, store crier.AnnouncementStore, queue crier.Queue) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	labels := []string{"type", "outcome"}
	m := &Metrics{
		reg: reg,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crier_attempts_total",
			Help: "Delivery attempts by channel type and outcome.",
		}, labels),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crier_attempt_duration_seconds",
			Help: "Duration of delivery attempts by channel type and outcome.",
			// Sends take milliseconds to the send timeout (30s by default).
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, labels),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "crier_endpoint_up",
			Help: "1 while the endpoint's circuit breaker admits traffic, 0 while it is open.",
		}, []string{"channel", "endpoint", "network"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crier_breaker_changes_total",
			Help: "Circuit breaker state changes by endpoint and new state.",
		}, []string{"channel", "endpoint", "network", "state"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crier_failovers_total",
			Help: "Sends that moved on from one endpoint to the next.",
		}, []string{"channel", "from", "to"}),
	}
	reg.MustRegister(
		m.attempts,
		m.durations,
		m.up,
		m.changes,
		m.failovers,
		newStateCollector(store, queue),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ObserveAttempt records the attempt of a worked job; its signature is
// that of crier.Workers.Observe. Jobs on which nothing was tried (expired
// before sending) are not attempts and are left out. A nil *Metrics
// observes nothing.
func (m *Metrics) ObserveAttempt(j *crier.Job, o *crier.Outcome, took time.Duration) {
	if m == nil || j == nil || j.Delivery == nil || o == nil || o.Attempt == nil {
		return
	}
	outcome := string(o.State)
	if o.State == crier.StateQueued {
		outcome = "retry"
	}
	m.attempts.WithLabelValues(j.Delivery.Type, outcome).Inc()
	m.durations.WithLabelValues(j.Delivery.Type, outcome).Observe(took.Seconds())
}

// Handler serves the metrics in the Prometheus exposition format. A
// collector that fails (the database does not answer) is logged and left
// out; the others are still served.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// stateCollector reads delivery counts and queue depth at scrape time, so
// that the gauges are right after a restart and across processes sharing
// one database.
type stateCollector struct {
	store      crier.AnnouncementStore
	queue      crier.Queue
	deliveries *prometheus.Desc
	depth      *prometheus.Desc
}

func newStateCollector(store crier.AnnouncementStore, queue crier.Queue) *stateCollector {
	return &stateCollector{
		store: store,
		queue: queue,
		deliveries: prometheus.NewDesc("crier_deliveries",
			"Deliveries of all announcements by state, channel and town.",
			[]string{"state", "channel", "town"}, nil),
		depth: prometheus.NewDesc("crier_queue_depth",
			"Deliveries still to be sent (queued, sending, or waiting for an earlier revision's) by channel type.",
			[]string{"type"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.deliveries
	ch <- c.depth
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if c.store != nil {
		c.collectDeliveries(ctx, ch)
	}
	if c.queue != nil {
		c.collectDepth(ctx, ch)
	}
}

func (c *stateCollector) collectDeliveries(ctx context.Context, ch chan<- prometheus.Metric) {
	counts, err := c.store.Counts(ctx, "")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.deliveries, fmt.Errorf("count deliveries: %w", err))
		return
	}
	// Sum rows with the same labels: a store may report them per
	// announcement, and a repeated label set would fail the scrape.
	type key struct {
		state         crier.State
		channel, town string
	}
	sums := make(map[key]int, len(counts))
	var order []key
	for _, n := range counts {
		k := key{n.State, n.Channel, n.Town}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += n.N
	}
	for _, k := range order {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(sums[k]), string(k.state), k.channel, k.town)
	}
}

func (c *stateCollector) collectDepth(ctx context.Context, ch chan<- prometheus.Metric) {
	depth, err := c.queue.Depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, fmt.Errorf("queue depth: %w", err))
		return
	}
	for typ, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), typ)
	}
}

// ObserveBreaker records a circuit breaker's change to state ("closed",
// "half-open" or "open"). A nil *Metrics observes nothing.
func (m *Metrics) ObserveBreaker(channel, endpoint, network, state string) {
	if m == nil {
		return
	}
	m.up.WithLabelValues(channel, endpoint, network).Set(upValue(state))
	m.changes.WithLabelValues(channel, endpoint, network, state).Inc()
}

// SetEndpoint sets an endpoint's crier_endpoint_up from its breaker's
// state ("closed", "half-open" or "open") without counting a change: it
// gives every endpoint its series at start, before any state changes. A
// nil *Metrics observes nothing.
func (m *Metrics) SetEndpoint(channel, endpoint, network, state string) {
	if m == nil {
		return
	}
	m.up.WithLabelValues(channel, endpoint, network).Set(upValue(state))
}

// upValue is crier_endpoint_up for a breaker state.
func upValue(state string) float64 {
	if state == "open" || state == "gone" {
		return 0
	}
	return 1
}

// ObserveFailover records a send that moved on from endpoint from to to.
// A nil *Metrics observes nothing.
func (m *Metrics) ObserveFailover(channel, from, to string) {
	if m == nil {
		return
	}
	m.failovers.WithLabelValues(channel, from, to).Inc()
}
