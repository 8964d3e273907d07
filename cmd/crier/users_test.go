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

// runIn runs one CLI command in-process with stdin and returns its exit
// code and output.
func runIn(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	m, stdout, stderr := testMain(env)
	m.Stdin = strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := m.Run(ctx, args)
	return code, stdout.String(), stderr.String()
}

// TestUsersCLI: users are added with a checked password and towns that
// groups expand, listed without their hashes, and disabled.
func TestUsersCLI(t *testing.T) {
	dataDir := newDataDir(t)
	env := map[string]string{"CRIER_LANG": "en"}
	cli := func(stdin string, args ...string) (int, string, string) {
		return runIn(t, env, stdin, append(args, "--config", "../../config.example.yaml", "--data-dir", dataDir)...)
	}
	const pw = "Mülltonne am Dienstag\n"
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{pw, []string{"users", "add", "Anna!", "--role", "editor", "--towns", "soest", "--password-stdin"}, "is no valid user name"},
		{pw, []string{"users", "add", "anna", "--role", "chief", "--towns", "soest", "--password-stdin"}, `"chief" is no role`},
		{pw, []string{"users", "add", "anna", "--role", "editor", "--towns", "soest,paderborn", "--password-stdin"}, `unknown town or group "paderborn"`},
		{pw, []string{"users", "add", "anna", "--role", "editor", "--password-stdin"}, "needs at least one town"},
		{"kurz\n", []string{"users", "add", "anna", "--role", "editor", "--towns", "soest", "--password-stdin"}, "is 4 characters long"},
		{"Passwort1234\n", []string{"users", "add", "anna", "--role", "editor", "--towns", "soest", "--password-stdin"}, "most common passwords"},
		{"", []string{"users", "add", "anna", "--role", "editor", "--towns", "soest"}, "--password-stdin"},
	} {
		code, out, errOut := cli(c.stdin, c.args...)
		if code != exitInvalid || !strings.Contains(errOut, c.want) || strings.Contains(errOut, strings.TrimSpace(c.stdin)) && c.stdin != "" {
			t.Errorf("%v: exit %d, want %d and %q\n%s%s", c.args, code, exitInvalid, c.want, out, errOut)
		}
	}
	if code, out, errOut := cli(pw, "users", "add", "anna", "--role", "editor", "--towns", "soest,werl", "--password-stdin"); code != exitOK ||
		!strings.Contains(out, "User anna added (role editor, towns soest,werl).") {
		t.Fatalf("add anna: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli(pw, "users", "add", "anna", "--role", "viewer", "--towns", "soest", "--password-stdin"); code != exitFailure ||
		!strings.Contains(errOut, "exists already") {
		t.Errorf("second anna: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := cli(pw, "users", "add", "kreis", "--role", "viewer", "--towns", "kreis-soest", "--password-stdin"); code != exitOK {
		t.Fatalf("add kreis: exit %d\n%s", code, errOut)
	}
	if code, out, _ := cli("", "users", "disable", "kreis"); code != exitOK || !strings.Contains(out, "User kreis disabled") {
		t.Errorf("disable: exit %d\n%s", code, out)
	}
	if code, out, _ := cli("neues langes Passwort\n", "users", "reset-password", "anna", "--password-stdin"); code != exitOK ||
		!strings.Contains(out, "New password set for anna.") {
		t.Errorf("reset-password: exit %d\n%s", code, out)
	}
	code, out, _ := cli("", "users", "list")
	if code != exitOK || !strings.Contains(out, "anna") || !strings.Contains(out, "soest,werl") ||
		!strings.Contains(out, "anroechte,bad-sassendorf,") || !strings.Contains(out, "disabled") ||
		strings.Contains(out, "argon2") || strings.Contains(out, "Mülltonne") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
}

// TestUserTokenThroughServe: next to a running serve, an admin adds an
// editor of soest and a token for them; with that token in CRIER_TOKEN
// the CLI publishes for soest, is refused for werl (403 naming werl), and
// once the token is revoked the next request is refused (401).
func TestUserTokenThroughServe(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	admin := func(stdin string, args ...string) (int, string, string) {
		return runIn(t, map[string]string{"CRIER_LANG": "en"}, stdin,
			append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	if code, _, errOut := admin("Mülltonne am Dienstag\n", "users", "add", "anna", "--role", "editor", "--towns", "soest", "--password-stdin"); code != exitOK {
		t.Fatalf("users add next to serve: exit %d\n%s", code, errOut)
	}
	code, token, errOut := admin("", "tokens", "add", "anna", "--name", "laptop")
	token = strings.TrimSpace(token)
	if code != exitOK || !strings.HasPrefix(token, "crier_") || !strings.Contains(errOut, "Token 1 for anna created") {
		t.Fatalf("tokens add: exit %d\n%s%s", code, token, errOut)
	}
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": token, "CRIER_LANG": "en"}
	notice := func(towns string) string {
		file := filepath.Join(t.TempDir(), "notice.md")
		os.WriteFile(file, []byte("---\ntitle: Wasser abkochen\ntowns: ["+towns+"]\n---\nBitte Leitungswasser abkochen.\n"), 0o600)
		return file
	}
	if code, out, errOut := run(t, env, "publish", notice("werl")); code != exitFailure ||
		!strings.Contains(errOut, "anna (role editor) may not publish for werl") {
		t.Errorf("publish for werl as editor of soest: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "publish", notice("kreis-soest")); code != exitFailure || !strings.Contains(errOut, "for anroechte") {
		t.Errorf("publish for the Kreis as editor of soest: exit %d\n%s%s", code, out, errOut)
	}
	if as, err := srv.Client.Announcements(context.Background(), 10); err != nil || len(as) != 0 {
		t.Fatalf("after refusals: %d announcements, %v", len(as), err)
	}
	if code, out, errOut := run(t, env, "publish", notice("soest")); code != exitOK {
		t.Fatalf("publish for soest: exit %d\n%s%s", code, out, errOut)
	}
	// The admin's notices for werl and for soest and werl: the editor's
	// list shows the second, and its status the soest part.
	werl, err := srv.Client.Publish(context.Background(), &crier.Announcement{Title: "Nur Werl", Body: "Werl.", Towns: []string{"werl"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	both, err := srv.Client.Publish(context.Background(), &crier.Announcement{Title: "Soest und Werl", Body: "Beide.", Towns: []string{"soest", "werl"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, towns := range []string{"soest", "werl"} {
		if _, err := srv.Client.CreateSchedule(context.Background(), &crier.Schedule{Spec: "0 8 * * *",
			Announcement: &crier.Announcement{Title: "Sprechstunde " + towns, Body: "Heute.", Towns: []string{towns}}}, "", false); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := run(t, env, "schedule", "list"); code != exitOK || !strings.Contains(out, "Sprechstunde soest") ||
		strings.Contains(out, "Sprechstunde werl") {
		t.Errorf("schedule list as editor: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "list"); code != exitOK || !strings.Contains(out, "Wasser abkochen") ||
		!strings.Contains(out, "Soest und Werl") || strings.Contains(out, "Nur Werl") {
		t.Errorf("list as editor: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "status", both.Announcement.ID); code != exitOK || !strings.Contains(out, "soest") ||
		strings.Contains(out, "werl ") || !strings.Contains(out, "for soest only") {
		t.Errorf("status of soest and werl as editor of soest: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "status", werl.Announcement.ID); code != exitFailure || !strings.Contains(errOut, "may not read for werl") {
		t.Errorf("status of werl's as editor of soest: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ := admin("", "tokens", "list", "anna")
	if code != exitOK || !strings.Contains(out, `"laptop"`) || strings.Contains(out, token) {
		t.Errorf("tokens list: exit %d\n%s", code, out)
	}
	if code, out, errOut := admin("", "tokens", "revoke", "1"); code != exitOK || !strings.Contains(out, "Token 1 revoked") {
		t.Fatalf("revoke: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "publish", notice("soest")); code != exitFailure || !strings.Contains(errOut, "invalid token") {
		t.Errorf("publish with a revoked token: exit %d\n%s", code, errOut)
	}
	if strings.Contains(srv.Stderr.String(), token) || strings.Contains(srv.Stderr.String(), "Mülltonne") {
		t.Error("the server log shows a token or a password")
	}
}
