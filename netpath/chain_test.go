package netpath_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/netpath"
)

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// bound is how long a test waits for something that must happen soon;
// reaching it fails the test.
const bound = 10 * time.Second

// reply is how a remote answers one send.
type reply struct {
	err error
	// gate, when set, holds the send until it is closed or the send's
	// context ends.
	gate chan struct{}
	// do, when set, runs before the send returns.
	do func()
}

// remote is a scripted endpoint: a crier.Channel, Checker, Prober and
// Closer whose next answers the test sets. It is safe for concurrent use.
type remote struct {
	name string
	// entered receives the key of every send once the send is recorded
	// (sent includes it) and before it answers, when set.
	entered chan string
	// probing receives a value as every probe starts, when set.
	probing chan struct{}

	mu       sync.Mutex
	script   []reply // answers to the next sends, in order
	then     reply   // answer once the script is used up; zero: accept
	label    string  // Receipt.Endpoint the adapter fills in, if any
	keys     []string
	probeErr []error // answers to the next probes; nil or used up: OK
	probes   int
	gate     chan struct{} // holds probes while set
	problems []crier.Problem
	closeErr error
	closed   int
}

func newRemote(name string) *remote { return &remote{name: name} }

// next makes the remote answer the following sends with replies, in order,
// then as before.
func (r *remote) next(replies ...reply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, replies...)
}

// always makes the remote answer every send after the script with rp.
func (r *remote) always(rp reply) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.then = rp
}

func (r *remote) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	r.mu.Lock()
	rp := r.then
	if len(r.script) > 0 {
		rp, r.script = r.script[0], r.script[1:]
	}
	r.keys = append(r.keys, m.Key)
	label := r.label
	r.mu.Unlock()
	// Signal only after recording, so that a test woken by entered sees
	// this send in sent.
	if r.entered != nil {
		r.entered <- m.Key
	}
	if rp.gate != nil {
		select {
		case <-rp.gate:
		case <-ctx.Done():
			return nil, crier.Unknown(ctx.Err(), true)
		}
	}
	if rp.do != nil {
		rp.do()
	}
	if rp.err != nil {
		return nil, rp.err
	}
	return &crier.Receipt{RemoteID: r.name + "/" + m.Key, Endpoint: label}, nil
}

// sent returns the keys of every send the remote got.
func (r *remote) sent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

func (r *remote) Check(_ context.Context, _ *crier.Message) []crier.Problem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]crier.Problem(nil), r.problems...)
}

func (r *remote) Probe(ctx context.Context) error {
	if r.probing != nil {
		r.probing <- struct{}{}
	}
	r.mu.Lock()
	r.probes++
	gate := r.gate
	var err error
	if len(r.probeErr) > 0 {
		err, r.probeErr = r.probeErr[0], r.probeErr[1:]
	}
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return crier.Transient(ctx.Err(), 0)
		}
	}
	return err
}

// probed makes the following probes fail with errs, in order.
func (r *remote) probed(errs ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.probeErr = append(r.probeErr, errs...)
}

func (r *remote) probeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes
}

func (r *remote) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed++
	return r.closeErr
}

// sendOnly hides every ability of a channel but Send.
type sendOnly struct{ ch crier.Channel }

func (s sendOnly) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	return s.ch.Send(ctx, m)
}

var (
	_ crier.Channel = (*remote)(nil)
	_ crier.Checker = (*remote)(nil)
	_ crier.Prober  = (*remote)(nil)
	_ crier.Closer  = (*remote)(nil)
)

func transient(msg string, retryAfter time.Duration) reply {
	return reply{err: crier.Transient(errors.New(msg), retryAfter)}
}

func unknown(msg string) reply   { return reply{err: crier.Unknown(errors.New(msg), true)} }
func permanent(msg string) reply { return reply{err: crier.Permanent(errors.New(msg))} }

// change is one call of OnChange.
type change struct {
	Channel, Endpoint, Network string
	From, To                   netpath.State
}

// failover is one call of OnFailover.
type failover struct{ Channel, From, To string }

// world is a chain under test with its clock, callbacks and log.
type world struct {
	chain *netpath.Chain
	clock *channeltest.Clock

	mu        sync.Mutex
	changes   []change
	failovers []failover
	logs      bytes.Buffer
}

// ep returns an endpoint named name on network over r.
func ep(name, network string, ch crier.Channel) netpath.Endpoint {
	return netpath.Endpoint{Name: name, Network: network, Channel: ch}
}

// newWorld returns a chain "radio" over eps with the default breaker on a
// fake clock at epoch.
func newWorld(t *testing.T, eps ...netpath.Endpoint) *world {
	t.Helper()
	return newWorldShared(t, false, eps...)
}

// newWorldShared is newWorld where, with shared, every endpoint reaches
// the same receiver (Endpoint.Receiver).
func newWorldShared(t *testing.T, shared bool, eps ...netpath.Endpoint) *world {
	t.Helper()
	if shared {
		for i := range eps {
			eps[i].Receiver = "radio"
		}
	}
	w := &world{clock: channeltest.NewClock(epoch)}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &w.logs, mu: &w.mu}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := netpath.NewChain(netpath.ChainOptions{
		Channel:   "radio",
		Endpoints: eps,
		Clock:     w.clock,
		Logger:    log,
		OnChange: func(channel, endpoint, network string, from, to netpath.State) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.changes = append(w.changes, change{channel, endpoint, network, from, to})
		},
		OnFailover: func(channel, from, to string) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.failovers = append(w.failovers, failover{channel, from, to})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w.chain = c
	return w
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (w *world) gotChanges() []change {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]change(nil), w.changes...)
}

func (w *world) gotFailovers() []failover {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]failover(nil), w.failovers...)
}

// log returns the lines logged so far.
func (w *world) log() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Split(strings.TrimSpace(w.logs.String()), "\n")
}

// logged returns how many log lines have level and contain msg.
func (w *world) logged(level, msg string) int {
	n := 0
	for _, l := range w.log() {
		if strings.Contains(l, "level="+level) && strings.Contains(l, msg) {
			n++
		}
	}
	return n
}

// state returns the state of endpoint i.
func (w *world) state(t *testing.T, i int) netpath.State {
	t.Helper()
	return w.chain.Health()[i].State
}

func message(key string) *crier.Message {
	return &crier.Message{
		Announcement: "a1", Revision: 1, Town: "soest", Channel: "radio", Type: "webhook",
		Text: "Das Rathaus ist heute geschlossen.", Key: key,
	}
}

// send sends a message with key through w's chain.
func (w *world) send(key string) (*crier.Receipt, error) {
	return w.chain.Send(context.Background(), message(key))
}

// mustSend sends key and fails the test unless endpoint delivered it.
func (w *world) mustSend(t *testing.T, key, endpoint string) {
	t.Helper()
	r, err := w.send(key)
	if err != nil {
		t.Fatalf("send %s: %v", key, err)
	}
	if r.Endpoint != endpoint {
		t.Fatalf("send %s: delivered through %q, want %q", key, r.Endpoint, endpoint)
	}
}

// wantError fails the test unless err is an *crier.Error with code, and
// returns it.
func wantError(t *testing.T, err error, code string) *crier.Error {
	t.Helper()
	return channeltest.WantCode(t, err, code)
}

func TestFailoverOnTransient(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("social.example", "default", primary), ep("backup.example via lte", "lte", backup))
	primary.next(transient("dial tcp: connection refused", 0))

	r, err := w.send("k1")
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := &crier.Receipt{RemoteID: "backup/k1", Endpoint: "backup.example via lte", Network: "lte"}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k1"}, primary.sent()); diff != "" {
		t.Errorf("primary got (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"k1"}, backup.sent()); diff != "" {
		t.Errorf("backup got (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]failover{{"radio", "social.example", "backup.example via lte"}}, w.gotFailovers()); diff != "" {
		t.Errorf("OnFailover calls (-want +got):\n%s", diff)
	}
	if n := w.logged("INFO", "delivered after failover"); n != 1 {
		t.Errorf("logged the failover %d times at info, want once; log:\n%s", n, strings.Join(w.log(), "\n"))
	}
	h := w.chain.Health()
	if h[0].State != netpath.StateClosed || h[0].Failures != 1 || !strings.Contains(h[0].LastError, "connection refused") {
		t.Errorf("primary health %+v, want closed with 1 failure and its error", h[0])
	}

	// With the primary healthy again, the next send goes there.
	w.mustSend(t, "k2", "social.example")
	if n := len(backup.sent()); n != 1 {
		t.Errorf("backup got %d sends, want still 1", n)
	}
	if got := w.chain.Health()[0].Failures; got != 0 {
		t.Errorf("primary failures after a success = %d, want 0", got)
	}
}

func TestReceiptKeepsWhatTheAdapterSaid(t *testing.T) {
	primary := newRemote("primary")
	primary.label = "social.example (adapter)"
	w := newWorld(t, ep("social.example", "default", primary))
	r, err := w.send("k1")
	if err != nil {
		t.Fatal(err)
	}
	want := &crier.Receipt{RemoteID: "primary/k1", Endpoint: "social.example (adapter)", Network: "default"}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}
}

func TestNoFailover(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"unknown outcome", crier.Unknown(errors.New("read tcp: i/o timeout after the request was written"), true), crier.EUNKNOWN},
		{"unknown outcome, not retryable", crier.Unknown(errors.New("connection reset before 250"), false), crier.EUNKNOWN},
		{"permanent", crier.Permanent(errors.New("422 Unprocessable Entity: text too long")), crier.EPERMANENT},
		// The workers read an unclassified error as an unknown outcome
		// that is not retried; the chain says so, naming the endpoint.
		{"unclassified", errors.New("a bug"), crier.EUNKNOWN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary, backup := newRemote("primary"), newRemote("backup")
			w := newWorld(t, ep("social.example", "default", primary), ep("backup.example via lte", "lte", backup))
			primary.next(reply{err: tt.err})
			r, err := w.send("k1")
			if r != nil {
				t.Errorf("receipt %+v, want none", r)
			}
			if !errors.Is(err, tt.err) || err.Error() != tt.err.Error() {
				t.Errorf("err = %v, want the adapter's error", err)
			}
			var e *crier.Error
			if !errors.As(err, &e) || e.Endpoint != "social.example" || e.Network != "default" {
				t.Errorf("err = %#v, want it to name endpoint social.example on network default", e)
			}
			if got := crier.ErrorCode(err); got != tt.code {
				t.Errorf("code %q, want %q", got, tt.code)
			}
			if got := backup.sent(); len(got) != 0 {
				t.Errorf("backup got %q, want nothing", got)
			}
			if got := w.gotFailovers(); len(got) != 0 {
				t.Errorf("OnFailover calls %v, want none", got)
			}
		})
	}
}

// TestStopAfterFailover: a send that failed over and then met an unknown
// outcome stops there, and its error names the earlier failure.
func TestStopAfterFailover(t *testing.T) {
	a, b, c := newRemote("a"), newRemote("b"), newRemote("c")
	w := newWorld(t, ep("a", "default", a), ep("b", "lte", b), ep("c", "relay", c))
	a.next(transient("no such host", 0))
	b.next(unknown("timeout after the request was written"))
	_, err := w.send("k1")
	e := wantError(t, err, crier.EUNKNOWN)
	if !e.Retryable {
		t.Error("Retryable lost")
	}
	for _, s := range []string{"via b", "a: no such host", "timeout after the request was written"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if got := c.sent(); len(got) != 0 {
		t.Errorf("c got %q, want nothing", got)
	}
	if diff := cmp.Diff([]failover{{"radio", "a", "b"}}, w.gotFailovers()); diff != "" {
		t.Errorf("OnFailover calls (-want +got):\n%s", diff)
	}
}

// TestBreakerOpensAndRecovers walks the primary's breaker through
// closed → open → half-open → closed.
func TestBreakerOpensAndRecovers(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("social.example", "default", primary), ep("backup.example via lte", "lte", backup))
	// Transient failures and unknown outcomes both count.
	primary.next(transient("connection refused", 0), unknown("no answer"), transient("503", 0))
	w.mustSend(t, "k1", "backup.example via lte")
	if _, err := w.send("k2"); crier.ErrorCode(err) != crier.EUNKNOWN {
		t.Fatalf("k2: err = %v, want the unknown outcome", err)
	}
	if got := w.state(t, 0); got != netpath.StateClosed {
		t.Fatalf("after 2 failures: %s, want closed", got)
	}
	w.mustSend(t, "k3", "backup.example via lte")
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Fatalf("after 3 failures: %s, want open", got)
	}
	opened := []change{{"radio", "social.example", "default", netpath.StateClosed, netpath.StateOpen}}
	if diff := cmp.Diff(opened, w.gotChanges()); diff != "" {
		t.Errorf("OnChange calls (-want +got):\n%s", diff)
	}

	// Open: sends skip the primary without calling it, and without a failover.
	w.mustSend(t, "k4", "backup.example via lte")
	w.clock.Advance(netpath.DefaultCoolDown - time.Second)
	w.mustSend(t, "k5", "backup.example via lte")
	if diff := cmp.Diff([]string{"k1", "k2", "k3"}, primary.sent()); diff != "" {
		t.Errorf("primary got (-want +got):\n%s", diff)
	}
	if n := len(w.gotFailovers()); n != 2 {
		t.Errorf("%d failovers, want 2 (k1 and k3; skipping an open endpoint is none)", n)
	}

	// Cool-down over: one trial goes to the primary and closes the breaker.
	w.clock.Advance(time.Second)
	w.mustSend(t, "k6", "social.example")
	w.mustSend(t, "k7", "social.example")
	want := append(opened,
		change{"radio", "social.example", "default", netpath.StateOpen, netpath.StateHalfOpen},
		change{"radio", "social.example", "default", netpath.StateHalfOpen, netpath.StateClosed})
	if diff := cmp.Diff(want, w.gotChanges()); diff != "" {
		t.Errorf("OnChange calls (-want +got):\n%s", diff)
	}
	if n := w.logged("WARN", "endpoint failing"); n != 1 {
		t.Errorf("logged the opening %d times at warn, want once", n)
	}
	if n := w.logged("INFO", "endpoint answers again"); n != 1 {
		t.Errorf("logged the closing %d times at info, want once", n)
	}
}

func TestHalfOpenTrialFailureReopens(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.always(transient("connection refused", 0))
	for i := range 3 {
		w.mustSend(t, "open"+strconv.Itoa(i), "b")
	}
	w.clock.Advance(netpath.DefaultCoolDown)
	w.mustSend(t, "trial1", "b") // the trial fails and fails over
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Fatalf("after a failed trial: %s, want open", got)
	}
	if h := w.chain.Health()[0]; !h.Until.Equal(w.clock.Now().Add(netpath.DefaultCoolDown)) {
		t.Errorf("open until %v, want a fresh cool-down to %v", h.Until, w.clock.Now().Add(netpath.DefaultCoolDown))
	}
	w.clock.Advance(netpath.DefaultCoolDown - time.Millisecond)
	w.mustSend(t, "skipped", "b")
	w.clock.Advance(time.Millisecond)
	primary.always(reply{})
	w.mustSend(t, "trial2", "p")
	if diff := cmp.Diff([]string{"open0", "open1", "open2", "trial1", "trial2"}, primary.sent()); diff != "" {
		t.Errorf("primary got (-want +got):\n%s", diff)
	}
	var states []netpath.State
	for _, c := range w.gotChanges() {
		states = append(states, c.To)
	}
	want := []netpath.State{netpath.StateOpen, netpath.StateHalfOpen, netpath.StateOpen, netpath.StateHalfOpen, netpath.StateClosed}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("state changes (-want +got):\n%s", diff)
	}
}

// TestPermanentIsAnAnswer: a refusal proves the endpoint reachable, so it
// does not count as a failure and breaks a run of them.
func TestPermanentIsAnAnswer(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.next(transient("503", 0), transient("503", 0), permanent("422 too long"),
		transient("503", 0), transient("503", 0))
	for i := range 5 {
		w.send("k" + strconv.Itoa(i))
	}
	if h := w.chain.Health()[0]; h.State != netpath.StateClosed || h.Failures != 2 {
		t.Errorf("primary %s with %d failures, want closed with 2", h.State, h.Failures)
	}
	primary.next(transient("503", 0))
	w.send("k5")
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Errorf("after 3 consecutive failures: %s, want open", got)
	}

	// A half-open trial that is refused closes the breaker too.
	w.clock.Advance(netpath.DefaultCoolDown)
	primary.next(permanent("422 too long"))
	_, err := w.send("k6")
	wantError(t, err, crier.EPERMANENT)
	if got := w.state(t, 0); got != netpath.StateClosed {
		t.Errorf("after a refused trial: %s, want closed", got)
	}
}

// TestRecipientRefusalIsAnAnswer: a relay's temporary refusal of one
// recipient (450 to RCPT TO) is that recipient's: however many come in a
// row, the breaker stays closed, the other messages go through the
// endpoint at once, and the refused one is not sent elsewhere.
func TestRecipientRefusalIsAnAnswer(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	refusal := func() reply {
		return reply{err: crier.RecipientRefused(crier.Transient(errors.New("RCPT TO: 450 4.2.1 mailbox busy"), 0))}
	}
	primary.next(refusal(), refusal(), refusal(), refusal(), refusal())
	for i := range 5 {
		_, err := w.send("refused" + strconv.Itoa(i))
		if e := wantError(t, err, crier.ETRANSIENT); e != nil && e.Deferred || !e.Recipient || e.Endpoint != "p" {
			t.Errorf("refusal %d: deferred %t, recipient %t, endpoint %q; want a recipient refusal at p",
				i, e.Deferred, e.Recipient, e.Endpoint)
		}
	}
	if h := w.chain.Health()[0]; h.State != netpath.StateClosed || h.Failures != 0 {
		t.Errorf("primary %s with %d failures after 5 recipient refusals, want closed with 0", h.State, h.Failures)
	}
	w.mustSend(t, "next", "p")
	if got := backup.sent(); len(got) != 0 {
		t.Errorf("backup got %q; a recipient refusal must not fail over", got)
	}
	if got := w.gotChanges(); len(got) != 0 {
		t.Errorf("breaker changes %v, want none", got)
	}
}

// TestOneTrialAtATime: while the half-open trial is under way, concurrent
// sends skip the endpoint instead of piling onto it.
func TestOneTrialAtATime(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.next(transient("refused", 0), transient("refused", 0), transient("refused", 0))
	for i := range 3 {
		w.mustSend(t, "open"+strconv.Itoa(i), "b")
	}
	w.clock.Advance(netpath.DefaultCoolDown)

	gate := make(chan struct{})
	primary.next(reply{gate: gate})
	primary.entered = make(chan string, 16)
	type outcome struct {
		r   *crier.Receipt
		err error
	}
	trial := make(chan outcome, 1)
	go func() {
		r, err := w.send("trial")
		trial <- outcome{r, err}
	}()
	select {
	case <-primary.entered:
	case <-time.After(bound):
		t.Fatal("the trial send never reached the primary")
	}
	if got := w.state(t, 0); got != netpath.StateHalfOpen {
		t.Errorf("during the trial: %s, want half-open", got)
	}

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r, err := w.send("during" + strconv.Itoa(i))
			switch {
			case err != nil:
				errs <- err
			case r.Endpoint != "b":
				errs <- fmt.Errorf("during%d delivered through %s, want b", i, r.Endpoint)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(primary.sent()); got != 4 {
		t.Errorf("primary got %d sends, want 4 (3 failures and the trial)", got)
	}
	if got := len(backup.sent()); got != 3+n {
		t.Errorf("backup got %d sends, want %d", got, 3+n)
	}

	close(gate)
	select {
	case o := <-trial:
		if o.err != nil || o.r.Endpoint != "p" {
			t.Errorf("trial: %+v, %v; want delivered through p", o.r, o.err)
		}
	case <-time.After(bound):
		t.Fatal("the trial did not end")
	}
	if got := w.state(t, 0); got != netpath.StateClosed {
		t.Errorf("after the trial: %s, want closed", got)
	}
	closes := 0
	for _, c := range w.gotChanges() {
		if c.To == netpath.StateClosed {
			closes++
		}
	}
	if closes != 1 {
		t.Errorf("%d changes to closed, want 1: %v", closes, w.gotChanges())
	}
}

// TestAllEndpointsDown: with no endpoint delivering, Send returns a
// Transient error listing every endpoint, with RetryAfter the earliest
// moment one of them takes sends again; when one is back, sends flow.
func TestAllEndpointsDown(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("social.example", "default", primary), ep("backup.example via lte", "lte", backup))

	primary.always(transient("dial tcp 192.0.2.1:443: connect: connection refused", 0))
	backup.always(transient("lookup backup.example: no such host", 0))
	_, err := w.send("k1")
	e := wantError(t, err, crier.ETRANSIENT)
	if e.RetryAfter != 0 {
		t.Errorf("RetryAfter %v while both breakers are closed, want 0 (the caller's backoff decides)", e.RetryAfter)
	}
	for _, s := range []string{"social.example: dial tcp 192.0.2.1:443: connect: connection refused", "backup.example via lte: lookup backup.example: no such host"} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q does not name %q", e.Message, s)
		}
	}
	if n := w.logged("INFO", "no endpoint delivered"); n != 1 {
		t.Errorf("logged the exhausted failover %d times at info, want once", n)
	}

	// Both open, the primary first.
	w.send("k2")
	backup.next(reply{})
	w.mustSend(t, "k3", "backup.example via lte") // the primary's third failure opens it
	w.clock.Advance(10 * time.Second)
	for _, k := range []string{"k3a", "k3b", "k3c"} {
		w.send(k) // the primary is skipped; the backup fails three times and opens
	}
	if h := w.chain.Health(); h[0].State != netpath.StateOpen || h[1].State != netpath.StateOpen {
		t.Fatalf("states %s, %s; want both open", h[0].State, h[1].State)
	}
	sentBefore := len(primary.sent()) + len(backup.sent())
	w.clock.Advance(5 * time.Second)
	_, err = w.send("k4")
	e = wantError(t, err, crier.ETRANSIENT)
	if want := 15 * time.Second; e.RetryAfter != want {
		t.Errorf("RetryAfter %v, want %v (the primary's cool-down ends first)", e.RetryAfter, want)
	}
	for _, s := range []string{"social.example: circuit open for another 15s", "backup.example via lte: circuit open for another 25s"} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q does not contain %q", e.Message, s)
		}
	}
	if got := len(primary.sent()) + len(backup.sent()); got != sentBefore {
		t.Errorf("open endpoints were called %d times, want 0", got-sentBefore)
	}

	// The secondary comes back first.
	w.clock.Advance(e.RetryAfter)
	primary.always(transient("connection refused", 0))
	backup.always(reply{})
	_, err = w.send("k5") // the primary's trial fails; the backup is still open
	e = wantError(t, err, crier.ETRANSIENT)
	if want := 10 * time.Second; e.RetryAfter != want {
		t.Errorf("RetryAfter %v, want %v (the backup's cool-down)", e.RetryAfter, want)
	}
	w.clock.Advance(e.RetryAfter)
	w.mustSend(t, "k6", "backup.example via lte")
	if got := w.chain.Health()[1].State; got != netpath.StateClosed {
		t.Errorf("backup %s, want closed", got)
	}
}

// TestRetryAfterIsHonoured: an endpoint that asked for a pause gets it,
// and the chain's RetryAfter is the shortest pause asked for.
func TestRetryAfterIsHonoured(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.next(transient("429 Too Many Requests", 2*time.Minute))
	backup.next(transient("503 Service Unavailable", time.Minute))
	_, err := w.send("k1")
	if e := wantError(t, err, crier.ETRANSIENT); e.RetryAfter != time.Minute {
		t.Errorf("RetryAfter %v, want 1m", e.RetryAfter)
	}
	_, err = w.send("k2")
	e := wantError(t, err, crier.ETRANSIENT)
	if e.RetryAfter != time.Minute || !strings.Contains(e.Message, "p: asked to be left alone for another 2m0s") {
		t.Errorf("second send: RetryAfter %v, message %q; want 1m, the primary resting", e.RetryAfter, e.Message)
	}
	if n := len(primary.sent()) + len(backup.sent()); n != 2 {
		t.Errorf("%d sends reached the remotes, want 2: resting endpoints are skipped", n)
	}
	h := w.chain.Health()
	if h[0].State != netpath.StateClosed || !h[0].Until.Equal(epoch.Add(2*time.Minute)) {
		t.Errorf("primary health %+v, want closed, resting until %v", h[0], epoch.Add(2*time.Minute))
	}
	w.clock.Advance(time.Minute)
	w.mustSend(t, "k3", "b")
	w.clock.Advance(time.Minute)
	w.mustSend(t, "k4", "p")
}

// TestAmbiguousMessageStaysPut: a message whose earlier send may have
// arrived is never sent to another endpoint, whose receiver would not know
// its key.
func TestAmbiguousMessageStaysPut(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	// A blackholed primary: three timeouts open its breaker.
	primary.always(unknown("no answer within the deadline"))
	for _, k := range []string{"k1", "k2", "k3"} {
		if _, err := w.send(k); crier.ErrorCode(err) != crier.EUNKNOWN {
			t.Fatalf("%s: err = %v, want an unknown outcome", k, err)
		}
	}
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Fatalf("primary %s after three timeouts, want open", got)
	}
	// A new message goes to the backup ...
	w.mustSend(t, "k4", "b")
	// ... but the retry of k1, pinned to the primary where its attempt
	// ended unknown, waits for the primary: nothing is tried.
	m := message("k1")
	m.Ambiguous, m.Pin = true, "p"
	_, err := w.chain.Send(context.Background(), m)
	e := wantError(t, err, crier.ETRANSIENT)
	if e.RetryAfter != netpath.DefaultCoolDown {
		t.Errorf("RetryAfter %v, want the primary's cool-down %v", e.RetryAfter, netpath.DefaultCoolDown)
	}
	if !e.Deferred {
		t.Errorf("err %v is not deferred; a send that tried nothing is no attempt", err)
	}
	if diff := cmp.Diff([]string{"k4"}, backup.sent()); diff != "" {
		t.Errorf("backup got (-want +got):\n%s", diff)
	}
	w.clock.Advance(netpath.DefaultCoolDown)
	primary.always(reply{})
	r, err := w.chain.Send(context.Background(), m)
	if err != nil || r.Endpoint != "p" {
		t.Fatalf("retry after the cool-down: %+v, %v; want delivered through p", r, err)
	}

	// An ambiguous message whose endpoint is not known (its worker was
	// lost) stays with the first endpoint's receiver and does not fail
	// over.
	primary.always(transient("connection refused", 0))
	m = message("from-before-a-restart")
	m.Ambiguous = true
	_, err = w.chain.Send(context.Background(), m)
	e = wantError(t, err, crier.ETRANSIENT)
	if strings.Contains(e.Message, "b:") || !strings.Contains(e.Message, "p: connection refused") {
		t.Errorf("message %q, want only p tried", e.Message)
	}
	// One pinned to an endpoint the channel no longer has is for a person.
	m = message("k9")
	m.Ambiguous, m.Pin = true, "gone.example"
	_, err = w.chain.Send(context.Background(), m)
	if e := wantError(t, err, crier.EUNKNOWN); e.Retryable {
		t.Errorf("err %v is retryable; the endpoint that may have the key is unknown", err)
	}
	if diff := cmp.Diff([]string{"k4"}, backup.sent()); diff != "" {
		t.Errorf("backup got (-want +got):\n%s", diff)
	}
}

// TestAmbiguousMessageWithSharedKeys: when every endpoint reaches the same
// receiver (Endpoint.Receiver), a message that may have arrived fails over like
// any other: the receiver drops the repeat whichever way it comes.
func TestAmbiguousMessageWithSharedKeys(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorldShared(t, true, ep("p", "default", primary), ep("b", "lte", backup))
	primary.always(unknown("no answer within the deadline"))
	for _, k := range []string{"k1", "k2", "k3"} {
		w.send(k)
	}
	m := message("k1")
	m.Ambiguous = true
	r, err := w.chain.Send(context.Background(), m)
	if err != nil || r.Endpoint != "b" {
		t.Fatalf("retry of an ambiguous message: %+v, %v; want delivered through b", r, err)
	}
}

func TestCanceledSendIsNotHeldAgainstTheEndpoint(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	ctx, cancel := context.WithCancel(context.Background())
	primary.next(reply{do: cancel, err: crier.Transient(context.Canceled, 0)})
	_, err := w.chain.Send(ctx, message("k1"))
	wantError(t, err, crier.ETRANSIENT)
	if h := w.chain.Health()[0]; h.Failures != 0 {
		t.Errorf("primary failures %d after a canceled send, want 0", h.Failures)
	}
	if got := backup.sent(); len(got) != 0 {
		t.Errorf("backup got %q after the send was canceled, want nothing", got)
	}
	if _, err := w.chain.Send(ctx, message("k2")); crier.ErrorCode(err) != crier.ETRANSIENT {
		t.Errorf("send with a done context: %v, want transient", err)
	}
	if n := len(primary.sent()); n != 1 {
		t.Errorf("primary got %d sends, want 1", n)
	}
}

// expiring is a context whose deadline passes when the test says.
type expiring struct {
	context.Context
	done    chan struct{}
	expired atomic.Bool
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiring) expire() {
	if c.expired.CompareAndSwap(false, true) {
		close(c.done)
	}
}
func (c *expiring) Done() <-chan struct{} { return c.done }
func (c *expiring) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// TestDeadlineEndsFailover: when the send's deadline passes at one
// endpoint, the failure counts, and the next endpoints are not tried.
func TestDeadlineEndsFailover(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	ctx := newExpiring()
	primary.next(reply{do: ctx.expire, err: crier.Transient(errors.New("dial tcp: i/o timeout"), 0)})
	_, err := w.chain.Send(ctx, message("k1"))
	e := wantError(t, err, crier.ETRANSIENT)
	if !strings.Contains(e.Message, "b: not tried: context deadline exceeded") {
		t.Errorf("message %q does not say why b was not tried", e.Message)
	}
	if got := backup.sent(); len(got) != 0 {
		t.Errorf("backup got %q, want nothing", got)
	}
	if h := w.chain.Health()[0]; h.Failures != 1 {
		t.Errorf("primary failures %d, want 1: a timeout counts", h.Failures)
	}
}

func TestCheck(t *testing.T) {
	long := crier.Problem{Field: "text", Message: "is 612 characters long; the limit is 500"}
	empty := crier.Problem{Field: "subject", Message: "must not be empty"}
	json := crier.Problem{Field: "payload", Message: "is not valid JSON"}
	a, b, c := newRemote("a"), newRemote("b"), newRemote("c")
	a.problems = []crier.Problem{long, empty}
	b.problems = []crier.Problem{json, long, long}
	w := newWorld(t, ep("a", "default", a), ep("b via lte", "lte", b), ep("c", "relay", sendOnly{c}))
	got := w.chain.Check(context.Background(), message("k1"))
	want := []crier.Problem{
		{Field: "text", Message: "is 612 characters long; the limit is 500 (endpoints a, b via lte)"},
		{Field: "subject", Message: "must not be empty (endpoint a)"},
		{Field: "payload", Message: "is not valid JSON (endpoint b via lte)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}

	// With one endpoint, problems are its own, each once.
	single := newWorld(t, ep("b", "default", b))
	if diff := cmp.Diff([]crier.Problem{json, long}, single.chain.Check(context.Background(), message("k1"))); diff != "" {
		t.Errorf("Check of one endpoint (-want +got):\n%s", diff)
	}
	b.problems = nil
	if got := single.chain.Check(context.Background(), message("k1")); len(got) != 0 {
		t.Errorf("Check = %v, want no problems", got)
	}
}

func TestClose(t *testing.T) {
	a, b, c := newRemote("a"), newRemote("b"), newRemote("c")
	b.closeErr = errors.New("connection pool busy")
	chain, err := netpath.NewChain(netpath.ChainOptions{
		Channel:   "radio",
		Endpoints: []netpath.Endpoint{ep("a", "default", a), ep("b", "lte", b), ep("c", "relay", sendOnly{c})},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = chain.Close()
	if !errors.Is(err, b.closeErr) || !strings.Contains(err.Error(), "close b") {
		t.Errorf("Close = %v, want b's error naming b", err)
	}
	if a.closed != 1 || b.closed != 1 || c.closed != 0 {
		t.Errorf("closed a %d, b %d, c %d times; want 1, 1, 0 (c is no Closer)", a.closed, b.closed, c.closed)
	}
}

func TestNewChainRefuses(t *testing.T) {
	r := newRemote("r")
	tests := []struct {
		name string
		o    netpath.ChainOptions
		want string
	}{
		{"no channel", netpath.ChainOptions{Endpoints: []netpath.Endpoint{ep("a", "", r)}}, "channel id is missing"},
		{"no endpoints", netpath.ChainOptions{Channel: "radio"}, "no endpoints"},
		{"no name", netpath.ChainOptions{Channel: "radio", Endpoints: []netpath.Endpoint{ep("", "", r)}}, "endpoint 0 has no name"},
		{"twice", netpath.ChainOptions{Channel: "radio", Endpoints: []netpath.Endpoint{ep("a", "", r), ep("a", "lte", r)}}, `"a" is used twice`},
		{"no channel", netpath.ChainOptions{Channel: "radio", Endpoints: []netpath.Endpoint{ep("a", "", nil)}}, "a has no channel"},
	}
	for _, tt := range tests {
		if _, err := netpath.NewChain(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	c, err := netpath.NewChain(netpath.ChainOptions{Channel: "radio", Endpoints: []netpath.Endpoint{ep("a", "lte", r)}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]netpath.Endpoint{ep("a", "lte", r)}, c.Endpoints(), cmp.Comparer(func(a, b crier.Channel) bool { return a == b })); diff != "" {
		t.Errorf("Endpoints (-want +got):\n%s", diff)
	}
}

// refusedURL returns the URL of a port on which nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hooks"
}

// TestWebhookFailover runs the chain over two real webhook channels and
// their receivers.
func TestWebhookFailover(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	secret := webhooktest.NewSecret(t)
	newHook := func(t *testing.T, url, name string) *webhook.Channel {
		t.Helper()
		ch, err := webhook.New(webhook.Options{URL: url, Secret: secret, Clock: clock, Name: name, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	newChain := func(t *testing.T, primaryURL string, backup *webhooktest.Receiver) *netpath.Chain {
		t.Helper()
		c, err := netpath.NewChain(netpath.ChainOptions{
			Channel: "radio",
			Endpoints: []netpath.Endpoint{
				ep("radio.example", "default", newHook(t, primaryURL, "radio.example")),
				ep("backup.example via lte", "lte", newHook(t, backup.URL()+"/hooks", "backup.example via lte")),
			},
			Clock: clock,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("refused", func(t *testing.T) {
		primary := webhooktest.NewReceiver(t, secret, clock)
		backup := webhooktest.NewReceiver(t, secret, clock)
		c := newChain(t, refusedURL(t), backup)
		r, err := c.Send(t.Context(), message("a1.1.soest.radio"))
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		want := &crier.Receipt{RemoteID: "a1.1.soest.radio", Endpoint: "backup.example via lte", Network: "lte"}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("receipt (-want +got):\n%s", diff)
		}
		channeltest.WantAccepted(t, backup, "a1.1.soest.radio")
		if n := len(primary.Requests()); n != 0 {
			t.Errorf("the other receiver got %d requests, want 0", n)
		}
		if h := c.Health()[0]; h.Failures != 1 || !strings.Contains(h.LastError, "refused") {
			t.Errorf("primary health %+v, want 1 failure, connection refused", h)
		}
	})

	t.Run("unavailable, then open", func(t *testing.T) {
		primary := webhooktest.NewReceiver(t, secret, clock)
		backup := webhooktest.NewReceiver(t, secret, clock)
		primary.RespondBody(http.StatusServiceUnavailable, nil, "maintenance")
		c := newChain(t, primary.URL()+"/hooks", backup)
		keys := []string{"k1", "k2", "k3", "k4"}
		for _, k := range keys {
			if r, err := c.Send(t.Context(), message(k)); err != nil || r.Endpoint != "backup.example via lte" {
				t.Fatalf("%s: %+v, %v; want delivered through the backup", k, r, err)
			}
		}
		channeltest.WantAccepted(t, backup, keys...)
		if n := len(primary.Requests()); n != 3 {
			t.Errorf("primary got %d requests, want 3: its breaker opens after the third", n)
		}
		if got := c.Health()[0].State; got != netpath.StateOpen {
			t.Errorf("primary %s, want open", got)
		}
	})

	t.Run("no answer", func(t *testing.T) {
		primary := webhooktest.NewReceiver(t, secret, clock)
		backup := webhooktest.NewReceiver(t, secret, clock)
		primary.Hang()
		c := newChain(t, primary.URL()+"/hooks", backup)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := c.Send(ctx, message("k1"))
		if e := wantError(t, err, crier.EUNKNOWN); !e.Retryable {
			t.Error("unknown outcome at a webhook receiver is not retryable, want retryable")
		}
		if n := len(backup.Requests()); n != 0 {
			t.Errorf("backup got %d requests after an unknown outcome, want 0", n)
		}
		if h := c.Health()[0]; h.Failures != 1 {
			t.Errorf("primary failures %d, want 1: a timeout counts", h.Failures)
		}
	})
}

// TestImports keeps netpath below the engine's adapters and storage.
func TestImports(t *testing.T) {
	const mod = "github.com/crierhq/crier/"
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range []string{"store", "queue", "server", "cmd", "templates", "channels"} {
				if ip == mod+bad || strings.HasPrefix(ip, mod+bad+"/") {
					t.Errorf("%s imports %s: netpath must not depend on %s", f, ip, bad)
				}
			}
		}
	}
}
