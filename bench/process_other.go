//go:build !unix

package bench

// processCPU is not available here.
func processCPU() (cpuTime, error) { return cpuTime{}, errUnsupported }
