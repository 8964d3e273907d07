package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// migrateTo applies the migrations up to version to a new database at path.
func migrateTo(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := listMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version <= version {
			if err := apply(ctx, db, m); err != nil {
				t.Fatalf("migrate %s: %v", m.name, err)
			}
		}
	}
	return db
}

// TestMigrateQueueRows checks migrations 7 and 8 on a database with
// deliveries and attempts: each delivery's latest attempt moves onto its
// row, unless the row no longer shows it, Attempts lists the same attempts
// before and after, and Counts the same numbers.
func TestMigrateQueueRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	old := migrateTo(t, path, 6)
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).UnixNano()
	sec := int64(time.Second)
	for _, q := range []string{
		`INSERT INTO announcements (id, revision, title, body, towns, channels, category, urgency, severity,
			certainty, mode, created_at) VALUES ('ann-1', 1, 't', 'b', '["soest"]', '["radio"]', 'Other', 'Unknown',
			'Unknown', 'Unknown', 'actual', 0)`,
		`INSERT INTO messages (id, announcement, revision, town, channel, type, content)
			VALUES (1, 'ann-1', 1, 'soest', 'radio', 'webhook', '{}')`,
		// 1: sent at the second attempt; 2: never tried; 3: failed, then
		// canceled by an update, whose text replaced the error; 4: failed,
		// then retried by a person (attempts and error cleared).
		`INSERT INTO deliveries (id, key, announcement, revision, town, channel, type, message_id, state, attempts,
			endpoint, error_code, error, remote_id, url, created_at, updated_at) VALUES
			(1, 'k1', 'ann-1', 1, 'soest', 'radio', 'webhook', 1, 'sent', 2, 'radio-backup', '', '', 'n-1', 'https://radio.example/n-1', 0, 0),
			(2, 'k2', 'ann-1', 1, 'soest', 'radio', 'webhook', 1, 'queued', 0, '', '', '', '', '', 0, 0),
			(3, 'k3', 'ann-1', 1, 'soest', 'radio', 'webhook', 1, 'canceled', 1, 'radio-primary', '', 'replaced by revision 2 before it was sent', '', '', 0, 0),
			(4, 'k4', 'ann-1', 1, 'soest', 'radio', 'webhook', 1, 'queued', 0, 'radio-primary', '', '', '', '', 0, 0)`,
		`INSERT INTO attempts (id, delivery, started, finished, endpoint, network, error_code, error, remote_id, url) VALUES
			(1, 1, ?1, ?1 + ?2, 'radio-primary', 'default', 'transient', '503 Service Unavailable', '', ''),
			(2, 3, ?1, ?1 + ?2, 'radio-primary', 'default', 'transient', '502 Bad Gateway', '', ''),
			(3, 1, ?1 + 60 * ?2, ?1 + 61 * ?2, 'radio-backup', 'lte', '', '', 'n-1', 'https://radio.example/n-1'),
			(4, 4, ?1, ?1 + ?2, 'radio-primary', 'default', 'permanent', '422 Unprocessable Entity', '', '')`,
	} {
		if _, err := old.ExecContext(ctx, q, t0, sec); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := func(s int64) time.Time { return time.Unix(0, t0+s*sec).UTC() }
	want := map[int64][]*crier.Attempt{
		1: {
			{Delivery: 1, Started: at(0), Finished: at(1), Endpoint: "radio-primary", Network: "default",
				ErrorCode: "transient", Error: "503 Service Unavailable"},
			{Delivery: 1, Started: at(60), Finished: at(61), Endpoint: "radio-backup", Network: "lte",
				RemoteID: "n-1", URL: "https://radio.example/n-1"},
		},
		2: nil,
		3: {{Delivery: 3, Started: at(0), Finished: at(1), Endpoint: "radio-primary", Network: "default",
			ErrorCode: "transient", Error: "502 Bad Gateway"}},
		4: {{Delivery: 4, Started: at(0), Finished: at(1), Endpoint: "radio-primary", Network: "default",
			ErrorCode: "permanent", Error: "422 Unprocessable Entity"}},
	}
	for id, w := range want {
		got, err := db.Attempts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(w, got); d != "" {
			t.Errorf("attempts of delivery %d (-want +got):\n%s", id, d)
		}
	}
	// Only delivery 1's latest attempt moved onto its row.
	var moved []int64
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM deliveries WHERE started != 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	if moved, err = collect(rows, func(s scanner) (id int64, err error) { return id, s.Scan(&id) }); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{1}, moved); d != "" {
		t.Errorf("rows holding their latest attempt (-want +got):\n%s", d)
	}
	counts, err := db.Counts(ctx, "ann-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]crier.Count{
		{Town: "soest", Channel: "radio", State: crier.StateCanceled, N: 1},
		{Town: "soest", Channel: "radio", State: crier.StateQueued, N: 2},
		{Town: "soest", Channel: "radio", State: crier.StateSent, N: 1},
	}, counts); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
}
