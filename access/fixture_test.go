package access_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/password"
	"github.com/crierhq/crier/store/sqlite"
)

// clock stands still until a test moves it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// MustOpenStore opens a real database in a temporary directory.
func MustOpenStore(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "crier.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustAddUser stores a local user with the password pw.
func MustAddUser(tb testing.TB, db crier.AccountStore, name string, role crier.Role, pw string, towns ...string) {
	tb.Helper()
	hash, err := password.Hash(pw)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.CreateUser(context.Background(), &crier.User{Name: name, Role: role, Towns: towns, PasswordHash: hash, CreatedAt: newClock().Now()}); err != nil {
		tb.Fatal(err)
	}
}

func errorAs(err error, e **crier.Error) bool { return errors.As(err, e) }
