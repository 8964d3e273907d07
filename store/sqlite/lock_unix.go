//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/crierhq/crier"
)

// lockFile opens path+".lock" and takes an exclusive, non-blocking flock
// on it. The lock belongs to the open file and goes away with the process,
// however it ends, so a stale lock file never blocks a restart.
func lockFile(path string) (*os.File, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, crier.Errorf(crier.ECONFLICT, "database %s is in use by another crier process", path)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return f, nil
}

// unlockFile releases the lock and closes the file. The file stays: removing
// it would let a third process lock a new file while a second one still
// holds the old one.
func unlockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return errors.Join(err, f.Close())
}
