package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks the settings that durability and concurrency rest on.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, c := range []struct {
		pool   *sql.DB
		pragma string
		want   string
	}{
		{db.write, "journal_mode", "wal"},
		{db.write, "synchronous", "2"}, // FULL
		{db.write, "foreign_keys", "1"},
		{db.write, "query_only", "0"},
		{db.write, "secure_delete", "2"}, // fast
		{db.read, "synchronous", "2"},
		{db.read, "foreign_keys", "1"},
		{db.read, "query_only", "1"},
	} {
		var got string
		if err := c.pool.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s = %s, want %s", c.pragma, got, c.want)
		}
	}
	if _, err := db.read.ExecContext(ctx, `DELETE FROM deliveries`); err == nil {
		t.Error("a read connection could write")
	}
	if s := db.write.Stats(); s.MaxOpenConnections != 1 {
		t.Errorf("writer pool allows %d connections, want 1", s.MaxOpenConnections)
	}
}
