//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// TestFileModes: the database and its -wal and -shm files are the user's
// only (0600), under the usual umask 022, whether Open creates the
// database or finds one an earlier crier left readable by others.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"new", func(*testing.T, string) {}},
		{"left open", func(t *testing.T, path string) {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crier.db")
			tc.setup(t, path)
			db := MustOpen(t, path)
			subs := []*crier.Subscriber{{Town: "soest", Email: "anna@soest.example", State: crier.SubscriberConfirmed}}
			if _, err := db.AddSubscribers(context.Background(), subs, t0); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
				fi, err := os.Stat(name)
				if err != nil {
					t.Errorf("%s: %v", filepath.Base(name), err)
					continue
				}
				if perm := fi.Mode().Perm(); perm != 0o600 {
					t.Errorf("%s has mode %04o, want 0600", filepath.Base(name), perm)
				}
			}
		})
	}
}
