package main

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/postfixtest"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/server"
)

// postfixConfig writes a configuration in actual mode for Soest alone,
// whose list goes through the one endpoint given (YAML flow mapping) to a
// Postfix; delivery is added under delivery: as it is.
func postfixConfig(t *testing.T, endpoint, delivery string) string {
	t.Helper()
	tw := e2eTowns[0]
	var b strings.Builder
	b.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\n")
	fmt.Fprintf(&b, "delivery: {%s}\n", delivery)
	fmt.Fprintf(&b, "channels:\n  - id: mail-soest\n    type: email\n    from: \"%s <presse@soest.example>\"\n", tw.name)
	fmt.Fprintf(&b, "    endpoints: [%s]\n", endpoint)
	fmt.Fprintf(&b, "towns:\n  - {id: %s, name: %s, ags: %q, vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\"}, channels: [mail-soest]}\n",
		tw.id, tw.name, tw.ags, tw.phone, tw.office)
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// relayEndpoint is the endpoint "relay" at s over STARTTLS, trusting the
// authority in caFile.
func relayEndpoint(s *postfixtest.Server, caFile string, more string) string {
	return fmt.Sprintf("{name: relay, host: %s, port: %d, tls: starttls, ca_file: %q%s}", s.Host, s.Port, caFile, more)
}

// postfixAddr is the address of subscriber i, delivered to the Maildir.
func postfixAddr(i int) string { return fmt.Sprintf("buerger%04d@%s", i, postfixtest.Domain) }

// addPostfixSubscribers puts n confirmed subscribers on Soest's list.
func addPostfixSubscribers(t *testing.T, srv *served, n int) {
	t.Helper()
	for from := 0; from < n; from += 1000 {
		var subs []*crier.Subscriber
		for i := from; i < min(n, from+1000); i++ {
			subs = append(subs, &crier.Subscriber{Town: "soest", Email: postfixAddr(i), State: crier.SubscriberConfirmed, Source: "Test"})
		}
		if _, _, err := srv.Client.AddSubscribers(context.Background(), subs); err != nil {
			t.Fatal(err)
		}
	}
}

// postfixNotice is a notice for Soest; with paragraphs > 0 its body has
// that many paragraphs of about 1 KB each.
func postfixNotice(title string, paragraphs int) *crier.Announcement {
	para := "Das Bürgerbüro der **{{.Town.Name}}** bleibt wegen einer IT-Störung geschlossen. " +
		strings.Repeat("Anträge, Meldebescheinigungen und Termine werden verschoben; wir melden uns bei Ihnen. ", 10) +
		"Telefon: {{.Vars.phone}}.\n\n"
	body := "Das Bürgerbüro der **{{.Town.Name}}** ist heute zu. Telefon: {{.Vars.phone}}\n"
	if paragraphs > 0 {
		body = strings.Repeat(para, paragraphs)
	}
	return &crier.Announcement{Title: title, Body: body, Towns: []string{"soest"}}
}

// byRecipient returns the deliveries of id by recipient.
func byRecipient(t *testing.T, c *server.Client, id string) map[string]*crier.Delivery {
	t.Helper()
	ds, err := c.AllDeliveries(context.Background(), id, server.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*crier.Delivery{}
	for _, d := range ds {
		out[d.Recipient] = d
	}
	return out
}

// messageIDs counts the mails in the Maildir by Message-ID.
func messageIDs(t *testing.T, mails [][]byte) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, b := range mails {
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out[m.Header.Get("Message-ID")]++
	}
	return out
}

// TestPostfixRecipientRefusalsInFanOut: a real Postfix answers 450 to
// RCPT TO for three of 200 subscribers while a notice fans out. Every
// other mail is sent in one attempt; the three wait for their own retry
// and are not failed; nothing fails over; the relay's breaker stays
// closed and counts nothing; a second notice published while the three
// are still refused goes out at once. Once Postfix takes the three again,
// every mail of both notices is in the Maildir exactly once.
func TestPostfixRecipientRefusalsInFanOut(t *testing.T) {
	t.Parallel()
	const n = 200
	s := postfixtest.Start(t, postfixtest.Options{})
	refused := []string{postfixAddr(17), postfixAddr(101), postfixAddr(180)}
	for _, a := range refused {
		s.Refuse(t, a, "450 4.2.1 mailbox busy")
	}
	// One endpoint: a second one would also take the sends that pass the
	// relay by while its send slots are all busy (a send slower than the
	// workers' SlowAfter makes room for another), which is no failover
	// and not what this test is about. A failover would show in the
	// metrics.
	config := postfixConfig(t, relayEndpoint(s, s.CAFile, ""),
		"backoff: {base: 1s, max: 2s}, breaker: {failures: 3, cool_down: 1m}")
	srv := mustServe(t, config, nil)
	addPostfixSubscribers(t, srv, n)
	ctx := context.Background()

	first, err := srv.Client.Publish(ctx, postfixNotice("Bürgerbüro geschlossen", 0), "")
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the three have been refused at least twice: retried on
	// their own, while the other 197 are sent.
	var ds map[string]*crier.Delivery
	waitUntil(t, time.Minute, "the three refused recipients to be retried", func() bool {
		ds = byRecipient(t, srv.Client, first.Announcement.ID)
		for _, a := range refused {
			if d := ds[a]; d == nil || d.Attempts < 2 {
				if d != nil && d.State != crier.StateQueued && d.State != crier.StateSending {
					t.Fatalf("%s: %s via %q after %d attempts: %s; want it queued for a retry", a, d.State, d.Endpoint, d.Attempts, d.Error)
				}
				return false
			}
		}
		return true
	})
	isRefused := func(a string) bool { return strings.Contains(strings.Join(refused, " "), a) }
	for a, d := range ds {
		switch {
		case isRefused(a):
			if d.State != crier.StateQueued || !strings.Contains(d.Error, "450") {
				t.Errorf("%s: %s via %q after %d attempts (%s); want queued for a retry with the 450", a, d.State, d.Endpoint, d.Attempts, d.Error)
			}
		case d.State == crier.StateSent && d.Attempts == 1 && d.Endpoint == "relay":
		case d.State == crier.StateQueued || d.State == crier.StateSending:
			// Not sent yet: checked below once it is.
		default:
			t.Errorf("%s: %s via %q after %d attempts (%s); want sent via relay in one attempt", a, d.State, d.Endpoint, d.Attempts, d.Error)
		}
	}

	// A second notice while the three are still refused: its 197 other
	// mails go at once, none waits for a breaker or a backoff.
	published := time.Now()
	second, err := srv.Client.Publish(ctx, postfixNotice("Bürgerbüro wieder geöffnet", 0), "")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the second notice's other mails to be sent", func() bool {
		return s.Count() >= 2*(n-len(refused))
	})
	t.Logf("second notice: %d mails in the Maildir %v after its publish", n-len(refused), time.Since(published).Round(time.Millisecond))
	for _, id := range []string{first.Announcement.ID, second.Announcement.ID} {
		for a, d := range byRecipient(t, srv.Client, id) {
			if !isRefused(a) && (d.State != crier.StateSent || d.Attempts != 1 || d.Endpoint != "relay") {
				t.Errorf("%s: %s: %s via %q after %d attempts (%s); want sent via relay in one attempt", id, a, d.State, d.Endpoint, d.Attempts, d.Error)
			}
		}
	}
	h := endpointOf(t, srv.Client, "mail-soest", "relay")
	if h.State != netpath.StateClosed || h.Failures != 0 {
		t.Errorf("relay: %+v; want the breaker closed with no failures counted", h)
	}
	if got := scrape(t, srv.URL, `crier_failovers_total`); len(got) != 0 {
		t.Errorf("metrics: %q; want no failover", got)
	}
	if got := scrape(t, srv.URL, `crier_endpoint_up\{channel="mail-soest",endpoint="relay"`); len(got) != 1 || !strings.HasSuffix(got[0], " 1") {
		t.Errorf("metrics: %q; want relay up", got)
	}

	// Postfix takes the three again: their next retry delivers them.
	for _, a := range refused {
		s.Refuse(t, a, "")
	}
	for _, id := range []string{first.Announcement.ID, second.Announcement.ID} {
		st := waitDone(t, srv.Client, id, time.Minute)
		if st.Totals[crier.StateSent] != n {
			t.Errorf("%s: %v; want all %d sent", id, st.Totals, n)
		}
	}
	mails, _ := s.WaitMails(t, 2*n, time.Minute)
	for id, k := range messageIDs(t, mails) {
		if k != 1 {
			t.Errorf("Message-ID %s arrived %d times", id, k)
		}
	}
	if len(mails) != 2*n {
		t.Errorf("%d mails in the Maildir, want %d", len(mails), 2*n)
	}
}

// TestPostfixUntrustedCertificateLosesNothing: the relay's certificate is
// renewed by an authority the endpoint does not trust while a notice goes
// to 100 subscribers. The endpoint is gone, logged once with the settings
// to use and the reset command, and shown by crier check; the mails wait
// and none fails. Once ca_file trusts the new authority, crier has
// restarted and a person has reset the endpoint, every mail arrives
// exactly once.
func TestPostfixUntrustedCertificateLosesNothing(t *testing.T) {
	t.Parallel()
	const n = 100
	s := postfixtest.Start(t, postfixtest.Options{})
	ca := filepath.Join(t.TempDir(), "relay-ca.pem")
	copyFile(t, s.CAFile, ca)
	// Probes once an hour: the sends find the new certificate.
	config := postfixConfig(t, relayEndpoint(s, ca, ""), "probe_interval: 1h")
	dataDir := newDataDir(t)
	var stderr *syncBuffer
	start := func() (*served, func()) {
		var m *Main
		m, _, stderr = testMain(map[string]string{"CRIER_LANG": "en"})
		return startServe(t, m, stderr, config, dataDir)
	}
	srv, stop := start()
	t.Cleanup(func() { stop() })
	waitProbed(t, srv.Client, 30*time.Second)
	addPostfixSubscribers(t, srv, n)

	s.Rekey(t)
	res, err := srv.Client.Publish(context.Background(), postfixNotice("Bürgerbüro geschlossen", 0), "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	waitUntil(t, time.Minute, "every mail to wait for the gone relay", func() bool {
		ds := byRecipient(t, srv.Client, id)
		queued := 0
		for a, d := range ds {
			if d.State == crier.StateFailed {
				t.Fatalf("%s: failed after %d attempts: %s", a, d.Attempts, d.Error)
			}
			if d.State == crier.StateQueued {
				queued++
			}
		}
		// The endpoint is marked gone a moment before that is logged.
		return queued == n && endpointOf(t, srv.Client, "mail-soest", "relay").State == netpath.StateGone &&
			strings.Contains(stderr.String(), "endpoint is gone")
	})
	h := endpointOf(t, srv.Client, "mail-soest", "relay")
	for _, want := range []string{"not trusted", "ca_file", "tls_pin_sha256", s.PinSHA256} {
		if !strings.Contains(h.LastError, want) {
			t.Errorf("relay's last error %q does not say %q", h.LastError, want)
		}
	}
	if k := strings.Count(stderr.String(), "endpoint is gone"); k != 1 || !strings.Contains(stderr.String(), "crier endpoints reset mail-soest relay") {
		t.Errorf("log says %d times that the relay is gone, want once with the reset command:\n%s", k, stderr)
	}
	code, out, errOut := run(t, map[string]string{"CRIER_LANG": "en"}, "check", "--config", config, "--data-dir", dataDir)
	if code == exitOK || !strings.Contains(out, "gone – please check") || !strings.Contains(out+errOut, "ca_file") {
		t.Errorf("crier check: exit %d; want the relay gone and ca_file named\n%s%s", code, out, errOut)
	}
	if k := s.Count(); k != 0 {
		t.Errorf("%d mails arrived through an untrusted relay", k)
	}

	// A person trusts the new authority, restarts crier and resets the
	// endpoint: it was still gone after the restart.
	stop()
	copyFile(t, s.CAFile, ca)
	srv, stop = start()
	if h := endpointOf(t, srv.Client, "mail-soest", "relay"); h.State != netpath.StateGone {
		t.Errorf("after the restart: %+v; want still gone", h)
	}
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"}
	if code, out, errOut := run(t, env, "endpoints", "reset", "mail-soest", "relay", "--config", config, "--data-dir", dataDir); code != exitOK {
		t.Fatalf("crier endpoints reset: exit %d\n%s%s", code, out, errOut)
	}
	st := waitDone(t, srv.Client, id, time.Minute)
	if st.Totals[crier.StateSent] != n {
		t.Errorf("%v; want all %d sent", st.Totals, n)
	}
	mails, _ := s.WaitMails(t, n, time.Minute)
	waitUntil(t, time.Minute, "Postfix's queue to empty", s.QueueEmpty)
	mails = s.Mails(t)
	for mid, k := range messageIDs(t, mails) {
		if k != 1 {
			t.Errorf("Message-ID %s arrived %d times", mid, k)
		}
	}
	if len(mails) != n {
		t.Errorf("%d mails in the Maildir, want %d", len(mails), n)
	}
}

// waitUntil polls cond until it holds, failing t after within. The poll
// bounds the wait; it does not stand in for a result.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPostfixPublishThroughput measures, through the whole of crier
// (crier serve in-process, its queue and workers) and a real Postfix, the
// time from publish to the last of 2 000 mails of about 40 KB (text and
// HTML) in the Maildir: the default (BDAT chunks where the session
// allows) against chunking: false (DATA), three runs each, alternating,
// each against a fresh Postfix and a fresh data directory. Run with
// CRIER_POSTFIX_BENCH=1; the README's Performance section has the
// command and the numbers.
func TestPostfixPublishThroughput(t *testing.T) {
	if os.Getenv("CRIER_POSTFIX_BENCH") == "" {
		t.Skip("set CRIER_POSTFIX_BENCH=1 to measure")
	}
	const n, runs, paragraphs = 2000, 3, 18
	rates := map[bool][]float64{}
	var size int
	for run := range runs {
		for _, chunking := range []bool{true, false} {
			s := postfixtest.Start(t, postfixtest.Options{})
			more := ""
			if !chunking {
				more = ", chunking: false"
			}
			endpoint := fmt.Sprintf("{name: relay, host: %s, port: %d, tls: none%s}", s.Host, s.Port, more)
			config := postfixConfig(t, endpoint, "concurrency: {email: 8}")
			m, _, stderr := testMain(nil)
			srv, stop := startServe(t, m, stderr, config, newDataDir(t))
			waitProbed(t, srv.Client, 30*time.Second)
			addPostfixSubscribers(t, srv, n)

			start := time.Now()
			res, err := srv.Client.Publish(context.Background(), postfixNotice("Bürgerbüro geschlossen", paragraphs), "")
			if err != nil {
				stop()
				t.Fatal(err)
			}
			_, last := s.WaitMails(t, n, 5*time.Minute)
			took := last.Sub(start)
			st := waitDone(t, srv.Client, res.Announcement.ID, time.Minute)
			if st.Totals[crier.StateSent] != n {
				t.Errorf("%v; want all %d sent", st.Totals, n)
			}
			mails := s.Mails(t)
			if len(mails) != n {
				t.Errorf("%d mails in the Maildir, want %d", len(mails), n)
			}
			size = len(mails[0])
			mode := "default (BDAT)"
			if !chunking {
				mode = "chunking: false"
			}
			rate := n / took.Seconds()
			rates[chunking] = append(rates[chunking], rate)
			t.Logf("run %d, %-15s: %d mails, publish → last in the Maildir %5.2f s, %4.0f mails/s", run+1, mode, n, took.Seconds(), rate)
			stop()
			s.Stop(t)
		}
	}
	mean := func(xs []float64) float64 {
		var sum float64
		for _, x := range xs {
			sum += x
		}
		return sum / float64(len(xs))
	}
	t.Logf("mean: default %.0f mails/s, chunking: false %.0f mails/s; mail size as delivered: %d bytes",
		mean(rates[true]), mean(rates[false]), size)
}
