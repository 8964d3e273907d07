package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
)

// shiftClock reads the real time plus an offset that the test moves
// forward. Its After fires in real time as a timer does, and also as soon
// as the offset is moved past it, so that moving the clock wakes the
// scheduler of an in-process serve.
type shiftClock struct {
	mu      sync.Mutex
	offset  time.Duration
	waiters []shiftWaiter
}

type shiftWaiter struct {
	at time.Time
	c  chan time.Time
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d and fires the waits that are due.
func (c *shiftClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	now := time.Now().Add(c.offset)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(now) {
			kept = append(kept, w)
			continue
		}
		select {
		case w.c <- now:
		default:
		}
	}
	c.waiters = kept
}

func (c *shiftClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, shiftWaiter{at: time.Now().Add(c.offset + d), c: ch})
	time.AfterFunc(d, func() {
		select {
		case ch <- time.Now():
		default:
		}
	})
	return ch
}

// mustServeClock is mustServe with the server's clock.
func mustServeClock(t *testing.T, config string, clock crier.Clock) *served {
	t.Helper()
	m, _, stderr := testMain(nil)
	m.Clock = clock
	return serveWith(t, m, stderr, config)
}

// waitPublished polls the server until the announcement id exists. The
// scheduler works in real time once the clock is moved; the poll bounds
// the wait.
func waitPublished(t *testing.T, c *server.Client, id string) *server.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.Status(context.Background(), id)
		if err == nil {
			return st
		}
		if crier.ErrorCode(err) != crier.ENOTFOUND || time.Now().After(deadline) {
			t.Fatalf("announcement %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRunFinished polls the server until a run of the schedule id has
// finished: the scheduler records the run after its announcement is
// committed, so the announcement can be seen a moment before the run.
func waitRunFinished(t *testing.T, c *server.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.Schedule(context.Background(), id)
		if err != nil {
			t.Fatalf("schedule %s: %v", id, err)
		}
		for _, r := range d.Runs {
			if r.State != crier.RunClaimed {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s: no run finished within 30s: %+v", id, d.Runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var idPattern = regexp.MustCompile(`: ([a-z0-9]+) – `)

// scheduledID returns the id in "Scheduled: ID – …" or "Schedule created: ID – …".
func scheduledID(t *testing.T, out string) string {
	t.Helper()
	m := idPattern.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no id in %q", out)
	}
	return m[1]
}

// TestScheduleCLI runs the schedule commands and publish with publish_at
// through Main against an in-process server, and moves the server's clock
// so that a one-off schedule fires.
func TestScheduleCLI(t *testing.T) {
	clock := &shiftClock{}
	srv := mustServeClock(t, "../../config.example.yaml", clock)
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, env, append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	dir := t.TempDir()
	write := func(name, publishAt, title string) string {
		t.Helper()
		front := "title: \"" + title + "\"\ntowns: [soest, werl]\nchannels: [radio]\n"
		if publishAt != "" {
			front += "publish_at: " + publishAt + "\n"
		}
		path := filepath.Join(dir, name)
		body := "Die {{.Town.Name}} ist am {{weekday}} ab {{time}} Uhr erreichbar: {{.Vars.phone}}\n"
		if err := os.WriteFile(path, []byte("---\n"+front+"---\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	berlinTime := func(t time.Time) string { return t.In(berlin).Format("2006-01-02 15:04") }

	// A recurring schedule: add, list, pause, resume, edit, remove.
	recurring := write("recurring.md", "", "IT-Ausfall: Stand {{date}}")
	until := clock.Now().AddDate(0, 1, 0).In(berlin).Format("2006-01-02")
	code, out, errOut := cli("schedule", "add", recurring, "--cron", "0 8 * * 1-5", "--until", until, "--expires-after", "4h")
	if code != exitOK || !strings.HasPrefix(out, "Schedule created: ") || !strings.Contains(out, "next run") {
		t.Fatalf("schedule add: exit %d\n%s%s", code, out, errOut)
	}
	id := scheduledID(t, out)
	code, out, _ = cli("schedule", "list")
	if code != exitOK || !strings.Contains(out, id) || !strings.Contains(out, "active") ||
		!strings.Contains(out, "0 8 * * 1-5 until "+until) || !strings.Contains(out, "IT-Ausfall: Stand {{date}}") {
		t.Errorf("schedule list: exit %d\n%s", code, out)
	}
	if code, out, _ := cli("schedule", "pause", id); code != exitOK || out != "Schedule "+id+" paused.\n" {
		t.Errorf("schedule pause: exit %d\n%s", code, out)
	}
	if _, out, _ := cli("schedule", "list"); !strings.Contains(out, "paused") {
		t.Errorf("list after pause:\n%s", out)
	}
	if code, out, _ := cli("schedule", "resume", id); code != exitOK || !strings.Contains(out, "resumed – next run") {
		t.Errorf("schedule resume: exit %d\n%s", code, out)
	}
	if code, out, errOut := cli("schedule", "edit", id, "--cron", "30 7 * * 1-5"); code != exitOK || !strings.Contains(out, "changed") {
		t.Errorf("schedule edit: exit %d\n%s%s", code, out, errOut)
	}
	if _, out, _ := cli("schedule", "show", id); !strings.Contains(out, "30 7 * * 1-5") || !strings.Contains(out, "active") {
		t.Errorf("schedule show after edit:\n%s", out)
	}
	if code, out, _ := cli("schedule", "remove", id); code != exitOK || out != "Schedule "+id+" removed: it will not fire again.\n" {
		t.Errorf("schedule remove: exit %d\n%s", code, out)
	}
	if _, out, _ := cli("schedule", "list"); out != "No schedules.\n" {
		t.Errorf("list after remove:\n%s", out)
	}
	if _, out, _ := cli("schedule", "list", "--all"); !strings.Contains(out, id) || !strings.Contains(out, "removed") {
		t.Errorf("list --all after remove:\n%s", out)
	}
	if code, _, errOut := cli("schedule", "pause", id); code != exitFailure || !strings.Contains(errOut, "was removed") {
		t.Errorf("pause of a removed schedule: exit %d\n%s", code, errOut)
	}

	// Refused with every problem, or as a wrong command line.
	code, _, errOut = cli("schedule", "add", recurring, "--cron", "0 25 * * *", "--until", "2020-01-01")
	if code != exitInvalid || !strings.Contains(errOut, "nothing was scheduled") ||
		!strings.Contains(errOut, "spec: end of range (25) above maximum (23)") || !strings.Contains(errOut, "until: ") {
		t.Errorf("schedule add with a bad spec: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := cli("schedule", "add", recurring); code != exitInvalid || !strings.Contains(errOut, "needs --cron") {
		t.Errorf("schedule add without a time: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := cli("schedule", "frobnicate"); code != exitInvalid || !strings.Contains(errOut, "unknown schedule sub-command") {
		t.Errorf("unknown sub-command: exit %d\n%s", code, errOut)
	}

	// publish_at: scheduled now, visible and editable, published at its time.
	at := clock.Now().Add(2 * time.Hour)
	code, out, errOut = cli("publish", write("once.md", berlinTime(at), "Bürgerbüro öffnet um {{time}} Uhr"))
	if code != exitOK || !strings.HasPrefix(out, "Scheduled: ") || !strings.Contains(out, "to be published on ") {
		t.Fatalf("publish with publish_at: exit %d\n%s%s", code, out, errOut)
	}
	once := scheduledID(t, out)
	code, out, errOut = cli("publish", write("canceled.md", berlinTime(at), "Wird entfernt"))
	if code != exitOK {
		t.Fatalf("second publish with publish_at: exit %d\n%s%s", code, out, errOut)
	}
	canceled := scheduledID(t, out)
	if _, out, _ := cli("schedule", "list"); !strings.Contains(out, once) || !strings.Contains(out, "once") || !strings.Contains(out, canceled) {
		t.Errorf("list shows the one-off schedules:\n%s", out)
	}
	if code, _, _ := cli("status", once); code != exitFailure {
		t.Errorf("status of a scheduled announcement before its time: exit %d, want 1 (not published yet)", code)
	}
	if code, out, errOut := cli("schedule", "edit", once, write("edited.md", "", "Bürgerbüro öffnet wieder um {{time}} Uhr")); code != exitOK {
		t.Errorf("schedule edit with a file: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli("schedule", "remove", canceled); code != exitOK {
		t.Errorf("remove: exit %d\n%s", code, errOut)
	}
	// crier cancel withdraws a notice that still waits for its publish_at.
	code, out, errOut = cli("publish", write("withdrawn.md", berlinTime(at), "Wird zurückgezogen"))
	if code != exitOK {
		t.Fatalf("third publish with publish_at: exit %d\n%s%s", code, out, errOut)
	}
	withdrawn := scheduledID(t, out)
	if code, out, errOut := cli("cancel", withdrawn); code != exitOK || out != "Scheduled notice "+withdrawn+" withdrawn: it will not be published.\n" {
		t.Errorf("cancel of a scheduled notice: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli("cancel", "nosuchid"); code != exitFailure || !strings.Contains(errOut, "not found") {
		t.Errorf("cancel of an unknown id: exit %d\n%s", code, errOut)
	}

	if code, _, errOut := cli("update", once, write("update.md", berlinTime(at), "Später")); code != exitInvalid ||
		!strings.Contains(errOut, "an update goes out at once: remove publish_at") {
		t.Errorf("update with publish_at: exit %d\n%s", code, errOut)
	}

	clock.Advance(2*time.Hour + time.Minute)
	st := waitPublished(t, srv.Client, once)
	wantTitle := "Bürgerbüro öffnet wieder um " + at.In(berlin).Format("15:04") + " Uhr"
	if st.Announcement.Title != wantTitle || st.Total != 2 {
		t.Errorf("published %q with %d deliveries, want %q with 2", st.Announcement.Title, st.Total, wantTitle)
	}
	waitRunFinished(t, srv.Client, once)
	code, out, _ = cli("schedule", "show", once)
	if code != exitOK || !strings.Contains(out, "done") || !strings.Contains(out, "published") || !strings.Contains(out, "2 deliveries") {
		t.Errorf("schedule show after the run: exit %d\n%s", code, out)
	}
	if _, err := srv.Client.Status(context.Background(), withdrawn); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("the withdrawn notice was published: %v", err)
	}
	if _, err := srv.Client.Status(context.Background(), canceled); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("the removed one-off was published: %v", err)
	}

	code, _, errOut = cli("publish", write("past.md", berlinTime(clock.Now().Add(-2*time.Hour)), "Zu spät"))
	if code != exitInvalid || !strings.Contains(errOut, "publish_at: ") || !strings.Contains(errOut, "is in the past") {
		t.Errorf("publish_at in the past: exit %d\n%s", code, errOut)
	}
}
