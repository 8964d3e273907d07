package crier_test

import (
	"testing"
	"time"

	"github.com/crierhq/crier"
)

func TestBackoffDelay(t *testing.T) {
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	b := crier.Backoff{Base: 5 * time.Second, Max: time.Minute, Jitter: 0.2, Rand: fixed(0.5)}
	for _, tc := range []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 5 * time.Second},
		{2, 0, 10 * time.Second},
		{3, 0, 20 * time.Second},
		{4, 0, 40 * time.Second},
		{5, 0, time.Minute}, // capped
		{50, 0, time.Minute},
		{1, 2 * time.Minute, 2 * time.Minute}, // Retry-After wins when later
		{3, 3 * time.Second, 20 * time.Second},
	} {
		if got := b.Delay(tc.attempt, tc.retryAfter); got != tc.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tc.attempt, tc.retryAfter, got, tc.want)
		}
	}
	// Jitter spreads by ±20 %.
	b.Rand = fixed(0)
	if got := b.Delay(1, 0); got != 4*time.Second {
		t.Errorf("low jitter: got %v, want 4s", got)
	}
	b.Rand = fixed(0.999999)
	if got := b.Delay(1, 0); got < 5999*time.Millisecond || got >= 6*time.Second {
		t.Errorf("high jitter: got %v, want just under 6s", got)
	}
}

func TestDeliveryKey(t *testing.T) {
	if got, want := crier.DeliveryKey("abc", 2, "soest", "mail-soest", 42), "abc.2.soest.mail-soest.42"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := crier.DeliveryKey("abc", 1, "werl", "radio", 0), "abc.1.werl.radio"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                                 0,
		"120":                              2 * time.Minute,
		" 7 ":                              7 * time.Second,
		"-5":                               0,
		"nonsense":                         0,
		"999999999":                        crier.MaxRetryAfter,
		"Thu, 26 Nov 2026 09:01:30 GMT":    90 * time.Second,
		"Thursday, 26-Nov-26 09:00:10 GMT": 10 * time.Second,
		"Thu Nov 26 09:00:05 2026":         5 * time.Second,
		"Thu, 26 Nov 2026 08:00:00 GMT":    0, // in the past
		"Sat, 26 Dec 2026 09:00:00 GMT":    crier.MaxRetryAfter,
	} {
		if got := crier.ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
