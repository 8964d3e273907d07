package email_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email"
	"github.com/google/go-cmp/cmp"
)

// lockstepRelay is a small SMTP server for what smtptest's server cannot
// be: a relay without PIPELINING or CHUNKING, which notes every command
// that arrives before it has answered the one before, a broken relay that
// answers DATA with 354 after it has refused the only recipient, and one
// that hangs up after a chunk without a reply.
type lockstepRelay struct {
	l          net.Listener
	pipelining bool // offer PIPELINING
	dataAnyway bool // take DATA without a recipient, refuse the mail after it
	chunking   bool // offer CHUNKING
	wg         sync.WaitGroup

	mu       sync.Mutex
	rcpt     string   // the reply to RCPT TO; empty: 250
	bdat     string   // the reply to BDAT with recipients; empty: 250, "hang up": none
	commands []string // in order, of all sessions
	early    []string // commands sent before the reply to the one before
	mails    [][]byte // as received, dot-stuffing undone
	sessions int
	conns    []net.Conn
}

// newLockstepRelay starts a relay that stops at the end of tb. Options
// such as chunking set more of it before it starts.
func newLockstepRelay(tb testing.TB, pipelining, dataAnyway bool, opts ...func(*lockstepRelay)) *lockstepRelay {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &lockstepRelay{l: l, pipelining: pipelining, dataAnyway: dataAnyway}
	for _, o := range opts {
		o(r)
	}
	r.wg.Go(r.accept)
	tb.Cleanup(func() {
		l.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

// options returns channel options for the relay.
func (r *lockstepRelay) options() email.Options {
	a := r.l.Addr().(*net.TCPAddr)
	return email.Options{
		Host: a.IP.String(), Port: a.Port, TLS: email.TLSNone,
		From: "Stadt Soest <presse@soest.example>", Clock: fixedClock(testTime), HELO: "crier.test",
	}
}

func (r *lockstepRelay) accept() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.sessions++
		r.mu.Unlock()
		r.wg.Go(func() { r.serve(c) })
	}
}

// serve runs one session.
func (r *lockstepRelay) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	say := func(lines ...string) { _, _ = io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n") }
	say("220 lockstep.invalid ESMTP")
	from, rcpts := false, 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		r.note(line, br.Buffered() > 0)
		verb, _, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-lockstep.invalid", "250-8BITMIME", "250-SMTPUTF8", "250 ENHANCEDSTATUSCODES"}
			if r.pipelining {
				ext = slices.Insert(ext, 1, "250-PIPELINING")
			}
			if r.chunking {
				ext = slices.Insert(ext, 1, "250-CHUNKING")
			}
			say(ext...)
		case "MAIL":
			from = true
			say("250 2.1.0 OK")
		case "RCPT":
			switch reply := r.rcptReply(); {
			case !from:
				say("503 5.5.1 MAIL first")
			case reply != "":
				say(reply)
			default:
				rcpts++
				say("250 2.1.5 OK")
			}
		case "DATA":
			if rcpts == 0 && !r.dataAnyway {
				say("554 5.5.1 no valid recipients")
				continue
			}
			say("354 go ahead")
			data, err := readData(br)
			if err != nil {
				return
			}
			if rcpts == 0 {
				say("554 5.5.1 no valid recipients")
			} else {
				r.mu.Lock()
				r.mails = append(r.mails, data)
				r.mu.Unlock()
				say("250 2.0.0 queued")
			}
			from, rcpts = false, 0
		case "BDAT":
			// Only "BDAT size LAST", the one chunk crier sends.
			var size int
			if _, err := fmt.Sscanf(line, "BDAT %d LAST", &size); err != nil || size < 0 {
				say("501 5.5.4 malformed BDAT")
				return
			}
			data := make([]byte, size)
			if _, err := io.ReadFull(br, data); err != nil {
				return
			}
			switch reply := r.bdatReply(); {
			case !from || rcpts == 0:
				say("554 5.5.1 no valid recipients")
			case reply == "hang up":
				return
			case reply != "":
				say(reply)
			default:
				r.mu.Lock()
				r.mails = append(r.mails, data)
				r.mu.Unlock()
				say("250 2.0.0 queued")
			}
			from, rcpts = false, 0
		case "RSET":
			from, rcpts = false, 0
			say("250 2.0.0 OK")
		case "NOOP":
			say("250 2.0.0 OK")
		case "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("502 5.5.2 not implemented")
		}
	}
}

// readData reads a mail up to its "." line and undoes dot-stuffing.
func readData(br *bufio.Reader) ([]byte, error) {
	var data []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == ".\r\n" {
			return data, nil
		}
		if !strings.HasSuffix(line, "\r\n") {
			return nil, errors.New("bare LF in data")
		}
		data = append(data, strings.TrimPrefix(line, ".")...)
	}
}

func (r *lockstepRelay) note(cmd string, early bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, cmd)
	if early {
		r.early = append(r.early, cmd)
	}
}

func (r *lockstepRelay) rcptReply() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rcpt
}

func (r *lockstepRelay) bdatReply() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bdat
}

// answerBdat makes the relay answer BDAT with reply: "" accepts, "hang up"
// closes the session without a reply.
func (r *lockstepRelay) answerBdat(reply string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bdat = reply
}

// chunking makes a relay offer CHUNKING.
func chunking(r *lockstepRelay) { r.chunking = true }

// refuseRcpt makes the relay answer RCPT TO with reply; "" accepts.
func (r *lockstepRelay) refuseRcpt(reply string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rcpt = reply
}

// transactions returns the commands of mail transactions so far, in
// order, and the commands sent early.
func (r *lockstepRelay) transactions() (commands, early []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.commands {
		if verb, _, _ := strings.Cut(c, " "); verb != "EHLO" && verb != "QUIT" {
			commands = append(commands, c)
		}
	}
	return commands, slices.Clone(r.early)
}

func (r *lockstepRelay) received() ([][]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mails), r.sessions
}

const (
	lockstepMail = "MAIL FROM:<presse@soest.example> BODY=8BITMIME"
	lockstepRcpt = "RCPT TO:<anna@example.org>"
)

// TestSendWithoutPipelining: to a relay that does not offer PIPELINING,
// each command waits for the reply to the one before; MAIL FROM carries
// what go-mail declared.
func TestSendWithoutPipelining(t *testing.T) {
	r := newLockstepRelay(t, false, false)
	ch := newChannel(t, r.options())
	for i := range 3 {
		if _, err := ch.Send(t.Context(), testMessage("k"+itoa(i), "anna@example.org")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	commands, early := r.transactions()
	want := slices.Repeat([]string{lockstepMail, lockstepRcpt, "DATA"}, 3)
	if diff := cmp.Diff(want, commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if len(early) > 0 {
		t.Errorf("commands sent before the reply to the one before: %q", early)
	}
	mails, sessions := r.received()
	if len(mails) != 3 || sessions != 1 {
		t.Fatalf("relay received %d mails in %d sessions, want 3 in 1", len(mails), sessions)
	}
	for _, m := range mails {
		if got := parseMail(t, m).Parts; len(got) != 2 || got[0].Body != testText || got[1].Body != testHTML {
			t.Errorf("parts = %+v, want the text and the HTML", got)
		}
	}
}

// TestSendPipelines: to a relay that offers PIPELINING, MAIL FROM, RCPT TO
// and DATA go out together.
func TestSendPipelines(t *testing.T) {
	r := newLockstepRelay(t, true, false)
	ch := newChannel(t, r.options())
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	commands, early := r.transactions()
	if diff := cmp.Diff([]string{lockstepMail, lockstepRcpt, "DATA"}, commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{lockstepMail, lockstepRcpt}, early); diff != "" {
		t.Errorf("commands sent ahead of a reply (-want +got):\n%s", diff)
	}
}

// TestSendRefusedRecipient: after a refused RCPT TO, with or without
// PIPELINING, the channel reports the refusal, resets the transaction and
// keeps the session; a relay that takes DATA all the same gets an empty
// mail (RFC 2920 3.1).
func TestSendRefusedRecipient(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		pipelining, dataAnyway bool
		want                   []string // the commands of the refused transaction
	}{
		{"without pipelining", false, false, []string{lockstepMail, lockstepRcpt, "RSET"}},
		{"pipelined", true, false, []string{lockstepMail, lockstepRcpt, "DATA", "RSET"}},
		{"pipelined, DATA taken", true, true, []string{lockstepMail, lockstepRcpt, "DATA", "RSET"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newLockstepRelay(t, tt.pipelining, tt.dataAnyway)
			ch := newChannel(t, r.options())
			r.refuseRcpt("550 5.1.1 no such user")
			_, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
			if got := crier.ErrorCode(err); got != crier.EPERMANENT {
				t.Fatalf("error code = %q, want permanent (err: %v)", got, err)
			}
			if msg := crier.ErrorMessage(err); !strings.Contains(msg, "550") || !strings.Contains(msg, "5.1.1 no such user") {
				t.Errorf("error message %q does not contain the relay's reply", msg)
			}
			r.refuseRcpt("")
			if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
				t.Fatalf("Send after a refusal: %v", err)
			}
			commands, _ := r.transactions()
			want := append(tt.want, lockstepMail, lockstepRcpt, "DATA")
			if diff := cmp.Diff(want, commands); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			mails, sessions := r.received()
			if len(mails) != 1 || sessions != 1 {
				t.Errorf("relay took %d mails in %d sessions, want 1 in 1", len(mails), sessions)
			}
		})
	}
}

// TestSendSMTPUTF8OnlyWhenNeeded: MAIL FROM asks for SMTPUTF8 only for a
// recipient whose address is not ASCII, even from a relay that offers it.
func TestSendSMTPUTF8OnlyWhenNeeded(t *testing.T) {
	r := newLockstepRelay(t, true, false)
	ch := newChannel(t, r.options())
	for i, rcpt := range []string{"anna@example.org", "jürgen@example.org"} {
		if _, err := ch.Send(t.Context(), testMessage("k"+itoa(i), rcpt)); err != nil {
			t.Fatalf("Send to %s: %v", rcpt, err)
		}
	}
	commands, _ := r.transactions()
	var mails []string
	for _, c := range commands {
		if strings.HasPrefix(c, "MAIL ") {
			mails = append(mails, c)
		}
	}
	want := []string{lockstepMail, lockstepMail + " SMTPUTF8"}
	if diff := cmp.Diff(want, mails); diff != "" {
		t.Errorf("MAIL FROM commands (-want +got):\n%s", diff)
	}
}
