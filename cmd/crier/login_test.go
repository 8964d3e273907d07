package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// TestLoginCLI: next to a running serve, an editor of soest signs in with
// crier login; the token is saved 0600 in the user's configuration
// directory under the server's URL, and later commands without
// CRIER_TOKEN use it: publish for soest works, for werl is refused. A
// wrong password saves nothing; crier logout revokes the token at once
// and forgets it.
func TestLoginCLI(t *testing.T) {
	srv := mustServe(t, "../../config.example.yaml", nil)
	admin := func(stdin string, args ...string) (int, string, string) {
		return runIn(t, map[string]string{"CRIER_LANG": "en"}, stdin,
			append(args, "--config", "../../config.example.yaml", "--data-dir", srv.DataDir)...)
	}
	const pw = "Mülltonne am Dienstag"
	if code, _, errOut := admin(pw+"\n", "users", "add", "anna", "--role", "editor", "--towns", "soest", "--password-stdin"); code != exitOK {
		t.Fatalf("users add: exit %d\n%s", code, errOut)
	}
	home := t.TempDir()
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en", "XDG_CONFIG_HOME": home}
	saved := filepath.Join(home, "crier", credentialsFile)

	if code, out, errOut := runIn(t, env, "Mülltonne am Mittwoch\n", "login", "anna", "--password-stdin"); code != exitFailure ||
		!strings.Contains(errOut, "wrong user name or password") {
		t.Errorf("wrong password: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Errorf("a refused login saved something: %v", err)
	}
	code, out, errOut := runIn(t, env, pw+"\n", "login", "anna", "--password-stdin")
	if code != exitOK || !strings.Contains(out, "Signed in as anna (role editor, towns soest) at "+srv.URL) {
		t.Fatalf("login: exit %d\n%s%s", code, out, errOut)
	}
	info, err := os.Stat(saved)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("saved token: %v, mode %v; want 0600", err, info.Mode())
	}
	var creds credentials
	b, _ := os.ReadFile(saved)
	if err := json.Unmarshal(b, &creds); err != nil || creds.Servers[srv.URL].User != "anna" || !strings.HasPrefix(creds.Servers[srv.URL].Token, "crier_") {
		t.Fatalf("saved: %s (%v)", b, err)
	}
	token := creds.Servers[srv.URL].Token

	notice := func(towns string) string {
		file := filepath.Join(t.TempDir(), "notice.md")
		os.WriteFile(file, []byte("---\ntitle: Wasser abkochen\ntowns: ["+towns+"]\n---\nBitte Leitungswasser abkochen.\n"), 0o600)
		return file
	}
	if code, out, errOut := run(t, env, "publish", notice("soest")); code != exitOK {
		t.Fatalf("publish for soest with the saved token: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "publish", notice("werl")); code != exitFailure || !strings.Contains(errOut, "anna (role editor) may not publish for werl") {
		t.Errorf("publish for werl with the saved token: exit %d\n%s%s", code, out, errOut)
	}
	// CRIER_TOKEN goes first: the admin's may list.
	withAdmin := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en", "XDG_CONFIG_HOME": home, "CRIER_TOKEN": srv.Client.Token}
	if code, out, errOut := run(t, withAdmin, "list"); code != exitOK {
		t.Errorf("list with CRIER_TOKEN set: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := admin("", "tokens", "list", "anna"); code != exitOK || !strings.Contains(out, `"crier login`) || strings.Contains(out, token) {
		t.Errorf("tokens list: exit %d\n%s", code, out)
	}

	// A second login replaces the token and revokes the first.
	if code, out, errOut := runIn(t, env, pw+"\n", "login", "anna", "--password-stdin"); code != exitOK {
		t.Fatalf("second login: exit %d\n%s%s", code, out, errOut)
	}
	first := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en", "CRIER_TOKEN": token}
	if code, _, errOut := run(t, first, "publish", notice("soest")); code != exitFailure || !strings.Contains(errOut, "invalid token") {
		t.Errorf("the replaced token: exit %d\n%s", code, errOut)
	}
	b, _ = os.ReadFile(saved)
	json.Unmarshal(b, &creds)
	second := creds.Servers[srv.URL].Token

	if code, out, errOut := run(t, env, "logout"); code != exitOK || !strings.Contains(out, "anna signed out") {
		t.Fatalf("logout: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Errorf("credentials file after the last logout: %v", err)
	}
	c := *srv.Client
	c.Token = second
	if _, err := c.Towns(context.Background()); crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		t.Errorf("token after logout: %v", err)
	}
	if code, _, errOut := run(t, env, "logout"); code == exitOK || !strings.Contains(errOut, "Nobody is signed in") {
		t.Errorf("second logout: exit %d\n%s", code, errOut)
	}
	if strings.Contains(srv.Stderr.String(), second) || strings.Contains(srv.Stderr.String(), "Mülltonne") {
		t.Error("the server log shows a token or a password")
	}
}
