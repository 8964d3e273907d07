package email_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/postfixtest"
	"github.com/crierhq/crier/netpath"
)

// The Postfix suite sends through a real Postfix from the system's
// packages (see package postfixtest): without one it skips, in CI it
// fails.

// postfixWorkers is how many deliveries go out at once, one session each.
const postfixWorkers = 8

// largeMessage returns a notice of about 40 KB with its HTML part, as
// real notices with a long text are, for recipient rcpt.
func largeMessage(key, rcpt string) *crier.Message {
	m := testMessage(key, rcpt)
	para := "Das Bürgerbüro am Vreithof bleibt wegen einer Störung der IT-Systeme bis auf Weiteres geschlossen; " +
		"dringende Anliegen nimmt die Stadtverwaltung unter 02921 103-0 entgegen (Mo–Fr 8–12 Uhr).\n"
	m.Text = strings.Repeat(para, 80)
	m.HTML = "<p>" + strings.Repeat(strings.ReplaceAll(para, "\n", "</p>\n<p>"), 80) + "</p>\n"
	return m
}

// newPostfixChannel returns a channel to s that opens up to
// postfixWorkers plain-text sessions.
func newPostfixChannel(tb testing.TB, s *postfixtest.Server, change func(*email.Options)) *email.Channel {
	tb.Helper()
	o := email.Options{
		Host:        s.Host,
		Port:        s.Port,
		TLS:         email.TLSNone,
		From:        "Stadt Soest <presse@soest.example>",
		HELO:        "crier.test",
		Connections: postfixWorkers,
		Timeout:     20 * time.Second,
	}
	if change != nil {
		change(&o)
	}
	return newChannel(tb, o)
}

// recipient is the address of subscriber i in the Maildir's domain.
func recipient(i int) string { return fmt.Sprintf("buerger%05d@%s", i, postfixtest.Domain) }

// fanOut sends one message per recipient 0..n-1 through ch from
// postfixWorkers goroutines and returns each recipient's first error.
func fanOut(ch crier.Channel, n int, msg func(i int) *crier.Message) map[int]error {
	work := make(chan int)
	var mu sync.Mutex
	errs := map[int]error{}
	var wg sync.WaitGroup
	for range postfixWorkers {
		wg.Go(func() {
			for i := range work {
				if _, err := ch.Send(context.Background(), msg(i)); err != nil {
					mu.Lock()
					errs[i] = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return errs
}

// checkDelivered parses every mail strictly and checks that each of the
// want recipients got exactly one, with its own Message-ID, the title as
// its subject and the text a reader would see.
func checkDelivered(tb testing.TB, mails [][]byte, want map[string]*crier.Message) {
	tb.Helper()
	seen := map[string]int{}
	for _, raw := range mails {
		pm := parseMail(tb, raw) // strict: see strictHeader
		to := strings.Trim(pm.Header["To"], "<>")
		seen[to]++
		m, ok := want[to]
		if !ok {
			tb.Errorf("mail to %s, which was not sent", to)
			continue
		}
		if seen[to] > 1 {
			continue
		}
		if got, w := pm.Header["Message-Id"], "<"+m.Key+"@soest.example>"; got != w {
			tb.Errorf("mail to %s: Message-ID %s, want %s", to, got, w)
		}
		if pm.Header["Subject"] != m.Subject {
			tb.Errorf("mail to %s: subject %q, want the title %q", to, pm.Header["Subject"], m.Subject)
		}
		wantText := strings.ReplaceAll(m.Text, crier.UnsubscribePlaceholder, m.UnsubscribeURL)
		if len(pm.Parts) == 0 || pm.Parts[0].Type != "text/plain" || pm.Parts[0].Body != wantText {
			tb.Errorf("mail to %s: text part differs from the notice's text", to)
		}
	}
	for to := range want {
		if seen[to] != 1 {
			tb.Errorf("%s received %d mails, want 1", to, seen[to])
		}
	}
}

// noComplaints fails tb for every warning in Postfix's log.
func noComplaints(tb testing.TB, s *postfixtest.Server) {
	tb.Helper()
	for _, line := range s.Complaints() {
		tb.Errorf("postfix: %s", line)
	}
}

func TestPostfixFanOut(t *testing.T) {
	t.Parallel()
	const n = 300
	for _, tc := range []struct {
		name       string
		noChunking bool
	}{{"default", false}, {"data", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := postfixtest.Start(t, postfixtest.Options{})
			ch := newPostfixChannel(t, s, func(o *email.Options) { o.NoChunking = tc.noChunking })
			want := map[string]*crier.Message{}
			msg := func(i int) *crier.Message {
				m := largeMessage(fmt.Sprintf("a1.1.soest.mail-soest.%d", i), recipient(i))
				if i%2 == 1 { // short notices too
					m = testMessage(fmt.Sprintf("a1.1.soest.mail-soest.%d", i), recipient(i))
				}
				return m
			}
			for i := range n {
				want[recipient(i)] = msg(i)
			}
			if errs := fanOut(ch, n, msg); len(errs) > 0 {
				t.Fatalf("%d sends failed, e.g. %v", len(errs), firstError(errs))
			}
			mails, _ := s.WaitMails(t, n, time.Minute)
			checkDelivered(t, mails, want)
			ch.Close()
			noComplaints(t, s)
		})
	}
}

func firstError(errs map[int]error) error {
	for _, err := range errs {
		return err
	}
	return nil
}

// strictHeader reads the header block of data as strict parsers do
// (Python's email with policy.default): the value of a field starts after
// its colon and the white space on its first line, and continuation lines
// are joined as they are. It fails tb for a decoded value that starts or
// ends with white space, which such a parser shows.
func strictHeader(tb testing.TB, data []byte) {
	tb.Helper()
	head, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		tb.Errorf("mail has no header/body separator")
		return
	}
	var fields []string
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if len(fields) == 0 {
				tb.Errorf("header starts with a continuation line %q", line)
				return
			}
			fields[len(fields)-1] += line
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			tb.Errorf("header line without colon: %q", line)
			continue
		}
		fields = append(fields, key+":"+strings.TrimLeft(value, " \t"))
	}
	dec := new(mime.WordDecoder)
	for _, f := range fields {
		key, value, _ := strings.Cut(f, ":")
		decoded, err := dec.DecodeHeader(value)
		if err != nil {
			tb.Errorf("header %s: %v", key, err)
			continue
		}
		if strings.TrimSpace(decoded) != decoded {
			tb.Errorf("header %s reads as %q, with white space around it", key, decoded)
		}
	}
	if _, err := mail.ReadMessage(bytes.NewReader(data)); err != nil {
		tb.Errorf("net/mail: %v", err)
	}
}

// TestPostfixRecipientRefusals: Postfix refuses three recipients in a row
// with 450 and one with 550 during a fan-out. The refusals are theirs:
// every other delivery goes out with its first attempt, the breaker
// stays closed, the session that collected the refusals is renewed
// before Postfix slows it down, and every session ends with QUIT, idle
// ones after a short idle time.
func TestPostfixRecipientRefusals(t *testing.T) {
	t.Parallel()
	const n = 60
	s := postfixtest.Start(t, postfixtest.Options{})
	busy := map[int]bool{20: true, 21: true, 22: true}
	const unknownUser = 23
	for i := range busy {
		s.Refuse(t, recipient(i), "450 4.2.1 Mailbox busy, try again later")
	}
	s.Refuse(t, recipient(unknownUser), "550 5.1.1 No such user")

	clock := channeltest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	ch := newPostfixChannel(t, s, func(o *email.Options) { o.Clock = clock })
	chain, err := netpath.NewChain(netpath.ChainOptions{
		Channel:   "mail-soest",
		Endpoints: []netpath.Endpoint{{Name: "relay", Network: "default", Channel: ch}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })

	// One delivery after the other, so that the refusals come in a row.
	want := map[string]*crier.Message{}
	for i := range n {
		m := largeMessage(fmt.Sprintf("a1.1.soest.mail-soest.%d", i), recipient(i))
		_, err := chain.Send(t.Context(), m)
		switch {
		case busy[i]:
			if crier.ErrorCode(err) != crier.ETRANSIENT || !crier.IsRecipient(err) || crier.IsDeferred(err) {
				t.Errorf("recipient %d: %v, want a transient refusal of the recipient", i, err)
			}
		case i == unknownUser:
			if crier.ErrorCode(err) != crier.EPERMANENT || !crier.IsRecipient(err) {
				t.Errorf("recipient %d: %v, want a permanent refusal of the recipient", i, err)
			}
		case err != nil:
			t.Errorf("recipient %d: %v; a refusal of others must cost it no attempt", i, err)
		default:
			want[recipient(i)] = m
		}
	}
	if h := chain.Health()[0]; h.State != netpath.StateClosed || h.Failures != 0 {
		t.Errorf("breaker %s with %d failures, want closed with 0", h.State, h.Failures)
	}
	mails, _ := s.WaitMails(t, len(want), time.Minute)
	checkDelivered(t, mails, want)

	// The pool's sessions end with QUIT once idle for a while.
	waitFor(t, "the idle sweep to wait on the clock", func() bool { return clock.Waiters() > 0 })
	clock.Advance(time.Minute)
	waitFor(t, "every session to end", func() bool {
		log := s.Log()
		return strings.Count(log, "disconnect from") == strings.Count(log, "]: connect from")
	})
	log := s.Log()
	if strings.Count(log, "]: connect from") < 2 {
		t.Errorf("one session carried four refusals; want it renewed:\n%s", log)
	}
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "disconnect from") && !strings.Contains(line, " quit=1") {
			t.Errorf("session ended without QUIT: %s", line)
		}
	}
	noComplaints(t, s)
}

// waitFor polls cond until it holds, or fails tb after a minute.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPostfixShutdownQuits: Close ends every session with QUIT.
func TestPostfixShutdownQuits(t *testing.T) {
	t.Parallel()
	s := postfixtest.Start(t, postfixtest.Options{})
	ch := newPostfixChannel(t, s, nil)
	if errs := fanOut(ch, 40, func(i int) *crier.Message {
		return testMessage(fmt.Sprintf("k%d", i), recipient(i))
	}); len(errs) > 0 {
		t.Fatalf("%d sends failed, e.g. %v", len(errs), firstError(errs))
	}
	ch.Close()
	waitFor(t, "every session to end", func() bool {
		log := s.Log()
		return strings.Count(log, "disconnect from") == strings.Count(log, "]: connect from")
	})
	for line := range strings.SplitSeq(s.Log(), "\n") {
		if strings.Contains(line, "disconnect from") && !strings.Contains(line, " quit=1") {
			t.Errorf("session ended without QUIT: %s", line)
		}
	}
	s.WaitMails(t, 40, time.Minute)
}

// TestPostfixStopStart stops Postfix in the middle of a fan-out and
// starts it again. A send that failed transiently is sent again once
// Postfix runs; one whose outcome is unknown is not. Every mail arrives
// once, one with an unknown outcome at most once, where "arrives" counts
// the mails Postfix accepted: Postfix may deliver one of them twice when
// the stop cuts its delivery.
func TestPostfixStopStart(t *testing.T) {
	t.Parallel()
	const n = 240
	s := postfixtest.Start(t, postfixtest.Options{})
	ch := newPostfixChannel(t, s, func(o *email.Options) { o.Timeout = 10 * time.Second })
	msg := func(i int) *crier.Message {
		return largeMessage(fmt.Sprintf("a1.1.soest.mail-soest.%d", i), recipient(i))
	}

	// Postfix stops once a quarter of the mails have been accepted, and
	// starts again at once.
	var accepted atomic.Int64
	quarter := make(chan struct{})
	restarted := make(chan struct{})
	go func() {
		<-quarter
		s.Stop(t)
		s.Restart(t)
		close(restarted)
	}()

	var mu sync.Mutex
	unknown := map[string]bool{}
	var transient int
	work := make(chan int)
	var wg sync.WaitGroup
	for range postfixWorkers {
		wg.Go(func() {
			for i := range work {
				for {
					_, err := ch.Send(context.Background(), msg(i))
					if err == nil {
						if accepted.Add(1) == n/4 {
							close(quarter)
						}
						break
					}
					code := crier.ErrorCode(err)
					mu.Lock()
					if code == crier.ETRANSIENT {
						transient++
					} else {
						unknown[recipient(i)] = true
					}
					mu.Unlock()
					if code != crier.ETRANSIENT {
						if code != crier.EUNKNOWN {
							t.Errorf("recipient %d: %v, want transient or unknown", i, err)
						}
						break
					}
					<-restarted // sent again once Postfix runs
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	<-restarted
	t.Logf("%d transient failures, %d unknown outcomes", transient, len(unknown))

	// Every mail that was sent arrives; one with an unknown outcome may.
	s.WaitMails(t, n-len(unknown), time.Minute)
	waitFor(t, "Postfix's queue to empty", s.QueueEmpty)
	want := map[string]*crier.Message{}
	for i := range n {
		if !unknown[recipient(i)] {
			want[recipient(i)] = msg(i)
		}
	}
	var known [][]byte
	copies := map[string]int{}
	// What crier sent is what Postfix accepted; a stop can make Postfix
	// itself deliver an accepted mail twice.
	for _, raw := range s.Accepted(t) {
		to := strings.Trim(parseMail(t, raw).Header["To"], "<>")
		if unknown[to] {
			if copies[to]++; copies[to] > 1 {
				t.Errorf("%s, whose outcome was unknown, received %d mails", to, copies[to])
			}
			continue
		}
		known = append(known, raw)
	}
	checkDelivered(t, known, want)
}

// TestPostfixChunkNoStall: a mail over 4 KB sent as a BDAT chunk with its
// commands takes no longer than one sent with DATA. Postfix answers MAIL
// FROM and RCPT TO early and holds its final reply until that early
// reply is acknowledged, which a client with delayed acknowledgements
// made wait up to 40 ms per mail. The mails alternate between the two
// ways, so that the load of the machine weighs on both alike.
func TestPostfixChunkNoStall(t *testing.T) {
	t.Parallel()
	s := postfixtest.Start(t, postfixtest.Options{})
	one := func(o *email.Options) { o.Connections = 1 }
	chunked := newPostfixChannel(t, s, one)
	data := newPostfixChannel(t, s, func(o *email.Options) { one(o); o.NoChunking = true })
	const n = 31
	var took [2][]time.Duration
	for i := range n {
		for j, ch := range []*email.Channel{chunked, data} {
			m := largeMessage(fmt.Sprintf("stall.%d.%d", j, i), recipient(2*i+j))
			start := time.Now()
			if _, err := ch.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			if i > 0 { // after the session's start
				took[j] = append(took[j], time.Since(start))
			}
		}
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	bdat, dat := median(took[0]), median(took[1])
	t.Logf("median per ~40 KB mail: BDAT %s, DATA %s", bdat, dat)
	if bdat > dat+20*time.Millisecond {
		t.Errorf("median per ~40 KB mail: BDAT %s, DATA %s; the chunk waits for a delayed acknowledgement", bdat, dat)
	}
}

// TestPostfixStartTLS sends over STARTTLS to a Postfix whose certificate
// a test authority signed: trusted through ca_file or a pin of its key,
// without them refused as gone (permanent for the endpoint, not for the
// mail), with a message naming both settings.
func TestPostfixStartTLS(t *testing.T) {
	t.Parallel()
	s := postfixtest.Start(t, postfixtest.Options{})
	tests := []struct {
		name   string
		change func(*email.Options)
		code   string // "" for success
		text   string
	}{
		{"ca_file", func(o *email.Options) { o.CAFile = s.CAFile }, "", ""},
		{"pin", func(o *email.Options) { o.PinSHA256 = s.PinSHA256 }, "", ""},
		{"pin in base64 with another name", func(o *email.Options) {
			o.PinSHA256 = pinBase64(t, s.PinSHA256)
			o.TLSConfig = &tls.Config{ServerName: "relay.invalid"}
		}, "", ""},
		{"system roots only", nil, crier.EPERMANENT, "set ca_file to the PEM file of the authority that signed it, or tls_pin_sha256 to the SHA-256 of its public key (" + s.PinSHA256 + ")"},
		{"another pin", func(o *email.Options) { o.PinSHA256 = strings.Repeat("ab", 32) }, crier.EPERMANENT, "does not match tls_pin_sha256"},
	}
	for i, tt := range tests {
		ch := newPostfixChannel(t, s, func(o *email.Options) {
			o.TLS, o.Connections = email.TLSStartTLS, 1
			if tt.change != nil {
				tt.change(o)
			}
		})
		m := testMessage(fmt.Sprintf("tls.%d", i), recipient(i))
		_, err := ch.Send(t.Context(), m)
		if got := crier.ErrorCode(err); got != tt.code {
			t.Errorf("%s: error %q (%v), want %q", tt.name, got, err, tt.code)
		}
		if tt.text != "" && (err == nil || !strings.Contains(err.Error(), tt.text)) {
			t.Errorf("%s: error %v does not say %q", tt.name, err, tt.text)
		}
		perr := ch.Probe(t.Context())
		if got := crier.ErrorCode(perr); got != tt.code {
			t.Errorf("%s: probe error %q (%v), want %q", tt.name, got, perr, tt.code)
		}
		if want := tt.code != ""; crier.IsGone(err) != want || crier.IsGone(perr) != want {
			t.Errorf("%s: gone %t (send), %t (probe); want %t", tt.name, crier.IsGone(err), crier.IsGone(perr), want)
		}
	}
	s.WaitMails(t, 3, time.Minute)
	if n := strings.Count(s.Log(), "TLS connection established"); n < 3 {
		t.Errorf("Postfix logged %d TLS sessions, want at least 3", n)
	}
}

func pinBase64(tb testing.TB, hexPin string) string {
	tb.Helper()
	b, err := hex.DecodeString(hexPin)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
