package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// storeGate holds every store call of the subscribe path until it is
// opened, and lists the calls that have returned.
type storeGate struct {
	open chan struct{}
	once sync.Once
	mu   sync.Mutex
	done []string
}

func newStoreGate() *storeGate { return &storeGate{open: make(chan struct{})} }

func (g *storeGate) pass(call string) {
	<-g.open
	g.mu.Lock()
	g.done = append(g.done, call)
	g.mu.Unlock()
}

func (g *storeGate) release() { g.once.Do(func() { close(g.open) }) }

func (g *storeGate) returned() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.done...)
}

type gatedSubscribers struct {
	crier.SubscriberStore
	gate *storeGate
}

func (s gatedSubscribers) Subscribers(ctx context.Context, town string, state crier.SubscriberState) ([]*crier.Subscriber, error) {
	defer s.gate.pass("Subscribers")
	return s.SubscriberStore.Subscribers(ctx, town, state)
}

func (s gatedSubscribers) AddSubscribers(ctx context.Context, subs []*crier.Subscriber, now time.Time) (int, error) {
	defer s.gate.pass("AddSubscribers")
	return s.SubscriberStore.AddSubscribers(ctx, subs, now)
}

type gatedStore struct {
	crier.AnnouncementStore
	gate *storeGate
}

func (s gatedStore) CreateAnnouncement(ctx context.Context, p *crier.Plan, key string, now time.Time) (*crier.PublishResult, error) {
	defer s.gate.pass("CreateAnnouncement")
	return s.AnnouncementStore.CreateAnnouncement(ctx, p, key, now)
}

// TestSubscribeSameWork: the form's answer to a new, pending, confirmed
// or unsubscribed address is the same and waits for no store work at all,
// so neither its content nor its time tells whether an address is on the
// list. Every store call is held while the four requests are answered;
// the work they asked for is done once the store is let go.
func TestSubscribeSameWork(t *testing.T) {
	gate := newStoreGate()
	t.Cleanup(gate.release)
	e := newEnv(t, func(o *Options) {
		o.Tokens = subscribeTokens
		o.Subscribers = gatedSubscribers{o.Subscribers, gate}
		o.Store = gatedStore{o.Store, gate}
	})
	if _, err := e.subs.AddSubscribers(context.Background(), []*crier.Subscriber{
		{Town: "soest", Email: "pending@example.org", State: crier.SubscriberPending},
		{Town: "soest", Email: "confirmed@example.org", State: crier.SubscriberConfirmed},
		{Town: "soest", Email: "gone@example.org", State: crier.SubscriberUnsubscribed},
	}, testNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	addrs := []string{"new@example.org", "pending@example.org", "confirmed@example.org", "gone@example.org"}
	type answer struct {
		Code       int
		Body       string
		StoreCalls []string // store calls that returned before the answer
	}
	got := map[string]answer{}
	for _, addr := range addrs {
		req := httptest.NewRequest(http.MethodPost, "/soest/subscribe", strings.NewReader(url.Values{"email": {addr}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		answered := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			rec := httptest.NewRecorder()
			e.server.ServeHTTP(rec, req)
			answered <- rec
		}()
		select {
		case rec := <-answered:
			got[addr] = answer{rec.Code, rec.Body.String(), gate.returned()}
		case <-time.After(10 * time.Second):
			t.Fatalf("the answer to %s waits for the store", addr)
		}
	}
	want := map[string]answer{}
	for _, addr := range addrs {
		want[addr] = answer{http.StatusOK, got[addrs[0]].Body, nil}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers differ by the address's state (-want +got):\n%s", diff)
	}
	if !strings.Contains(got[addrs[0]].Body, "wir haben Ihnen eine E-Mail geschickt") {
		t.Errorf("answer:\n%s", got[addrs[0]].Body)
	}

	gate.release()
	page(t, http.MethodGet, e.url+"/healthz", nil) // returns once the work is done (see newEnv)
	states := map[string]crier.SubscriberState{}
	for _, addr := range addrs {
		states[addr] = e.subs.state(t, "soest", addr)
	}
	if diff := cmp.Diff(map[string]crier.SubscriberState{"new@example.org": crier.SubscriberPending,
		"pending@example.org": crier.SubscriberPending, "confirmed@example.org": crier.SubscriberConfirmed,
		"gone@example.org": crier.SubscriberPending}, states); diff != "" {
		t.Errorf("states after the work (-want +got):\n%s", diff)
	}
	mails := map[string]int{}
	for _, m := range e.store.confirmations() {
		mails[m.Recipient]++
	}
	if diff := cmp.Diff(map[string]int{"new@example.org": 1, "pending@example.org": 1, "gone@example.org": 1}, mails); diff != "" {
		t.Errorf("confirmation mails (-want +got):\n%s", diff)
	}
}
