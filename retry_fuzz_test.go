package crier_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// FuzzParseRetryAfter reads Retry-After values as a hostile server might
// send them: the wait is never negative nor longer than MaxRetryAfter, and
// a plain number of seconds within that bound is taken as it is.
func FuzzParseRetryAfter(f *testing.F) {
	for _, v := range []string{
		"", "0", "120", " 7 ", "-5", "86401", "9223372036854775807", "99999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 26 Nov 2026 08:00:00 GMT",
		"Thursday, 26-Nov-26 08:00:00 GMT", "Thu Nov 26 08:00:00 2026",
		"Thu, 26 Nov 2026 08:00:00 +0100", "1e3", "0x10", "+10", "\x00",
	} {
		f.Add(v)
	}
	now := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := crier.ParseRetryAfter(v, now)
		if d < 0 || d > crier.MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %s, outside [0, %s]", v, d, crier.MaxRetryAfter)
		}
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 && secs <= int64(crier.MaxRetryAfter/time.Second) {
			if want := time.Duration(secs) * time.Second; d != want {
				t.Fatalf("ParseRetryAfter(%q) = %s, want %s", v, d, want)
			}
		}
	})
}
