package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	current := func() (int, int64) {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p, debug.SetMemoryLimit(-1) // a negative limit only reads it
	}
	for _, tt := range []struct {
		env     map[string]string
		percent int
		limit   int64
		name    string
	}{
		{map[string]string{"GOGC": "150"}, 100, math.MaxInt64, "GOGC set: nothing changes"},
		{map[string]string{"GOMEMLIMIT": "1GiB"}, 100, math.MaxInt64, "GOMEMLIMIT set: nothing changes"},
		{map[string]string{}, gcPercent, memoryLimit, "neither set: crier's settings"},
	} {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		tuneGC(func(k string) string { return tt.env[k] })
		if p, l := current(); p != tt.percent || l != tt.limit {
			t.Errorf("%s: GOGC %d, limit %d; want %d, %d", tt.name, p, l, tt.percent, tt.limit)
		}
	}
}
