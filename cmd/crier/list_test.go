package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListAndCaptures: crier list has a header and says what became of
// each notice (a canceled one must not look live), in German and English;
// crier captures shows the newest first, so -n 1 is the latest message.
func TestListAndCaptures(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	cli := func(lang string, args ...string) (int, string, string) {
		t.Helper()
		env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": lang}
		return run(t, env, append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	dir := t.TempDir()
	write := func(name, title, publishAt string) string {
		t.Helper()
		front := "title: \"" + title + "\"\ntowns: [soest]\nchannels: [radio]\n"
		if publishAt != "" {
			front += "publish_at: " + publishAt + "\n"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("---\n"+front+"---\nDie {{.Town.Name}} ist erreichbar: {{.Vars.phone}}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	publish := func(name, title string) string {
		t.Helper()
		code, out, errOut := cli("en", "publish", write(name, title, ""), "--wait")
		if code != exitOK {
			t.Fatalf("publish %s: exit %d\n%s%s", name, code, out, errOut)
		}
		return strings.Fields(strings.TrimPrefix(out, "Published: "))[0]
	}
	withdrawn := publish("first.md", "Rathaus geschlossen")
	live := publish("second.md", "Rathaus wieder offen")
	if code, out, errOut := cli("en", "cancel", withdrawn, "--wait"); code != exitOK {
		t.Fatalf("cancel: exit %d\n%s%s", code, out, errOut)
	}
	later := time.Now().Add(48 * time.Hour).In(berlin).Format("2006-01-02 15:04")
	code, out, errOut := cli("en", "publish", write("later.md", "Sprechstunde am Montag", later))
	if code != exitOK {
		t.Fatalf("publish with publish_at: exit %d\n%s%s", code, out, errOut)
	}
	planned := scheduledID(t, out)

	rows := func(out string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				m[f[0]] = line
			}
		}
		return m
	}
	for _, tc := range []struct {
		lang                                 string
		header                               []string
		canceled, published, scheduled, sent string
	}{
		{"en", []string{"ID", "Time", "Mode", "State", "Deliveries", "Author", "Title"}, "canceled", "published", "scheduled", "1/1 sent"},
		{"de", []string{"ID", "Zeit", "Modus", "Status", "Zustellungen", "Autor", "Titel"}, "aufgehoben", "veröffentlicht", "geplant", "1/1 gesendet"},
	} {
		code, out, errOut := cli(tc.lang, "list")
		if code != exitOK {
			t.Fatalf("list (%s): exit %d\n%s%s", tc.lang, code, out, errOut)
		}
		if got := strings.Fields(strings.SplitN(out, "\n", 2)[0]); strings.Join(got, " ") != strings.Join(tc.header, " ") {
			t.Errorf("list (%s) header %q, want %q", tc.lang, got, tc.header)
		}
		r := rows(out)
		if !strings.Contains(r[withdrawn], tc.canceled) || strings.Contains(r[withdrawn], tc.published) {
			t.Errorf("list (%s): the canceled notice reads %q", tc.lang, r[withdrawn])
		}
		if !strings.Contains(r[live], tc.published) || !strings.Contains(r[live], tc.sent) {
			t.Errorf("list (%s): the live notice reads %q", tc.lang, r[live])
		}
		if !strings.Contains(r[planned], tc.scheduled) || !strings.Contains(r[planned], "Sprechstunde am Montag") {
			t.Errorf("list (%s): the scheduled notice reads %q\n%s", tc.lang, r[planned], out)
		}
	}

	// The cancel of the first notice (its revision 2) is the newest
	// capture; the webhook carries JSON, so the lines are told apart by
	// announcement and revision.
	code, out, errOut = cli("en", "captures", "-n", "1")
	if code != exitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, withdrawn+" r2 ") {
		t.Errorf("captures -n 1: exit %d, want the newest (the cancel)\n%s%s", code, out, errOut)
	}
	code, out, _ = cli("en", "captures", withdrawn, "-n", "1")
	if code != exitOK || !strings.Contains(out, withdrawn+" r2 ") {
		t.Errorf("captures of one notice: exit %d, want its cancel\n%s", code, out)
	}
	code, out, _ = cli("en", "captures")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{withdrawn + " r2 ", live + " r1 ", withdrawn + " r1 "}
	if code != exitOK || len(lines) != len(want) {
		t.Fatalf("captures: exit %d, %d lines, want %d\n%s", code, len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("captures line %d is %q, want %q there (newest first)", i+1, lines[i], w)
		}
	}
}
