package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/server"
)

// quick bounds a publish or preview that must not wait for any Mastodon
// instance: it answers in milliseconds, so a call that waits for a hung
// instance fails the test in seconds instead of hanging it.
const quick = 5 * time.Second

// atOnce is how long a publish or preview may take on a loaded test
// machine: it takes milliseconds, and a wait for an instance takes the
// send timeout (30 s by default).
const atOnce = 2 * time.Second

// silentInstance is a Mastodon instance that accepts connections, reads
// each request's first line and never answers. It counts the connections
// it accepted and records the request lines it read.
type silentInstance struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	lines []string
}

// mustSilentInstance starts a silentInstance on loopback; it closes, with
// every connection it holds, when the test ends.
func mustSilentInstance(tb testing.TB) *silentInstance {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &silentInstance{ln: ln}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			wg.Go(func() {
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				s.mu.Lock()
				s.lines = append(s.lines, strings.TrimSpace(line))
				s.mu.Unlock()
			})
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *silentInstance) URL() string  { return "http://" + s.ln.Addr().String() }
func (s *silentInstance) Host() string { return s.ln.Addr().String() }

// Accepted returns how many connections the instance accepted.
func (s *silentInstance) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Requests returns the request lines read, e.g.
// "GET /api/v2/instance HTTP/1.1".
func (s *silentInstance) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

// hungConfig writes a configuration in the given mode whose five towns
// each post through their account on one instance, then a backup account
// on another, and mail their list through smtpPort.
func hungConfig(t *testing.T, mode string, primary, backup string, smtpPort int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "mode: %s\npublic_url: https://krisen.kreis-soest.example\n", mode)
	b.WriteString("delivery: {probe_interval: 1h, shutdown_timeout: 1s}\nchannels:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - {id: mastodon-%s, type: mastodon, endpoints: [{server: %q, token: tok-%s}, {server: %q, token: tok-%s-backup}]}\n",
			tw.id, primary, tw.id, backup, tw.id)
		fmt.Fprintf(&b, "  - {id: mail-%s, type: email, from: \"%s <presse@%s.example>\", endpoints: [{host: 127.0.0.1, port: %d, tls: none}]}\n",
			tw.id, tw.name, tw.id, smtpPort)
	}
	b.WriteString("towns:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    ags: %q\n    vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\", hashtag: %s}\n    channels: [mastodon-%s, mail-%s]\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office, strings.ToUpper(tw.id[:1])+tw.id[1:], tw.id, tw.id)
	}
	return writeConfig(t, b.String())
}

// timed calls f with a context bounded by quick and returns how long it
// took.
func timed(f func(ctx context.Context)) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), quick)
	defer cancel()
	start := time.Now()
	f(ctx)
	return time.Since(start)
}

// wantLimitNotes fails t unless notes say, for every Mastodon channel of
// the five towns, that the limits of hosts are unknown, in German.
func wantLimitNotes(t *testing.T, notes []crier.Note, hosts ...string) {
	t.Helper()
	got := map[string][]string{}
	for _, n := range notes {
		got[n.Channel] = append(got[n.Channel], n.Message)
	}
	want := map[string][]string{}
	for _, tw := range e2eTowns {
		for _, h := range hosts {
			want["mastodon-"+tw.id] = append(want["mastodon-"+tw.id],
				"Zeichenlimit von "+h+" unbekannt; geprüft gegen Mastodons Standard von 500 Zeichen")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notes = %v\nwant %v", got, want)
	}
}

// TestPublishWhileInstancesHang: every Mastodon endpoint accepts
// connections and never answers. A publish for five towns × (Mastodon +
// email) and a preview answer at once, as accepted, without a request
// from their path: the instances only see the health probes and the
// deliveries' posts, never a request for their limits. The mails go out.
func TestPublishWhileInstancesHang(t *testing.T) {
	const perTown = 3
	primary, backup := mustSilentInstance(t), mustSilentInstance(t)
	smtp := smtptest.NewServer(t, smtptest.Options{})
	srv := mustServe(t, hungConfig(t, "actual", primary.URL(), backup.URL(), smtp.Port()), nil)
	addSubscribers(t, srv, perTown)

	var plan *crier.Plan
	var err error
	took := timed(func(ctx context.Context) { plan, err = srv.Client.Preview(ctx, e2eNotice()) })
	if err != nil {
		t.Fatalf("preview after %v: %v", took, err)
	}
	if took > atOnce || len(plan.Problems) != 0 || len(plan.Messages) != 2*len(e2eTowns) {
		t.Errorf("preview took %v, %d problems %v, %d messages; want at once, none, %d",
			took, len(plan.Problems), plan.Problems, len(plan.Messages), 2*len(e2eTowns))
	}
	wantLimitNotes(t, plan.Notes, primary.Host(), backup.Host())

	var res *crier.PublishResult
	took = timed(func(ctx context.Context) { res, err = srv.Client.Publish(ctx, e2eNotice(), "hung-1") })
	if err != nil {
		t.Fatalf("publish after %v: %v", took, err)
	}
	if want := len(e2eTowns) * (1 + perTown); took > atOnce || res.Deliveries != want {
		t.Errorf("publish took %v and made %d deliveries; want at once, %d", took, res.Deliveries, want)
	}
	waitSent(t, srv.Client, res.Announcement.ID, "email", len(e2eTowns)*perTown, time.Minute)
	if n := len(smtp.Messages()); n != len(e2eTowns)*perTown {
		t.Errorf("SMTP server received %d mails, want %d", n, len(e2eTowns)*perTown)
	}

	for _, inst := range []*silentInstance{primary, backup} {
		for _, line := range inst.Requests() {
			if !strings.HasPrefix(line, "GET /api/v1/accounts/verify_credentials ") &&
				!strings.HasPrefix(line, "POST /api/v1/statuses ") {
				t.Errorf("instance %s got %q: neither a probe nor a post", inst.Host(), line)
			}
		}
	}
}

// waitSent polls the server until n deliveries of the announcement id of
// channel type typ are sent. The poll bounds the wait; it does not stand
// in for a result.
func waitSent(t *testing.T, c *server.Client, id, typ string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ds, err := c.AllDeliveries(context.Background(), id, server.DeliveryQuery{State: crier.StateSent})
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for _, d := range ds {
			if d.Type == typ {
				sent++
			}
		}
		if sent >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s deliveries of %s sent after %v, want %d", sent, typ, id, within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExerciseNeverAsksInstances: in exercise mode nothing leaves the
// machine, the instances' limits included: serve, preview, publish and
// delivery make no connection to any Mastodon instance, and the capture
// sink takes every send.
func TestExerciseNeverAsksInstances(t *testing.T) {
	primary, backup := mustSilentInstance(t), mustSilentInstance(t)
	smtp := smtptest.NewServer(t, smtptest.Options{})
	srv := mustServe(t, hungConfig(t, "exercise", primary.URL(), backup.URL(), smtp.Port()), nil)
	addSubscribers(t, srv, 1)

	var plan *crier.Plan
	var err error
	if took := timed(func(ctx context.Context) { plan, err = srv.Client.Preview(ctx, e2eNotice()) }); err != nil {
		t.Fatalf("preview after %v: %v", took, err)
	}
	wantLimitNotes(t, plan.Notes, primary.Host(), backup.Host())
	var res *crier.PublishResult
	if took := timed(func(ctx context.Context) { res, err = srv.Client.Publish(ctx, e2eNotice(), "") }); err != nil {
		t.Fatalf("publish after %v: %v", took, err)
	}
	st := waitDone(t, srv.Client, res.Announcement.ID, time.Minute)
	if want := 2 * len(e2eTowns); st.Totals[crier.StateSent] != want {
		t.Errorf("status %v, want all %d sent", st.Totals, want)
	}
	caps, err := srv.Client.Captures(context.Background(), res.Announcement.ID, 100)
	if err != nil || len(caps) != 2*len(e2eTowns) {
		t.Errorf("captured %d messages, %v; want %d", len(caps), err, 2*len(e2eTowns))
	}
	if n, k := primary.Accepted(), backup.Accepted(); n+k != 0 {
		t.Errorf("the instances accepted %d and %d connections, want none: %q %q", n, k, primary.Requests(), backup.Requests())
	}
	if n := len(smtp.Messages()); n != 0 {
		t.Errorf("the SMTP server got %d mails in exercise mode", n)
	}
}

// TestLimitsSurviveRestart: the probes of a serving crier learn an
// instance's limit of 1 000 characters and the store keeps it. After a
// restart, with the instance hung, a preview and a publish check a
// 750-character post against that limit without a request, while a
// channel on an instance never heard from is checked against Mastodon's
// 500 with a note.
func TestLimitsSurviveRestart(t *testing.T) {
	large := mastodontest.NewServer(t, mastodontest.Options{MaxCharacters: 1000})
	unknown := mustSilentInstance(t)
	// A hashtag this long makes each post some 990 characters: less than
	// the instance's 1 000, and more than Mastodon's 500 even when the
	// post is shortened, since the hashtag alone is.
	tags := strings.Repeat("KreisSoestInformiert", 30)
	config := writeConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
delivery: {probe_interval: 1h, shutdown_timeout: 1s}
channels:
  - {id: mastodon-soest, type: mastodon, endpoints: [{server: %q, token: tok-soest}]}
  - {id: mastodon-werl, type: mastodon, endpoints: [{server: %q, token: tok-werl}]}
towns:
  - {id: soest, name: Stadt Soest, vars: {hashtag: %[3]s}, channels: [mastodon-soest]}
  - {id: werl, name: Stadt Werl, vars: {hashtag: %[3]s}, channels: [mastodon-werl]}
`, large.URL(), unknown.URL(), tags))
	notice := func(town string) *crier.Announcement {
		return &crier.Announcement{Title: "IT-Störung", Body: strings.Repeat("Das Bürgerbüro bleibt geschlossen. ", 10),
			Towns: []string{town}}
	}
	dataDir := newDataDir(t)

	first := serveIn(t, config, dataDir)
	waitProbed(t, first.Client, time.Minute, "mastodon-soest")
	first.stop()

	large.Hang()
	before := len(large.Requests())
	srv := serveIn(t, config, dataDir)
	defer srv.stop()
	var plan *crier.Plan
	var err error
	if took := timed(func(ctx context.Context) { plan, err = srv.Client.Preview(ctx, notice("soest")) }); err != nil {
		t.Fatalf("preview after %v: %v", took, err)
	}
	if len(plan.Problems) != 0 || len(plan.Notes) != 0 {
		t.Errorf("preview for soest: problems %v, notes %v; want none against the 1 000 characters learned", plan.Problems, plan.Notes)
	}
	if took := timed(func(ctx context.Context) { _, err = srv.Client.Publish(ctx, notice("soest"), "") }); err != nil {
		t.Errorf("publish for soest after %v: %v", took, err)
	}

	if took := timed(func(ctx context.Context) { plan, err = srv.Client.Preview(ctx, notice("werl")) }); err != nil {
		t.Fatalf("preview after %v: %v", took, err)
	}
	host := unknown.Host()
	if len(plan.Problems) != 1 || !strings.Contains(plan.Problems[0].Message, "das Limit von "+host+" ist noch nicht bekannt, Mastodons Standard erlaubt 500") {
		t.Errorf("preview for werl: problems %v, want one against Mastodon's 500", plan.Problems)
	}
	want := []crier.Note{{Channel: "mastodon-werl", Code: "mastodon.limit_unknown", Args: []string{host, "500"},
		Message: "Zeichenlimit von " + host + " unbekannt; geprüft gegen Mastodons Standard von 500 Zeichen"}}
	if fmt.Sprint(plan.Notes) != fmt.Sprint(want) {
		t.Errorf("notes %+v, want %+v", plan.Notes, want)
	}
	// A client that asks for English gets the note in English.
	en := previewIn(t, srv.served, "en-GB,en;q=0.9", notice("werl"))
	if len(en.Notes) != 1 || en.Notes[0].Message != "Character limit of "+host+" unknown; checked against Mastodon's default of 500 characters" {
		t.Errorf("notes in English: %+v", en.Notes)
	}
	// The instance-document requests all came from the first serve's probe.
	for _, q := range large.Requests()[before:] {
		if q.Path == "/api/v2/instance" {
			t.Errorf("the hung instance was asked for its limits after the restart")
		}
	}
	if n := instanceDocs(large); n != 1 {
		t.Errorf("the instance was asked for its limits %d times, want once, by the first probe", n)
	}
	if slices.ContainsFunc(unknown.Requests(), func(l string) bool { return strings.Contains(l, "/api/v2/instance") }) {
		t.Errorf("the silent instance was asked for its limits: %q", unknown.Requests())
	}
}

// instanceDocs counts the requests for the instance document.
func instanceDocs(s *mastodontest.Server) int {
	n := 0
	for _, q := range s.Requests() {
		if q.Method == http.MethodGet && q.Path == "/api/v2/instance" {
			n++
		}
	}
	return n
}

// stoppable is a serving crier that a test stops and starts again on the
// same data directory.
type stoppable struct {
	*served
	stop func()
}

// serveIn runs "crier serve" in-process on dataDir until stop is called
// or the test ends.
func serveIn(t *testing.T, config, dataDir string) *stoppable {
	t.Helper()
	m, _, stderr := testMain(nil)
	srv, stop := startServe(t, m, stderr, config, dataDir)
	t.Cleanup(stop)
	return &stoppable{served: srv, stop: stop}
}

// previewIn asks the server for a preview of a in the language lang
// (an Accept-Language header).
func previewIn(t *testing.T, srv *served, lang string, a *crier.Announcement) *crier.Plan {
	t.Helper()
	body, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), quick)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/v1/preview", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Client.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", lang)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p crier.Plan
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %s, %v", resp.Status, err)
	}
	return &p
}

// TestPreviewCommandNotes: "crier preview" never asks an instance. It
// notes, in the reader's language, an instance whose limit no probe has
// learned, and reads what the probes of a crier serve on the same data
// directory stored: then a post the instance allows passes without a
// note, although the instance hangs.
func TestPreviewCommandNotes(t *testing.T) {
	large := mastodontest.NewServer(t, mastodontest.Options{MaxCharacters: 1000})
	dataDir := newDataDir(t)
	// A post of some 990 characters, over 500 even shortened: the hashtag
	// alone is.
	tags := strings.Repeat("KreisSoestInformiert", 30)
	config := writeConfig(t, fmt.Sprintf(`mode: actual
data_dir: %q
public_url: https://krisen.kreis-soest.example
channels:
  - {id: mastodon-soest, type: mastodon, endpoints: [{server: %q, token: tok-soest}]}
towns:
  - {id: soest, name: Stadt Soest, vars: {hashtag: %s}, channels: [mastodon-soest]}
`, dataDir, large.URL(), tags))
	notice := filepath.Join(t.TempDir(), "notice.md")
	if err := os.WriteFile(notice, []byte("---\ntitle: IT-Störung\ntowns: [soest]\n---\n"+strings.Repeat("Das Bürgerbüro bleibt geschlossen. ", 10)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	large.Hang()
	host := strings.TrimPrefix(large.URL(), "http://")
	for _, tc := range []struct{ lang, note string }{
		{"de", "Hinweise:\n  - mastodon-soest: Zeichenlimit von " + host + " unbekannt; geprüft gegen Mastodons Standard von 500 Zeichen\n" +
			"1 Problem(e), nichts wurde veröffentlicht:\n  - Ort soest, Kanal mastodon-soest: text: ist 988 Zeichen lang, wie Mastodon zählt " +
			"(Inhaltswarnung eingeschlossen, jeder Link als 23); das Limit von " + host + " ist noch nicht bekannt, Mastodons Standard erlaubt 500\n"},
		{"en", "Notes:\n  - mastodon-soest: Character limit of " + host + " unknown; checked against Mastodon's default of 500 characters\n" +
			"1 problem(s), nothing was published:\n  - town soest, channel mastodon-soest: text: is 988 characters long as Mastodon counts them " +
			"(content warning included, each link as 23); the limit of " + host + " is not known yet, and Mastodon's default allows 500\n"},
	} {
		code, _, errOut := run(t, map[string]string{"CRIER_LANG": tc.lang}, "preview", "--config", config, notice)
		if code != exitInvalid || !strings.Contains(errOut, tc.note) {
			t.Errorf("preview in %s: exit %d, want %d with the note %q and the problem against 500:\n%s",
				tc.lang, code, exitInvalid, tc.note, errOut)
		}
	}

	// A serving crier's probe learns the limit and stores it.
	large.Accept()
	srv := serveIn(t, config, dataDir)
	waitProbed(t, srv.Client, time.Minute)
	large.Hang()
	before := len(large.Requests())
	code, _, errOut := run(t, map[string]string{"CRIER_LANG": "de"}, "preview", "--config", config, notice)
	if code != exitOK || strings.Contains(errOut, "Hinweise") {
		t.Errorf("preview with the stored limit: exit %d, want %d without notes:\n%s", code, exitOK, errOut)
	}
	if n := len(large.Requests()) - before; n != 0 {
		t.Errorf("preview made %d requests to the instance, want none", n)
	}
}
