package schedule

import (
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// FuzzTiming parses cron specs as a schedule does. Parsing never panics
// (robfig/cron panics on some specs; parse recovers), normalizing a spec
// twice changes nothing, and an accepted spec's runs come after now, each
// at least a minute after the one before.
func FuzzTiming(f *testing.F) {
	for _, spec := range []string{
		"0 8 * * *",
		"CRON_TZ=Europe/Berlin 30 2 * * *",
		"TZ=UTC  0  8  *  *  1-5",
		"CRON_TZ=Europe/Soest 0 8 * * *",
		"CRON_TZ=Europe/Berlin",
		"0 25 * * *",
		"0 8 30 2 *",
		"@every 30s",
		"@every 1m30s",
		"@daily",
		"@hourly",
		"*/0 * * * *",
		"0-59/60 * * * *",
		"1-0 * * * *",
		"0 0 31 4 *",
		"? ? ? ? ?",
		"CRON_TZ= 0 8 * * *",
		"CRON_TZ=../../etc/passwd 0 8 * * *",
		"@every -1h",
		"@every 9999999999h",
		"0 8 * * MON-FRI,SUN",
		"0 8 L * *",
	} {
		f.Add(spec, int64(0))
	}
	base := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string, offset int64) {
		// Any time within a hundred years of base, to the second.
		now := base.Add(time.Duration(offset%(100*365*24*3600)) * time.Second)
		n := NormalizeSpec(spec)
		if again := NormalizeSpec(n); again != n {
			t.Fatalf("NormalizeSpec(%q) = %q, but NormalizeSpec of that is %q", spec, n, again)
		}
		sc := &crier.Schedule{Spec: spec}
		if spec == "" {
			sc.At = now.Add(time.Hour)
		}
		_ = sc.Validate(now)
		tm, err := newTiming(sc)
		if err != nil {
			return
		}
		prev := now
		for range 3 {
			next := tm.next(prev)
			if next.IsZero() {
				return
			}
			if !next.After(prev) {
				t.Fatalf("spec %q: after %s the next run is %s", spec, prev, next)
			}
			if prev != now && next.Sub(prev) < minInterval {
				t.Fatalf("spec %q: runs at %s and %s, less than %s apart", spec, prev, next, minInterval)
			}
			prev = next
		}
	})
}
