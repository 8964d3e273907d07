package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Interface guards.
var (
	_ crier.AnnouncementStore = (*DB)(nil)
	_ crier.SubscriberStore   = (*DB)(nil)
	_ crier.CaptureStore      = (*DB)(nil)
	_ crier.Queue             = (*DB)(nil)
)

// readConns is the size of the read pool. WAL readers do not block the
// writer or each other; a handful covers the API and the UI.
const readConns = 4

// defaultLimit is the page size when a caller passes a limit of 0.
const defaultLimit = 1000

// DB is a crier database in one SQLite file. It is safe for concurrent use.
type DB struct {
	path  string
	lock  *os.File
	write *sql.DB // exactly one connection
	read  *sql.DB // query_only connections
	stmts *statements
	// messages caches decoded rendered messages, which never change.
	messages messageCache
	// mayWait is set once a delivery may be waiting for another: recording
	// outcomes then also releases the deliveries that waited for them. The
	// lock on the file makes this process the only writer.
	mayWait atomic.Bool
}

// Open opens or creates the database at path, takes the exclusive lock
// path+".lock" and applies pending migrations. It fails with a conflict
// error when another process holds the lock, and with an invalid error when
// path contains a '?'.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, crier.Errorf(crier.EINVALID, "database path %q is empty or contains '?'", path)
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, lock: lock}
	if err := privateFiles(path); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := db.open(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// OpenReadOnly opens the existing database at path for reading only,
// without its lock, so that it works next to a running crier serve: in WAL
// mode readers in other processes see every committed transaction and
// never block the writer. The reading methods work (Revisions, Pages, Page,
// Announcement, Messages...); every write fails. It fails with a
// not_found error when there is no database, and with a conflict error
// when its schema is not the one this crier writes (a newer or older
// crier migrated it, or none did yet): start crier serve once to migrate.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	return openUnlocked(ctx, path, "_query_only=1")
}

// SharedAccounts is a database opened without its lock (OpenShared): it
// offers the account methods only, since the other writes assume that the
// process holding the lock is the only writer.
type SharedAccounts interface {
	crier.AccountStore
	Close() error
}

// OpenShared opens the existing database at path for the account commands
// (users and API tokens), without its lock, so that they work next to a
// running crier serve, which sees a change with its next request. Writers
// wait for each other (busy timeout); it fails as OpenReadOnly does when
// there is no database or its schema is not the current one.
func OpenShared(ctx context.Context, path string) (SharedAccounts, error) {
	db, err := openUnlocked(ctx, path, "_txlock=immediate")
	if err != nil {
		return nil, err // not a nil *DB in an interface
	}
	return db, nil
}

// openUnlocked opens the existing database at path without its lock; its
// writer connection gets writer (query-only, or an immediate write lock).
func openUnlocked(ctx context.Context, path, writer string) (*DB, error) {
	if path == "" || strings.Contains(path, "?") {
		return nil, crier.Errorf(crier.EINVALID, "database path %q is empty or contains '?'", path)
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, crier.Errorf(crier.ENOTFOUND, "no database at %s", path)
		}
		return nil, fmt.Errorf("open database: %w", err)
	}
	db := &DB{path: path}
	var err error
	if db.read, err = openPool(ctx, path, readConns, "_query_only=1"); err != nil {
		return nil, fmt.Errorf("open readers: %w", err)
	}
	// Read-only, writing methods fail on query-only connections instead
	// of panicking on missing ones.
	if db.write, err = openPool(ctx, path, 1, writer); err != nil {
		return nil, errors.Join(fmt.Errorf("open database: %w", err), db.Close())
	}
	ms, err := listMigrations()
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	var current int
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, errors.Join(fmt.Errorf("read schema version of %s: %w", path, err), db.Close())
	}
	if want := ms[len(ms)-1].version; current != want {
		return nil, errors.Join(crier.Errorf(crier.ECONFLICT,
			"database %s has schema version %d, this crier reads version %d: start crier serve once to migrate it",
			path, current, want), db.Close())
	}
	if db.stmts, err = prepare(ctx, db.write); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// privateFiles creates the database file with mode 0600 when it does not
// exist, and takes group's and others' access from it and from its -wal
// and -shm files when they have more: they hold subscribers' addresses and
// the audit trail. SQLite gives the -wal and -shm files it creates the
// mode of the database file; left to itself it creates that one 0644.
// Windows has no such modes; there the files keep the directory's ACL.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("database file mode: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(name, perm&^0o077); err != nil {
				return fmt.Errorf("database file mode: %w", err)
			}
		}
	}
	return nil
}

func (db *DB) open(ctx context.Context) error {
	var err error
	// secure_delete=fast zeroes what a change removes from a page, at no
	// extra I/O, so that an erased address does not linger in the file.
	if db.write, err = openPool(ctx, db.path, 1, "_txlock=immediate", "_journal_mode=WAL",
		"_pragma=secure_delete(fast)"); err != nil {
		return fmt.Errorf("open writer: %w", err)
	}
	if err := migrate(ctx, db.write); err != nil {
		return err
	}
	if db.read, err = openPool(ctx, db.path, readConns, "_query_only=1"); err != nil {
		return fmt.Errorf("open readers: %w", err)
	}
	if db.stmts, err = prepare(ctx, db.write); err != nil {
		return err
	}
	var waiting bool
	if err := db.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'waiting')`).
		Scan(&waiting); err != nil {
		return fmt.Errorf("look for waiting deliveries: %w", err)
	}
	db.mayWait.Store(waiting)
	return nil
}

// openPool opens a pool of n connections to path, each with the pragmas
// every connection needs plus extra DSN parameters.
func openPool(ctx context.Context, path string, n int, extra ...string) (*sql.DB, error) {
	params := append([]string{
		"_busy_timeout=10000",
		"_foreign_keys=1",
		"_synchronous=FULL",
	}, extra...)
	pool, err := sql.Open("sqlite", path+"?"+strings.Join(params, "&"))
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(0)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Close closes the database and releases its lock. The last connection to
// close checkpoints the write-ahead log into the database file.
func (db *DB) Close() error {
	var errs []error
	if db.stmts != nil {
		errs = append(errs, db.stmts.close())
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if db.lock != nil {
		errs = append(errs, unlockFile(db.lock))
	}
	*db = DB{path: db.path}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of rolling back a transaction that the driver
// already ended, e.g. after a canceled context.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// nanos converts t to the stored form: unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos converts a stored time back; 0 is the zero time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// limitOr returns n, or defaultLimit when n is not positive.
func limitOr(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return n
}
