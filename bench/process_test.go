package bench

import (
	"errors"
	"testing"
)

func TestProcessNumbers(t *testing.T) {
	before, err := processCPU()
	if errors.Is(err, errUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 20_000_000 {
		x += i % 7
	}
	after, err := processCPU()
	if err != nil {
		t.Fatal(err)
	}
	if d := after.sub(before); d.total() <= 0 || x == 0 {
		t.Errorf("CPU time did not grow: %+v", d)
	}
	peak, err := peakRSS()
	if errors.Is(err, errUnsupported) {
		return
	}
	if err != nil || peak < 1<<20 {
		t.Errorf("peak RSS %d, %v; want a few MB at least", peak, err)
	}
}
