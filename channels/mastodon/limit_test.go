package mastodon

import (
	"net/http"
	"testing"
	"time"
)

var t0 = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

func TestRequestWindow(t *testing.T) {
	l := newLimits()
	for i := range requestLimit {
		if _, wait, why := l.reserve(request, t0.Add(time.Duration(i)*time.Second/2)); wait != 0 {
			t.Fatalf("request %d: wait %v (%v), want none", i+1, wait, why)
		}
	}
	now := t0.Add(3 * time.Minute)
	_, wait, why := l.reserve(status, now)
	if want := t0.Add(requestWindow).Sub(now); wait != want || why == nil {
		t.Errorf("request %d: wait %v (%v), want %v", requestLimit+1, wait, why, want)
	}
	// The first request leaves the window at t0+5m.
	if _, wait, _ := l.reserve(request, t0.Add(requestWindow)); wait != 0 {
		t.Errorf("at t0+5m: wait %v, want none", wait)
	}
	if _, wait, _ := l.reserve(request, t0.Add(requestWindow)); wait != time.Second/2 {
		t.Errorf("at t0+5m, again: wait %v, want 500ms", wait)
	}
}

func TestStatusWindowRelease(t *testing.T) {
	l := newLimits()
	var release func()
	for i := range statusLimit {
		var wait time.Duration
		release, wait, _ = l.reserve(status, t0.Add(time.Duration(i)*2*time.Second))
		if wait != 0 {
			t.Fatalf("status %d: wait %v", i+1, wait)
		}
	}
	now := t0.Add(time.Hour)
	if _, wait, _ := l.reserve(status, now); wait != 2*time.Hour {
		t.Errorf("status %d: wait %v, want 2h", statusLimit+1, wait)
	}
	release() // the last post was refused: the instance did not count it
	if _, wait, why := l.reserve(status, now); wait != 0 {
		t.Errorf("after a release: wait %v (%v), want none", wait, why)
	}
	// Requests of other kinds are not held back by the status window.
	if _, wait, _ := l.reserve(deletion, now); wait != 0 {
		t.Errorf("deletion: wait %v, want none", wait)
	}
}

func TestObserve(t *testing.T) {
	l := newLimits()
	reset := t0.Add(4 * time.Minute)
	h := http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"2023-10-30T06:04:00.000000Z"}}
	l.observe(status, h, t0)
	if _, wait, _ := l.reserve(status, t0.Add(time.Minute)); wait != 3*time.Minute {
		t.Errorf("status after Remaining 0: wait %v, want 3m", wait)
	}
	if _, wait, _ := l.reserve(request, t0.Add(time.Minute)); wait != 0 {
		t.Errorf("other request after a status answer's Remaining 0: wait %v, want none", wait)
	}
	l.observe(request, h, t0)
	if _, wait, _ := l.reserve(deletion, t0.Add(time.Minute)); wait != 3*time.Minute {
		t.Errorf("deletion after a request answer's Remaining 0: wait %v, want 3m", wait)
	}
	if _, wait, _ := l.reserve(public, t0.Add(time.Minute)); wait != 0 {
		t.Errorf("public request: wait %v, want none", wait)
	}
	if _, wait, _ := l.reserve(status, reset); wait != 0 {
		t.Errorf("at the reset: wait %v, want none", wait)
	}
	l = newLimits()
	l.observe(status, h, t0)
	l.observe(status, http.Header{"X-Ratelimit-Remaining": {"12"}}, t0.Add(time.Minute))
	if _, wait, _ := l.reserve(status, t0.Add(time.Minute)); wait != 0 {
		t.Errorf("after Remaining 12: wait %v, want none", wait)
	}
	// Malformed or absent headers change nothing; an absurd reset is capped.
	l = newLimits()
	l.observe(status, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"soon"}}, t0)
	l.observe(status, http.Header{"X-Ratelimit-Remaining": {"many"}}, t0)
	if _, wait, _ := l.reserve(status, t0.Add(2*time.Minute)); wait != 0 {
		t.Errorf("after malformed headers: wait %v, want none", wait)
	}
	l.observe(status, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"2123-10-30T06:04:00Z"}}, t0)
	if _, wait, _ := l.reserve(status, t0); wait != maxWait {
		t.Errorf("after a reset a century ahead: wait %v, want %v", wait, maxWait)
	}
}
