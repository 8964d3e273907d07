//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// umask022 sets the usual umask for the test, so that what crier creates
// is checked against the modes most systems would give it.
func umask022(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// writeModeConfig writes a configuration in mode with one town and a
// webhook channel, and no secret from the environment.
func writeModeConfig(t *testing.T, mode string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crier.yaml")
	text := "mode: " + mode + "\npublic_url: https://krisen.kreis-soest.example\n" + `channels:
  - {id: radio, type: webhook, endpoints: [{url: "https://radio.example/hook", secret: "` + validWebhookSecret + `"}]}
towns:
  - {id: soest, name: Stadt Soest, channels: [radio]}
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeFileModes: a first start creates the data directory 0700 and
// the database, its -wal and -shm files, the admin token and the secret
// 0600.
func TestServeFileModes(t *testing.T) {
	umask022(t)
	dir := filepath.Join(t.TempDir(), "data") // serve creates it
	m, _, stderr := testMain(nil)
	srv, stop := startServe(t, m, stderr, writeModeConfig(t, "exercise"), dir)
	t.Cleanup(stop)
	ctx := context.Background()
	res, err := srv.Client.Publish(ctx, &crier.Announcement{Title: "Bürgerbüro geschlossen", Body: "Heute geschlossen.", Towns: []string{"soest"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, res.Announcement.ID, time.Minute)

	want := map[string]os.FileMode{
		".": 0o700, dbFile: 0o600, dbFile + "-wal": 0o600, dbFile + "-shm": 0o600,
		tokenFile: 0o600, secretFile: 0o600,
	}
	for name, perm := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != perm {
			t.Errorf("%s has mode %04o, want %04o", name, got, perm)
		}
	}
	if strings.Contains(stderr.String(), "chmod") {
		t.Errorf("a fresh data directory is warned about:\n%s", stderr)
	}
}

// serveOnce runs "crier serve" until it listens or exits, and returns its
// exit code (exitOK when it started) and standard error.
func serveOnce(t *testing.T, env map[string]string, config, dataDir string) (int, string) {
	t.Helper()
	m, _, stderr := testMain(env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m.OnListen = func(string) { cancel() }
	code := m.Run(ctx, []string{"serve", "--config", config, "--data-dir", dataDir, "--listen", "127.0.0.1:0"})
	return code, stderr.String()
}

// TestServeOpenDataDir: a data directory that others may enter is refused
// in actual mode, with the command that fixes it, and warned about in
// exercise mode.
func TestServeOpenDataDir(t *testing.T) {
	umask022(t)
	for _, mode := range []string{"actual", "exercise"} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			code, log := serveOnce(t, map[string]string{"CRIER_LANG": "en"}, writeModeConfig(t, mode), dir)
			fix := "chmod 700 " + dir
			if !strings.Contains(log, fix) || !strings.Contains(log, "mode 0755") {
				t.Errorf("serve in %s mode does not say %q:\n%s", mode, fix, log)
			}
			if mode == "actual" {
				if code != exitInvalid {
					t.Errorf("serve in actual mode: exit %d, want %d (refused)", code, exitInvalid)
				}
				if _, err := os.Stat(filepath.Join(dir, dbFile)); err == nil {
					t.Error("refused, but created the database")
				}
			} else if code != exitOK {
				t.Errorf("serve in exercise mode: exit %d, want it to start\n%s", code, log)
			}
		})
	}
}

// TestServeLooseSecretFiles: an admin token or secret file that others
// may read is refused in actual mode, with the command that fixes it, and
// warned about in exercise mode. Fixed as told, serve starts.
func TestServeLooseSecretFiles(t *testing.T) {
	umask022(t)
	for _, name := range []string{tokenFile, secretFile} {
		for _, mode := range []string{"actual", "exercise"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "data")
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, []byte("0123456789abcdef0123456789abcdef\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				config := writeModeConfig(t, mode)
				code, log := serveOnce(t, map[string]string{"CRIER_LANG": "de"}, config, dir)
				fix := "Beheben: chmod 600 " + path
				if !strings.Contains(log, fix) || !strings.Contains(log, "Modus 0644") {
					t.Errorf("serve in %s mode does not say %q:\n%s", mode, fix, log)
				}
				if mode == "exercise" {
					if code != exitOK {
						t.Errorf("serve in exercise mode: exit %d, want it to start\n%s", code, log)
					}
					return
				}
				if code != exitInvalid {
					t.Fatalf("serve in actual mode: exit %d, want %d (refused)", code, exitInvalid)
				}
				if err := os.Chmod(path, 0o600); err != nil {
					t.Fatal(err)
				}
				if code, log := serveOnce(t, nil, config, dir); code != exitOK || strings.Contains(log, "chmod") {
					t.Errorf("after chmod 600: exit %d\n%s", code, log)
				}
			})
		}
	}
}
