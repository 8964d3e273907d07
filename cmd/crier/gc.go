package main

import "runtime/debug"

// Garbage collector settings of crier's processes. crier's live heap is
// small (tens of megabytes while it sends to a million subscribers), and a
// broadcast allocates a little for every delivery, so by default the heap
// may grow to five times the live data between collections (GOGC=400)
// instead of twice, under a soft limit of 256 MiB past which the collector
// works harder instead. This saves about a tenth of the CPU time per mail
// (see Performance in the README) for some 15 MB more memory. GOGC or
// GOMEMLIMIT in the environment leave both as the Go runtime sets them.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

// tuneGC applies crier's collector settings unless the environment has
// its own.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
}
