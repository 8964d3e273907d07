package main

import (
	"context"
	"strings"
	"testing"
	"time"
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
