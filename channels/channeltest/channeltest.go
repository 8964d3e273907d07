// Package channeltest checks that a crier.Channel keeps the promises of the
// Channel interface: it delivers, it classifies every failure as transient,
// permanent or unknown outcome, it honours deadlines and cancellation, and
// it hands the message's idempotency key to the receiver.
//
// A channel's own tests call Run with a Harness that connects the channel to
// a fake of its remote end (an httptest server, an in-process SMTP server,
// an in-memory store) whose answers the suite controls through Remote.
package channeltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// Kind says how a fake remote answers.
type Kind int

// Kinds of answers.
const (
	Accept      Kind = iota // accept and acknowledge the message
	Reject                  // refuse permanently (HTTP 400/422, SMTP 550)
	Unavailable             // refuse transiently (HTTP 503, SMTP 451)
	RateLimited             // HTTP 429 with Retry-After
	Hang                    // read the whole request, then never answer
	Drop                    // read the whole request, then close the connection without an answer
)

// String returns the kind's name, as used for subtest names.
func (k Kind) String() string {
	switch k {
	case Accept:
		return "Accept"
	case Reject:
		return "Reject"
	case Unavailable:
		return "Unavailable"
	case RateLimited:
		return "RateLimited"
	case Hang:
		return "Hang"
	case Drop:
		return "Drop"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Behavior tells a fake remote how to answer the following sends.
type Behavior struct {
	Kind       Kind
	RetryAfter time.Duration // with RateLimited
}

// Remote is the fake remote end of a channel under test.
type Remote interface {
	// Set makes the remote answer all following sends with b.
	Set(b Behavior)
	// Accepted returns the idempotency keys (crier.Message.Key) of the
	// messages accepted, in order.
	Accepted() []string
}

// Harness describes the channel under test.
type Harness struct {
	// New returns a fresh channel connected to a fresh remote; it registers
	// cleanup with t.
	New func(t *testing.T) (crier.Channel, Remote)
	// Message returns a valid message for this channel; the suite sets Key.
	Message func() *crier.Message
	// Deduplicates: the receiver drops repeated keys, so ambiguous outcomes
	// are Unknown with Retryable=true.
	Deduplicates bool
	// RateLimits: the remote can answer RateLimited and the channel must
	// report RetryAfter.
	RateLimits bool
	// Skip lists kinds of answers the remote cannot give, e.g. Drop for a
	// local sink that has no connection to lose. Their subtests are skipped.
	// Accept cannot be skipped.
	Skip []Kind
}

// Timing of the Hang subtest: the context deadline of a send to a remote
// that never answers, and the time within which that send must return.
const (
	hangDeadline = 200 * time.Millisecond
	hangBound    = 2 * time.Second
)

// Run runs the conformance tests as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Message == nil {
		t.Fatal("channeltest: Harness.New and Harness.Message are required")
	}
	s := &suite{h: h}
	t.Run("Accept", s.accept)
	t.Run("Reject", s.whenAnswers(Reject, s.reject))
	t.Run("Unavailable", s.whenAnswers(Unavailable, s.unavailable))
	t.Run("RateLimited", s.whenAnswers(RateLimited, s.rateLimited))
	t.Run("Hang", s.whenAnswers(Hang, s.hang))
	t.Run("Drop", s.whenAnswers(Drop, s.drop))
	t.Run("CanceledContext", s.canceled)
	t.Run("KeyPropagation", s.keys)
	t.Run("SameKeyTwice", s.sameKey)
}

type suite struct {
	h Harness
}

// whenAnswers skips f when the remote cannot answer with k.
func (s *suite) whenAnswers(k Kind, f func(*testing.T)) func(*testing.T) {
	return func(t *testing.T) {
		if k == RateLimited && !s.h.RateLimits {
			t.Skip("the remote does not rate-limit")
		}
		if k != Accept && slices.Contains(s.h.Skip, k) {
			t.Skipf("the harness says the remote cannot answer %v", k)
		}
		f(t)
	}
}

// message returns the harness's message with the given key.
func (s *suite) message(t *testing.T, key string) *crier.Message {
	t.Helper()
	m := s.h.Message()
	if m == nil {
		t.Fatal("Harness.Message returned nil")
	}
	m.Key = key
	return m
}

// key returns a deterministic idempotency key unique within the suite.
func key(name string, n int) string {
	return crier.DeliveryKey("channeltest-"+name, n, "soest", "conformance", 0)
}

// send connects a fresh channel, sets the remote's behaviour and sends one
// message with key.
func (s *suite) send(t *testing.T, b Behavior, key string) (Remote, *crier.Receipt, error) {
	t.Helper()
	ch, r := s.h.New(t)
	r.Set(b)
	rc, err := ch.Send(t.Context(), s.message(t, key))
	return r, rc, err
}

func (s *suite) accept(t *testing.T) {
	k := key("accept", 1)
	r, rc, err := s.send(t, Behavior{Kind: Accept}, k)
	if err != nil {
		t.Fatalf("Send to an accepting remote: %v (code %s)", err, Code(err))
	}
	if rc == nil {
		t.Error("Send returned a nil receipt with a nil error")
	}
	WantAccepted(t, r, k)
}

func (s *suite) reject(t *testing.T) {
	r, _, err := s.send(t, Behavior{Kind: Reject}, key("reject", 1))
	WantCode(t, err, crier.EPERMANENT)
	WantAccepted(t, r)
}

func (s *suite) unavailable(t *testing.T) {
	r, _, err := s.send(t, Behavior{Kind: Unavailable}, key("unavailable", 1))
	WantCode(t, err, crier.ETRANSIENT)
	WantAccepted(t, r)
}

func (s *suite) rateLimited(t *testing.T) {
	const after = 37 * time.Second
	r, _, err := s.send(t, Behavior{Kind: RateLimited, RetryAfter: after}, key("ratelimited", 1))
	e := WantCode(t, err, crier.ETRANSIENT)
	if e != nil && (e.RetryAfter < after-time.Second || e.RetryAfter > after+time.Second) {
		t.Errorf("RetryAfter = %v, want %v (within a second)", e.RetryAfter, after)
	}
	WantAccepted(t, r)
}

func (s *suite) hang(t *testing.T) {
	ch, r := s.h.New(t)
	r.Set(Behavior{Kind: Hang})
	ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
	defer cancel()
	start := time.Now()
	_, err := ch.Send(ctx, s.message(t, key("hang", 1)))
	if took := time.Since(start); took > hangBound {
		t.Errorf("Send to a remote that never answers took %v with a %v deadline, want under %v", took, hangDeadline, hangBound)
	}
	s.wantUnknown(t, err)
}

func (s *suite) drop(t *testing.T) {
	_, _, err := s.send(t, Behavior{Kind: Drop}, key("drop", 1))
	s.wantUnknown(t, err)
}

// wantUnknown checks an ambiguous outcome: retryable exactly when the
// receiver deduplicates.
func (s *suite) wantUnknown(t *testing.T, err error) {
	t.Helper()
	e := WantCode(t, err, crier.EUNKNOWN)
	if e != nil && e.Retryable != s.h.Deduplicates {
		t.Errorf("Retryable = %v, want %v (the receiver deduplicates: %v)", e.Retryable, s.h.Deduplicates, s.h.Deduplicates)
	}
}

func (s *suite) canceled(t *testing.T) {
	ch, r := s.h.New(t)
	r.Set(Behavior{Kind: Accept})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ch.Send(ctx, s.message(t, key("canceled", 1)))
	// Nothing can have been written with a context that was done before
	// Send started, so the outcome is known: transient.
	WantCode(t, err, crier.ETRANSIENT)
	WantAccepted(t, r)
}

func (s *suite) keys(t *testing.T) {
	ch, r := s.h.New(t)
	r.Set(Behavior{Kind: Accept})
	k1, k2 := key("keys", 1), key("keys", 2)
	for _, k := range []string{k1, k2} {
		if _, err := ch.Send(t.Context(), s.message(t, k)); err != nil {
			t.Fatalf("Send %s: %v (code %s)", k, err, Code(err))
		}
	}
	WantAccepted(t, r, k1, k2)
}

func (s *suite) sameKey(t *testing.T) {
	ch, r := s.h.New(t)
	r.Set(Behavior{Kind: Accept})
	k := key("same", 1)
	for i := range 2 {
		if _, err := ch.Send(t.Context(), s.message(t, k)); err != nil {
			t.Fatalf("Send #%d of the same key: %v (code %s)", i+1, err, Code(err))
		}
	}
	// A deduplicating receiver may acknowledge the repeat without
	// accepting it again; either way it saw this key and no other.
	got := r.Accepted()
	if len(got) < 1 || len(got) > 2 {
		t.Fatalf("Accepted() = %q after sending %q twice, want it once or twice", got, k)
	}
	for _, g := range got {
		if g != k {
			t.Errorf("Accepted() = %q, want only %q", got, k)
			break
		}
	}
}

// Code returns the crier error code of err: "" for nil, the Code of the
// first *crier.Error in its chain, or "unclassified" for any other error.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *crier.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "unclassified"
}

// WantCode reports an error on tb unless err carries a *crier.Error with the
// given code, and returns that *crier.Error (nil when there is none).
func WantCode(tb testing.TB, err error, code string) *crier.Error {
	tb.Helper()
	if err == nil {
		tb.Errorf("err = nil, want a %s error", code)
		return nil
	}
	var e *crier.Error
	if !errors.As(err, &e) {
		tb.Errorf("err = %v (%T), want a *crier.Error with code %s", err, err, code)
		return nil
	}
	if e.Code != code {
		tb.Errorf("code = %s, want %s (err: %v)", e.Code, code, err)
	}
	return e
}

// WantAccepted reports an error on tb unless the remote accepted exactly
// keys, in order.
func WantAccepted(tb testing.TB, r Remote, keys ...string) {
	tb.Helper()
	got := r.Accepted()
	if !slices.Equal(got, keys) {
		tb.Errorf("Accepted() = %q, want %q", got, keys)
	}
}
