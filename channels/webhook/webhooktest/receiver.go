// Package webhooktest runs a Standard Webhooks receiver in the test
// process, on an httptest server: it verifies every request's signature
// and timestamp with webhook.Verify, drops repeated webhook-ids as real
// receivers do, records what it got, and answers as the test says: any
// status with any headers, never, or with a connection lost in the middle
// of the response.
//
// HEAD and GET requests are health probes, not webhooks: the receiver
// answers them 200 OK on every path, or as RespondProbe says, and records
// them apart (Probes), never in Requests or Accepted.
//
// The channel tests of package webhook and the end-to-end tests of crier
// use the same receiver, so that both test against one model of it.
package webhooktest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook"
)

// Tolerance is how far a request's timestamp may lie from the receiver's
// clock, in either direction, for the request to verify.
const Tolerance = 5 * time.Minute

// NewSecret returns a random signing secret: "whsec_" followed by the
// base64 of 32 random bytes.
func NewSecret(tb testing.TB) string {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		tb.Fatalf("webhooktest: secret: %v", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// Request is one request the receiver got.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// ID and Timestamp are the webhook-id and webhook-timestamp headers.
	ID, Timestamp string
	Body          []byte
	// Verified is whether the signature and timestamp verified; VerifyErr
	// is webhook.Verify's error when not. An unverified request is
	// answered 401 and never accepted.
	Verified  bool
	VerifyErr error
	// Payload is the body decoded as a JSON object, nil when it is not one.
	Payload map[string]any
	// Duplicate is set on a request acknowledged with a webhook-id that had
	// been accepted before; it is not accepted again.
	Duplicate bool
	// RemoteIP is the address the request came from: it shows which
	// network carried it.
	RemoteIP string
}

// Receiver is a webhook receiver on an httptest server. Its methods are
// safe for concurrent use.
type Receiver struct {
	secret  string
	clock   crier.Clock
	srv     *httptest.Server
	release chan struct{} // closed at shutdown: ends every hang
	waiting chan struct{} // receives when a request starts hanging
	conns   atomic.Int64

	mu       sync.Mutex
	answer   answer
	probe    map[string]answer // by method; a missing one is 200 OK
	onAccept func(*Request)
	requests []*Request
	probes   []*Probe
	accepted []string
	seen     map[string]bool
}

// Probe is one HEAD or GET request the receiver got.
type Probe struct {
	Method, Path string
	Header       http.Header
	// Answer is the status code of the answer, 0 when none was given
	// (Hang, Drop).
	Answer int
}

// answer is how the receiver treats the following requests.
type answer struct {
	kind   answerKind
	status int
	header http.Header
	body   string
}

type answerKind int

const (
	respond answerKind = iota
	hang
	drop
)

var (
	_ channeltest.Remote = (*Receiver)(nil)
	_ http.Handler       = (*Receiver)(nil)
)

// NewReceiver starts a receiver that verifies requests with secret against
// clock (crier.SystemClock when nil) and acknowledges them with 204 No
// Content. It shuts down when tb and its subtests have finished: hangs
// end, and the cleanup returns only after every request has been handled,
// so the OnAccept hook never runs after it.
func NewReceiver(tb testing.TB, secret string, clock crier.Clock) *Receiver {
	tb.Helper()
	if clock == nil {
		clock = crier.SystemClock{}
	}
	r := &Receiver{
		secret:  secret,
		clock:   clock,
		release: make(chan struct{}),
		waiting: make(chan struct{}, 1),
		answer:  answer{status: http.StatusNoContent},
		probe:   map[string]answer{},
		seen:    map[string]bool{},
	}
	r.srv = httptest.NewUnstartedServer(r)
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.srv.Start()
	tb.Cleanup(func() {
		close(r.release)
		r.srv.Close()
	})
	return r
}

// URL returns the receiver's base URL, e.g. "http://127.0.0.1:40123". It
// answers on every path.
func (r *Receiver) URL() string { return r.srv.URL }

// Respond makes the receiver answer every following verified request with
// status and header, and no body: 500, 429 with Retry-After, 410 and so
// on. A 2xx status acknowledges the request (see Accept). Respond panics
// on a status outside 200–599.
func (r *Receiver) Respond(status int, header http.Header) { r.RespondBody(status, header, "") }

// RespondBody is Respond with a response body.
func (r *Receiver) RespondBody(status int, header http.Header, body string) {
	if status < 200 || status > 599 {
		panic(fmt.Sprintf("webhooktest: Respond with status %d, want 200–599", status))
	}
	r.set(answer{kind: respond, status: status, header: header.Clone(), body: body})
}

// Hang makes the receiver read each following request's body and never
// answer: the request ends when the client gives up, or when the receiver
// shuts down, which closes the connection without an answer. Probes hang
// as well.
func (r *Receiver) Hang() { r.set(answer{kind: hang}) }

// Drop makes the receiver read each following request's body, write the
// start of a response (the status line and some headers) and close the
// connection. The request is not accepted. Probes are dropped as well.
func (r *Receiver) Drop() { r.set(answer{kind: drop}) }

// RespondProbe makes the receiver answer the following probes with method
// (http.MethodHead or http.MethodGet; "" for both) with status and header:
// 503, 429 with Retry-After, 405 to HEAD with Allow: GET, and so on. A GET
// is answered with the status text as its body. Status 0 goes back to 200
// OK. RespondProbe panics on another method or a status outside 200–599.
// Respond, Accept and Set leave probes alone; Hang and Drop do not.
func (r *Receiver) RespondProbe(method string, status int, header http.Header) {
	if status != 0 && (status < 200 || status > 599) {
		panic(fmt.Sprintf("webhooktest: RespondProbe with status %d, want 0 or 200–599", status))
	}
	var methods []string
	switch method {
	case "":
		methods = []string{http.MethodHead, http.MethodGet}
	case http.MethodHead, http.MethodGet:
		methods = []string{method}
	default:
		panic(fmt.Sprintf("webhooktest: RespondProbe with method %q, want HEAD, GET or \"\"", method))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range methods {
		if status == 0 {
			delete(r.probe, m)
			continue
		}
		r.probe[m] = answer{kind: respond, status: status, header: header.Clone()}
	}
}

// Accept makes the receiver acknowledge every following verified request
// with 204 No Content. A webhook-id seen for the first time is accepted;
// a repeated one is acknowledged all the same but not accepted again.
func (r *Receiver) Accept() { r.Respond(http.StatusNoContent, nil) }

// Set makes the receiver answer as b says, for the conformance suite of
// package channeltest: Reject is 422, Unavailable 503, RateLimited 429
// with Retry-After in whole seconds.
func (r *Receiver) Set(b channeltest.Behavior) {
	switch b.Kind {
	case channeltest.Accept:
		r.Accept()
	case channeltest.Reject:
		r.RespondBody(http.StatusUnprocessableEntity, nil, `{"error":"unknown event type"}`)
	case channeltest.Unavailable:
		r.RespondBody(http.StatusServiceUnavailable, nil, "maintenance")
	case channeltest.RateLimited:
		h := http.Header{"Retry-After": {strconv.Itoa(int(b.RetryAfter / time.Second))}}
		r.RespondBody(http.StatusTooManyRequests, h, "slow down")
	case channeltest.Hang:
		r.Hang()
	case channeltest.Drop:
		r.Drop()
	default:
		panic(fmt.Sprintf("webhooktest: unknown behavior %v", b.Kind))
	}
}

// Waiting returns a channel that receives a value when a request starts
// hanging. It keeps one value; a request that starts hanging while one is
// pending adds none.
func (r *Receiver) Waiting() <-chan struct{} { return r.waiting }

// OnAccept sets a hook called with every request accepted from then on
// (not with repeats), after it has been recorded and before the answer is
// written, so that a test can count requests or stop the sender in the
// window in which the outcome is unknown to it. It runs on the request's
// goroutine, possibly on several at once; the answer waits for it. nil
// removes the hook.
func (r *Receiver) OnAccept(f func(*Request)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onAccept = f
}

// Requests returns every request the receiver got, verified or not, in
// the order their bodies had been read.
func (r *Receiver) Requests() []*Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Request(nil), r.requests...)
}

// Accepted returns the webhook-ids accepted so far, each once, in the
// order they were first accepted.
func (r *Receiver) Accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.accepted...)
}

// Probes returns every HEAD and GET request the receiver got, in order.
func (r *Receiver) Probes() []*Probe {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Probe, len(r.probes))
	for i, p := range r.probes {
		c := *p
		out[i] = &c
	}
	return out
}

// Conns returns how many TCP connections clients have opened to the
// receiver.
func (r *Receiver) Conns() int { return int(r.conns.Load()) }

func (r *Receiver) set(a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = a
}

// ServeHTTP handles one webhook request or probe.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodHead || req.Method == http.MethodGet {
		r.serveProbe(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the sender went away
	}
	q := &Request{
		RemoteIP:  remoteIP(req.RemoteAddr),
		Method:    req.Method,
		Path:      req.URL.Path,
		Header:    req.Header.Clone(),
		ID:        req.Header.Get(webhook.HeaderID),
		Timestamp: req.Header.Get(webhook.HeaderTimestamp),
		Body:      body,
	}
	q.VerifyErr = webhook.Verify(r.secret, req.Header, body, r.clock.Now(), Tolerance)
	q.Verified = q.VerifyErr == nil
	var payload map[string]any
	if json.Unmarshal(body, &payload) == nil {
		q.Payload = payload
	}

	a, hook := r.record(q)
	switch {
	case !q.Verified:
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	case a.kind == hang:
		r.hang(req)
		return
	case a.kind == drop:
		dropResponse(w)
		return
	}
	if hook != nil {
		hook(q)
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

// serveProbe answers a HEAD or GET request.
func (r *Receiver) serveProbe(w http.ResponseWriter, req *http.Request) {
	p := &Probe{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone()}
	r.mu.Lock()
	a := r.answer
	if a.kind == respond {
		a = answer{kind: respond, status: http.StatusOK}
		if pa, ok := r.probe[req.Method]; ok {
			a = pa
		}
		p.Answer = a.status
	}
	r.probes = append(r.probes, p)
	r.mu.Unlock()
	switch a.kind {
	case hang:
		r.hang(req)
		return
	case drop:
		dropResponse(w)
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, http.StatusText(a.status)) // not sent for HEAD
}

// hang holds a request without an answer until the client gives up or the
// receiver shuts down.
func (r *Receiver) hang(req *http.Request) {
	select {
	case r.waiting <- struct{}{}:
	default:
	}
	select {
	case <-req.Context().Done():
	case <-r.release:
		// Returning would send an empty 200; no answer is the hang's end.
		panic(http.ErrAbortHandler)
	}
}

// record appends q to the requests, accepting it if the answer
// acknowledges it, and returns the answer and the hook to call.
func (r *Receiver) record(q *Request) (answer, func(*Request)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.answer
	var hook func(*Request)
	if q.Verified && a.kind == respond && a.status < 300 {
		if r.seen[q.ID] {
			q.Duplicate = true
		} else {
			r.seen[q.ID] = true
			r.accepted = append(r.accepted, q.ID)
			hook = r.onAccept
		}
	}
	r.requests = append(r.requests, q)
	return a, hook
}

// dropResponse writes the status line and some headers of a response and
// closes the connection before the header ends.
func dropResponse(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n")
	_ = buf.Flush()
}

// remoteIP returns the IP of a "host:port" address.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
