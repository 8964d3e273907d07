package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// TestBucket: limit tokens at once, then one every window/limit.
func TestBucket(t *testing.T) {
	l := New(5, 10*time.Minute, 10)
	for i := range 5 {
		if _, ok := l.Allow("a", t0); !ok {
			t.Fatalf("token %d refused", i+1)
		}
	}
	wait, ok := l.Allow("a", t0)
	if ok || wait != 2*time.Minute {
		t.Fatalf("sixth: ok %v, wait %v; want a refusal for 2m", ok, wait)
	}
	if _, ok := l.Allow("b", t0); !ok {
		t.Error("another key was refused")
	}
	if _, ok := l.Allow("a", t0.Add(2*time.Minute)); !ok {
		t.Error("no token after it refilled")
	}
}

// TestBound fills the limiter past its bound with new keys: it keeps no
// more buckets than the bound, and a key at its limit stays limited while
// it is among the recent ones.
func TestBound(t *testing.T) {
	const bound = 100
	l := New(2, time.Minute, bound)
	now := t0
	fill := func(prefix string, n int) {
		for i := range n {
			now = now.Add(time.Millisecond)
			l.Allow(fmt.Sprintf("%s.%d.%d", prefix, i/256, i%256), now)
		}
	}
	fill("10.0", bound-1)
	for range 2 {
		l.Allow("192.0.2.1", now)
	}
	if _, ok := l.Allow("192.0.2.1", now); ok {
		t.Fatal("third within the window allowed")
	}
	fill("10.1", bound/2)
	if _, ok := l.Allow("192.0.2.1", now); ok {
		t.Error("a key at its limit was let through after the limiter filled up")
	}
	if n := l.Len(); n > bound {
		t.Errorf("limiter keeps %d buckets, bound %d", n, bound)
	}
}

// TestBackoff: once the bucket is empty, every further token taken
// doubles the wait, up to the window; a quiet window starts over.
func TestBackoff(t *testing.T) {
	l := NewBackoff(5, 15*time.Minute, 10)
	now := t0
	for range 5 {
		if _, ok := l.Peek("anna", now); !ok {
			t.Fatal("refused before the limit")
		}
		l.Take("anna", now)
	}
	for _, want := range []time.Duration{3 * time.Minute, 6 * time.Minute, 12 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		wait, ok := l.Peek("anna", now)
		if ok || wait != want {
			t.Fatalf("ok %v, wait %v; want a wait of %v", ok, wait, want)
		}
		if _, ok := l.Peek("anna", now.Add(want-time.Second)); ok {
			t.Fatalf("allowed a second before the wait of %v is over", want)
		}
		now = now.Add(want)
		if _, ok := l.Peek("anna", now); !ok {
			t.Fatalf("refused after the wait of %v", want)
		}
		l.Take("anna", now)
	}
	now = now.Add(time.Hour)
	for i := range 5 {
		if _, ok := l.Peek("anna", now); !ok {
			t.Fatalf("token %d refused after the bucket filled up again", i+1)
		}
		l.Take("anna", now)
	}
	l.Forget("anna")
	if _, ok := l.Peek("anna", now); !ok {
		t.Error("refused after Forget")
	}
}
