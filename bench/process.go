package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// errUnsupported says that this system does not tell a number a row needs.
var errUnsupported = errors.New("not available on " + runtime.GOOS)

// peakRSS returns the process's peak resident set size so far, VmHWM of
// /proc/self/status, in bytes. It cannot be reset: it covers the whole
// life of the process, which is why the rows that report it run in a
// process of their own.
func peakRSS() (int64, error) {
	return procStatus("/proc/self/status", "VmHWM")
}

// procStatus returns a "kB" field of a /proc status file in bytes.
func procStatus(path, field string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, errUnsupported
		}
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: %s is %q", path, field, value)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %w", path, field, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s has no %s", path, field)
}

// cpuTime is the CPU time a process has used.
type cpuTime struct{ user, sys time.Duration }

func (c cpuTime) sub(d cpuTime) cpuTime { return cpuTime{c.user - d.user, c.sys - d.sys} }
func (c cpuTime) total() time.Duration  { return c.user + c.sys }
