package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Machine describes where a report was measured.
type Machine struct {
	CPUs     int    `json:"cpus"`      // logical CPUs this process may use
	CPUModel string `json:"cpu_model"` // "" when the system does not say
	Memory   int64  `json:"memory"`    // bytes; 0 when the system does not say
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Go       string `json:"go"`
}

// describeMachine returns this machine's description.
func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version()}
	m.Memory, _ = procStatus("/proc/meminfo", "MemTotal")
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPUModel = strings.TrimSpace(value)
				break
			}
		}
		f.Close()
	}
	return m
}

// String is the machine in one line: "2 CPUs (AMD EPYC), 23.4 GB memory,
// linux/amd64, go1.26.8".
func (m Machine) String() string {
	s := fmt.Sprintf("%d CPUs", m.CPUs)
	if m.CPUModel != "" {
		s += " (" + m.CPUModel + ")"
	}
	if m.Memory > 0 {
		s += fmt.Sprintf(", %.1f GB memory", float64(m.Memory)/1e9)
	}
	return s + fmt.Sprintf(", %s/%s, %s", m.OS, m.Arch, m.Go)
}
