package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
)

// TestMain lets a test run crier as a real subprocess of the test binary
// itself: with CRIER_TEST_EXEC=1 the binary is crier, not the tests.
func TestMain(m *testing.M) {
	if os.Getenv("CRIER_TEST_EXEC") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// testMain returns a Main with captured output and the given environment.
func testMain(env map[string]string) (*Main, *syncBuffer, *syncBuffer) {
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	return &Main{
		Stdin:  strings.NewReader(""),
		Stdout: stdout,
		Stderr: stderr,
		Getenv: func(k string) string { return env[k] },
		Clock:  crier.SystemClock{},
	}, stdout, stderr
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// served is a crier serve running in-process.
type served struct {
	URL     string
	DataDir string
	Client  *server.Client
	Stderr  *syncBuffer
}

// mustServe runs "crier serve" in-process with the given config file and a
// fresh data directory on 127.0.0.1:0, waits until it listens, and stops it
// when the test ends.
func mustServe(t *testing.T, config string, env map[string]string, extra ...string) *served {
	t.Helper()
	m, _, stderr := testMain(env)
	return serveWith(t, m, stderr, config, extra...)
}

// serveWith is mustServe with a Main the caller prepared, e.g. with a clock
// of its own; stderr is the Main's standard error.
func serveWith(t *testing.T, m *Main, stderr *syncBuffer, config string, extra ...string) *served {
	t.Helper()
	srv, stop := startServe(t, m, stderr, config, newDataDir(t), extra...)
	t.Cleanup(stop)
	info, err := os.Stat(filepath.Join(srv.DataDir, tokenFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v, mode %v; want mode 0600", err, info.Mode())
	}
	return srv
}

// newDataDir returns a data directory for serve that does not exist yet,
// so that serve creates it 0700, as on a first start. A t.TempDir itself
// is 0755 under the usual umask: actual mode refuses that.
func newDataDir(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "data")
}

// startServe runs "crier serve" in-process with config on dataDir and
// 127.0.0.1:0 and waits until it listens. stop ends it and waits, a minute
// at most, for it to exit, reporting an exit code other than exitOK; it
// may be called more than once. The caller arranges for stop to run.
func startServe(tb testing.TB, m *Main, stderr *syncBuffer, config, dataDir string, extra ...string) (*served, func()) {
	tb.Helper()
	listening := make(chan string, 1)
	m.OnListen = func(url string) { listening <- url }
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	args := append([]string{"serve", "--config", config, "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, extra...)
	go func() { exited <- m.Run(ctx, args) }()
	var url string
	select {
	case url = <-listening:
	case code := <-exited:
		cancel()
		tb.Fatalf("serve exited with %d before listening:\n%s", code, stderr)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatalf("serve did not listen within 30s:\n%s", stderr)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-exited:
				if code != exitOK {
					tb.Errorf("serve exited with %d:\n%s", code, stderr)
				}
			case <-time.After(time.Minute):
				tb.Errorf("serve did not stop within a minute of its context's end")
			}
		})
	}
	token, err := os.ReadFile(filepath.Join(dataDir, tokenFile))
	if err != nil {
		stop()
		tb.Fatal(err)
	}
	return &served{
		URL:     url,
		DataDir: dataDir,
		Client:  &server.Client{URL: url, Token: strings.TrimSpace(string(token))},
		Stderr:  stderr,
	}, stop
}

// run runs one CLI command in-process and returns its exit code and output.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	m, stdout, stderr := testMain(env)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := m.Run(ctx, args)
	return code, stdout.String(), stderr.String()
}

// waitDone polls the server until every delivery of id is final. The
// server works in real time here; the poll bounds the wait, it does not
// stand in for a result.
func waitDone(t *testing.T, c *server.Client, id string, within time.Duration) *server.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := c.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries of %s not final after %v: %v", id, within, st.Totals)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitProbed polls the server until every endpoint of the given channels
// (of all, when none are given) has been probed once, so that what the
// probes learn (a Mastodon instance's limit) is known. The poll bounds
// the wait; it does not stand in for a result.
func waitProbed(t *testing.T, c *server.Client, within time.Duration, channels ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		hs, err := c.Endpoints(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		probed := len(hs) > 0
		for _, h := range hs {
			if len(channels) == 0 || slices.Contains(channels, h.Channel) {
				probed = probed && !h.LastProbe.IsZero()
			}
		}
		if probed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoints not all probed after %v: %+v", within, hs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
