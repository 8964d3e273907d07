package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// crashEnv names the database a re-executed test binary drains as the
// crashing worker.
const crashEnv = "CRIER_SQLITE_CRASH_DB"

// crashBatch is how many jobs the crashing worker claims at a time.
const crashBatch = 16

// TestCrash kills a worker process mid-drain and checks that every outcome
// it had committed survived, that its lock did not outlive it, and that
// recovery hands its in-flight jobs on so that none is lost.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const jobs = 3000
	MustSubscribe(t, db, []string{"werl"}, jobs)
	p := &crier.Plan{
		Announcement: &crier.Announcement{ID: "ann-1", Revision: 1, Towns: []string{"werl"}, Mode: crier.ModeActual},
		Messages:     []*crier.Message{{Town: "werl", Channel: "mail-werl", Type: "email", PerSubscriber: true, Text: "x"}},
	}
	if _, err := db.CreateAnnouncement(ctx, p, "", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	acked := runAndKill(t, path, jobs/3)

	db = MustOpen(t, path) // the dead worker's lock is gone
	for id := range acked {
		ds, err := db.Deliveries(ctx, crier.DeliveryFilter{AfterID: id - 1, Limit: 1})
		if err != nil || len(ds) != 1 || ds[0].ID != id || ds[0].State != crier.StateSent {
			t.Fatalf("delivery %d was acknowledged before the crash but is %+v (%v)", id, ds, err)
		}
	}
	inFlight, err := db.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reclaimed := 0
	for {
		js, err := db.Claim(ctx, nil, 100, t0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			break
		}
		outcomes := make([]*crier.Outcome, len(js))
		for i, j := range js {
			if j.Reclaimed {
				reclaimed++
			}
			outcomes[i] = &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent}
		}
		if _, err := db.Complete(ctx, outcomes, t0); err != nil {
			t.Fatal(err)
		}
	}
	if inFlight != crashBatch || reclaimed != crashBatch {
		t.Errorf("recovered %d leases and reclaimed %d jobs, want the %d the worker held", inFlight, reclaimed, crashBatch)
	}
	counts, err := db.Counts(ctx, "ann-1")
	if err != nil || len(counts) != 1 || counts[0].State != crier.StateSent || counts[0].N != jobs {
		t.Errorf("after the restart: counts = %+v, %v; want all %d sent", counts, err, jobs)
	}
}

// runAndKill starts the crash worker on path and lets it go on batch by
// batch until it has acknowledged at least n jobs; then it kills the worker
// while it holds its next claim, and returns the ids it acknowledged.
func runAndKill(t *testing.T, path string, n int) map[int64]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWorker$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	acked := make(map[int64]bool)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		line := lines.Text()
		switch {
		case line == "claimed" && len(acked) >= n:
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			return acked
		case line == "claimed":
			if _, err := io.WriteString(in, "go on\n"); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(line, "acked "):
			id, err := strconv.ParseInt(strings.TrimPrefix(line, "acked "), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			acked[id] = true
		}
	}
	t.Fatalf("the worker ended after acknowledging %d jobs, want at least %d", len(acked), n)
	return nil
}

// TestCrashWorker is the crashing worker: it drains the database named by
// crashEnv. After each claim it says "claimed" and waits for a line on its
// input; after each Complete it prints the acknowledged ids.
func TestCrashWorker(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	for {
		js, err := db.Claim(ctx, nil, crashBatch, t0, time.Minute)
		if err != nil || len(js) == 0 {
			t.Fatalf("Claim = %d jobs, %v", len(js), err)
		}
		fmt.Println("claimed")
		if !in.Scan() {
			t.Fatal("no go-ahead")
		}
		outcomes := make([]*crier.Outcome, len(js))
		for i, j := range js {
			outcomes[i] = &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent}
		}
		if _, err := db.Complete(ctx, outcomes, t0); err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			fmt.Printf("acked %d\n", j.Delivery.ID)
		}
	}
}
