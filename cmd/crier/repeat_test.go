package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestPublishAtRepeat: publishing the same publish_at file three times
// makes one schedule and two refusals that name it; --again makes a second
// one; another time or another text is no repeat; a request repeated with
// its idempotency key gets its first answer, not a refusal.
func TestPublishAtRepeat(t *testing.T) {
	srv := mustServeClock(t, "../../config.example.yaml", &shiftClock{})
	cli := func(lang string, args ...string) (int, string, string) {
		t.Helper()
		env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": lang}
		return run(t, env, append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	dir := t.TempDir()
	write := func(name string, at time.Time, title string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		text := "---\ntitle: \"" + title + "\"\ntowns: [soest]\nchannels: [radio]\npublish_at: " +
			at.In(berlin).Format("2006-01-02 15:04") + "\n---\nDas Bürgerbüro öffnet um {{time}} Uhr.\n"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	at := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	notice := write("notice.md", at, "Bürgerbüro öffnet später")

	code, out, errOut := cli("", "publish", notice)
	if code != exitOK || !strings.HasPrefix(out, "Geplant: ") {
		t.Fatalf("first publish: exit %d\n%s%s", code, out, errOut)
	}
	first := scheduledID(t, out)
	for i := range 2 {
		code, out, errOut := cli("", "publish", notice)
		if code != exitInvalid || out != "" ||
			!strings.Contains(errOut, "Nicht geplant: Zeitplan "+first+" veröffentlicht schon dieselbe Meldung zur selben Zeit") ||
			!strings.Contains(errOut, "mit --again wiederholen") {
			t.Errorf("repeat %d: exit %d, want %d\n%s%s", i+1, code, exitInvalid, out, errOut)
		}
	}
	if n := pendingSchedules(t, srv); n != 1 {
		t.Fatalf("%d schedules after three runs of one file, want 1", n)
	}
	code, _, errOut = cli("en", "publish", notice)
	if code != exitInvalid || !strings.Contains(errOut, "Not scheduled: schedule "+first+" already publishes the same notice") ||
		!strings.Contains(errOut, "repeat the command with --again") {
		t.Errorf("repeat in English: exit %d\n%s", code, errOut)
	}

	code, out, errOut = cli("", "publish", notice, "--again")
	if code != exitOK || !strings.HasPrefix(out, "Geplant: ") || scheduledID(t, out) == first {
		t.Errorf("publish --again: exit %d\n%s%s", code, out, errOut)
	}
	for name, path := range map[string]string{
		"another time": write("later.md", at.Add(time.Hour), "Bürgerbüro öffnet später"),
		"another text": write("other.md", at, "Bürgerbüro bleibt zu"),
	} {
		if code, out, errOut := cli("", "publish", path); code != exitOK {
			t.Errorf("%s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	if n := pendingSchedules(t, srv); n != 4 {
		t.Errorf("%d schedules, want 4", n)
	}

	// The same request again, as after a lost answer: its first result.
	code, out, errOut = cli("", "publish", write("keyed.md", at.Add(2*time.Hour), "Mit Schlüssel"), "--idempotency-key", "k-1")
	if code != exitOK {
		t.Fatalf("keyed publish: exit %d\n%s%s", code, out, errOut)
	}
	keyed := scheduledID(t, out)
	code, out, errOut = cli("", "publish", filepath.Join(dir, "keyed.md"), "--idempotency-key", "k-1")
	if code != exitOK || scheduledID(t, out) != keyed {
		t.Errorf("keyed publish repeated: exit %d, want the schedule %s\n%s%s", code, keyed, out, errOut)
	}

	// schedule add refuses the same repeat.
	code, _, errOut = cli("", "schedule", "add", notice)
	if code != exitInvalid || !strings.Contains(errOut, "Nicht geplant: Zeitplan "+first) {
		t.Errorf("schedule add of the same file: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := cli("", "schedule", "add", notice, "--again"); code != exitOK {
		t.Errorf("schedule add --again: exit %d\n%s%s", code, out, errOut)
	}
}

// pendingSchedules counts the active and paused schedules of srv.
func pendingSchedules(t *testing.T, srv *served) int {
	t.Helper()
	ss, err := srv.Client.Schedules(context.Background(), crier.ScheduleActive)
	if err != nil {
		t.Fatal(err)
	}
	return len(ss)
}
