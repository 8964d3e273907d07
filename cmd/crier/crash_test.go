package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/server"
)

// process is crier serve running as a real subprocess of the test binary.
type process struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

var servingURL = regexp.MustCompile(`msg="crier is serving" url=(\S+)`)

// startProcess starts "crier serve" as a subprocess and waits until it
// listens.
func startProcess(t *testing.T, config, dataDir string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", config, "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "CRIER_TEST_EXEC=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	urls := make(chan string, 1)
	var log strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.url = <-urls:
	case <-p.exited:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("crier exited before listening:\n%s", log.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("crier did not listen within 30s")
	}
	t.Cleanup(func() { p.kill() })
	return p
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// TestCrashSafety kills crier with SIGKILL at several points of a fan-out
// to 5 towns × (webhook + 200 subscribers), restarts it each time, and
// proves that every delivery reaches a final state: none lost, no mail
// sent twice, and webhook repeats carry the same webhook-id.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts crier four times")
	}
	const perTown = 200
	total := len(e2eTowns) * (1 + perTown)

	// Kill points: counted by the receivers, which live in this process and
	// outlive every crier.
	var mu sync.Mutex
	mails, hooks := 0, 0
	kill := make(chan string, 8)
	trigger := func(what string, n int, at ...int) {
		for _, a := range at {
			if n == a {
				kill <- what
			}
		}
	}
	smtp := smtptest.NewServer(t, smtptest.Options{
		Delay: time.Millisecond, // a relay that takes its time: the fan-out lasts long enough to be interrupted
		OnMessage: func(*smtptest.Message) {
			mu.Lock()
			mails++
			n := mails
			mu.Unlock()
			trigger("mail", n, 250, 600)
		},
	})
	secret := webhooktest.NewSecret(t)
	receiver := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	receiver.OnAccept(func(*webhooktest.Request) {
		mu.Lock()
		hooks++
		n := hooks
		mu.Unlock()
		trigger("webhook", n, 2)
	})
	config := actualConfig(t, receiver.URL(), smtp.Port(), "")
	env := map[string]string{"RADIO_SECRET": secret}
	dataDir := newDataDir(t)
	ctx := context.Background()

	p := startProcess(t, config, dataDir, env)
	c := processClient(t, p, dataDir)
	srv := &served{URL: p.url, DataDir: dataDir, Client: c}
	addSubscribers(t, srv, perTown)
	res, err := c.Publish(ctx, e2eNotice(), "crash-1")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID

	kills := 0
	for kills < 3 {
		select {
		case what := <-kill:
			p.kill()
			kills++
			t.Logf("SIGKILL %d after a %s arrived", kills, what)
			p = startProcess(t, config, dataDir, env)
		case <-time.After(time.Minute):
			t.Fatalf("fan-out ended or stalled before kill %d", kills+1)
		}
	}
	c = processClient(t, p, dataDir)
	st := waitDone(t, c, id, 2*time.Minute)

	// Every delivery is final: sent, or unknown where an email was in
	// flight when crier died. Nothing was lost.
	if st.Total != total || st.Totals[crier.StateSent]+st.Totals[crier.StateUnknown] != total {
		t.Fatalf("after %d kills: %v of %d; want every delivery sent or unknown", kills, st.Totals, total)
	}
	ds, err := c.AllDeliveries(ctx, id, server.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	received := map[string]int{}
	for _, m := range smtp.Messages() {
		received[m.Key]++
	}
	unknown := 0
	for _, d := range ds {
		switch {
		case d.Type == "webhook" && d.State != crier.StateSent:
			t.Errorf("webhook delivery %s is %s; receivers deduplicate, so it must be retried to sent", d.Key, d.State)
		case d.Type == "email" && d.State == crier.StateSent && received[d.Key] != 1:
			t.Errorf("mail %s is sent but arrived %d times", d.Key, received[d.Key])
		case d.Type == "email" && d.State == crier.StateUnknown:
			unknown++
		}
	}
	for key, n := range received {
		if n > 1 {
			t.Errorf("mail %s arrived %d times", key, n)
		}
	}
	// Only jobs claimed but not yet recorded at a kill may be unknown: at
	// most the email concurrency (8) and the prefetched rounds per kill.
	if limit := kills * (1 + crier.DefaultPrefetch) * 8; unknown > limit {
		t.Errorf("%d unknown mails after %d kills; only in-flight ones (at most %d) may be", unknown, kills, limit)
	}
	// Webhooks: every town arrived, and every request, repeats included,
	// carries one of the five delivery keys.
	want := map[string]bool{}
	for _, tw := range e2eTowns {
		want[crier.DeliveryKey(id, 1, tw.id, "radio", 0)] = true
	}
	for _, r := range receiver.Requests() {
		if !want[r.ID] || !r.Verified {
			t.Errorf("webhook request with id %q (verified %v) is not one of the deliveries", r.ID, r.Verified)
		}
	}
	if got := len(receiver.Accepted()); got != len(want) {
		t.Errorf("%d distinct webhooks accepted, want %d", got, len(want))
	}
	t.Logf("%d kills: %d sent, %d unknown, %d mails received, %d webhook requests",
		kills, st.Totals[crier.StateSent], unknown, len(smtp.Messages()), len(receiver.Requests()))
}

// processClient returns an API client for a crier subprocess.
func processClient(t *testing.T, p *process, dataDir string) *server.Client {
	t.Helper()
	token, err := os.ReadFile(dataDir + "/" + tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return &server.Client{URL: p.url, Token: strings.TrimSpace(string(token))}
}
