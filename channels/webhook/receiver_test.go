package webhook_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook"
)

const (
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	tolerance  = 5 * time.Minute
)

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// receiver behaves like a Standard Webhooks receiver: it reads the whole
// request, verifies its signature and timestamp with webhook.Verify, drops
// repeated webhook-ids, and answers as its behaviour says.
type receiver struct {
	t      *testing.T
	secret string
	clock  crier.Clock

	mu       sync.Mutex
	behavior channeltest.Behavior
	status   int // with Reject; default 422
	answer   string
	accepted []string
	seen     map[string]bool
	requests []*request
}

// request is what the receiver got.
type request struct {
	header http.Header
	body   []byte
}

// newReceiver starts a receiver that verifies with testSecret.
func newReceiver(t *testing.T, clock crier.Clock) (*receiver, *httptest.Server) {
	r := makeReceiver(t, clock, testSecret)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func makeReceiver(t *testing.T, clock crier.Clock, secret string) *receiver {
	return &receiver{t: t, secret: secret, clock: clock, seen: map[string]bool{}}
}

// refuse makes the receiver answer status with body to the following sends.
func (r *receiver) refuse(status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.behavior = channeltest.Behavior{Kind: channeltest.Reject}
	r.status, r.answer = status, body
}

func (r *receiver) Set(b channeltest.Behavior) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.behavior = b
}

func (r *receiver) Accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.accepted...)
}

// Requests returns every request that reached the receiver.
func (r *receiver) Requests() []*request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*request(nil), r.requests...)
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the sender went away
	}
	r.mu.Lock()
	r.requests = append(r.requests, &request{header: req.Header.Clone(), body: body})
	b, status, answer := r.behavior, r.status, r.answer
	r.mu.Unlock()

	if req.Method != http.MethodPost {
		r.t.Errorf("method = %s, want POST", req.Method)
	}
	if err := webhook.Verify(r.secret, req.Header, body, r.clock.Now(), tolerance); err != nil {
		r.t.Errorf("receiver: verify: %v", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if !json.Valid(body) {
		r.t.Errorf("receiver: body is not JSON: %q", body)
	}

	switch b.Kind {
	case channeltest.Accept:
		id := req.Header.Get(webhook.HeaderID)
		r.mu.Lock()
		if !r.seen[id] {
			r.seen[id] = true
			r.accepted = append(r.accepted, id)
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case channeltest.Reject:
		if status == 0 {
			status = http.StatusUnprocessableEntity
		}
		if answer == "" {
			answer = `{"error":"unknown event type"}`
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	case channeltest.Unavailable:
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	case channeltest.RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(int(b.RetryAfter/time.Second)))
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case channeltest.Hang:
		select {
		case <-req.Context().Done():
		case <-r.t.Context().Done():
		}
	case channeltest.Drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			r.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}
}
