package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestActualNeedsTheFlag: a new editor publishes exercises only; a real
// notice (mode actual), published or scheduled through the API with their
// token, is refused with 403 until an admin allows it with users set.
func TestActualNeedsTheFlag(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	admin := func(stdin string, args ...string) (int, string, string) {
		return runIn(t, map[string]string{"CRIER_LANG": "en"}, stdin,
			append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	if code, _, errOut := admin("Mülltonne am Dienstag\n", "users", "add", "anna", "--role", "editor", "--towns", "soest", "--password-stdin"); code != exitOK {
		t.Fatalf("users add: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := admin("Mülltonne am Dienstag\n", "users", "add", "bert", "--role", "editor", "--towns", "soest", "--actual", "--password-stdin"); code != exitOK {
		t.Fatalf("users add --actual: exit %d\n%s", code, errOut)
	}
	_, token, _ := admin("", "tokens", "add", "anna")
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": strings.TrimSpace(token), "CRIER_LANG": "en"}
	notice := func(front string) string {
		file := filepath.Join(t.TempDir(), "notice.md")
		os.WriteFile(file, []byte("---\ntitle: Wasser abkochen\ntowns: [soest]\n"+front+"---\nBitte Leitungswasser abkochen.\n"), 0o600)
		return file
	}
	for _, front := range []string{"mode: actual\n", "mode: actual\npublish_at: 2099-01-01T10:00:00+01:00\n"} {
		if code, out, errOut := run(t, env, "publish", notice(front)); code != exitFailure || !strings.Contains(errOut, "may publish exercises only") {
			t.Errorf("%q without the flag: exit %d\n%s%s", front, code, out, errOut)
		}
	}
	if as, err := srv.Client.Announcements(context.Background(), 10); err != nil || len(as) != 0 {
		t.Fatalf("after refusals: %d announcements, %v", len(as), err)
	}
	if code, out, errOut := run(t, env, "publish", notice("mode: exercise\n")); code != exitOK {
		t.Fatalf("an exercise without the flag: exit %d\n%s%s", code, out, errOut)
	}

	for _, bad := range [][]string{{"users", "set", "anna"}, {"users", "set", "anna", "--actual=yes"}} {
		if code, _, _ := admin("", bad...); code != exitInvalid {
			t.Errorf("%v: exit %d, want %d", bad, code, exitInvalid)
		}
	}
	if code, out, errOut := admin("", "users", "set", "anna", "--actual=true"); code != exitOK || !strings.Contains(out, "anna may now publish real notices") {
		t.Fatalf("users set --actual=true: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "publish", notice("mode: actual\n")); code != exitOK {
		t.Fatalf("actual with the flag: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := admin("", "users", "set", "nobody", "--actual=true"); code != exitFailure {
		t.Errorf("users set for nobody: exit %d", code)
	}
	if code, out, _ := admin("", "users", "set", "bert", "--actual=false"); code != exitOK || !strings.Contains(out, "bert may now publish exercises only") {
		t.Errorf("users set --actual=false: exit %d\n%s", code, out)
	}
}
