package newsroom

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/crierhq/crier"
)

// BenchmarkProgressEvent measures what one page costs per change of a
// watched announcement: its progress table for 14 towns × 5 channels
// made from the counts, encoded and framed as an event.
func BenchmarkProgressEvent(b *testing.B) {
	var (
		counts []crier.Count
		towns  []string
	)
	for i := range 14 {
		town := fmt.Sprintf("town-%02d", i)
		towns = append(towns, town)
		for j := range 5 {
			for _, st := range []crier.State{crier.StateQueued, crier.StateSent, crier.StateFailed} {
				counts = append(counts, crier.Count{Town: town, Channel: fmt.Sprintf("channel-%d", j), State: st, N: 1000 * (j + 1)})
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(newProgress("de", counts, towns, false))
		if err != nil {
			b.Fatal(err)
		}
		_ = sseEvent("progress", data)
	}
}
