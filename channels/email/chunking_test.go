package email_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
)

// dotText has lines that start with "." and "..", which DATA must
// dot-stuff and a BDAT chunk must carry as they are.
const dotText = "Das Bürgerbüro ist geschlossen.\n.\n..Punkte am Zeilenanfang\n.profile bleibt, wie es ist.\n"

// bdatLine returns the BDAT command for a chunk of size bytes.
func bdatLine(size int) string { return "BDAT " + itoa(size) + " LAST" }

// TestSendChunks: to a relay that offers CHUNKING and PIPELINING, a mail
// goes out as one BDAT chunk in the same write as MAIL FROM and RCPT TO,
// and arrives as the same mail that DATA delivers, lines starting with "."
// included.
func TestSendChunks(t *testing.T) {
	chunked := newLockstepRelay(t, true, false, chunking)
	plain := newLockstepRelay(t, true, false)
	for _, r := range []*lockstepRelay{chunked, plain} {
		ch := newChannel(t, r.options())
		for i := range 2 {
			m := testMessage("k"+itoa(i), "anna@example.org")
			m.Text = dotText
			if _, err := ch.Send(t.Context(), m); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
	}
	mails, sessions := chunked.received()
	if len(mails) != 2 || sessions != 1 {
		t.Fatalf("relay received %d mails in %d sessions, want 2 in 1", len(mails), sessions)
	}
	// The chunk is the mail as DATA delivers it, byte for byte as long.
	viaData, _ := plain.received()
	commands, early := chunked.transactions()
	want := []string{lockstepMail, lockstepRcpt, bdatLine(len(viaData[0])), lockstepMail, lockstepRcpt, bdatLine(len(viaData[1]))}
	if diff := cmp.Diff(want, commands); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, early); diff != "" {
		t.Errorf("commands sent ahead of a reply (-want +got):\n%s", diff)
	}
	for i := range mails {
		got, data := parseMail(t, mails[i]), parseMail(t, viaData[i])
		if len(got.Parts) != 2 || got.Parts[0].Body != dotText {
			t.Errorf("mail %d: parts %+v, want the text with its dot lines", i, got.Parts)
		}
		if diff := cmp.Diff(data.Parts, got.Parts); diff != "" {
			t.Errorf("mail %d as a chunk differs from the same mail sent with DATA (-data +chunk):\n%s", i, diff)
		}
	}
}

// TestSendChunkRefusals: a refused recipient or chunk is reported like
// the same refusal with DATA, and the session carries the next mail.
func TestSendChunkRefusals(t *testing.T) {
	for _, tt := range []struct {
		name       string
		rcpt, bdat string
		code       string
		reply      string
	}{
		{name: "550 at RCPT", rcpt: "550 5.1.1 no such user", code: crier.EPERMANENT, reply: "5.1.1 no such user"},
		{name: "452 at BDAT", bdat: "452 4.3.1 insufficient storage", code: crier.ETRANSIENT, reply: "4.3.1 insufficient storage"},
		{name: "554 at BDAT", bdat: "554 5.7.1 rejected as spam", code: crier.EPERMANENT, reply: "5.7.1 rejected as spam"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newLockstepRelay(t, true, false, chunking)
			ch := newChannel(t, r.options())
			r.refuseRcpt(tt.rcpt)
			r.answerBdat(tt.bdat)
			_, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
			if got := crier.ErrorCode(err); got != tt.code {
				t.Fatalf("error code = %q, want %q (err: %v)", got, tt.code, err)
			}
			if msg := crier.ErrorMessage(err); !strings.Contains(msg, tt.reply) {
				t.Errorf("error message %q does not contain the relay's reply %q", msg, tt.reply)
			}
			r.refuseRcpt("")
			r.answerBdat("")
			if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
				t.Fatalf("Send after a refusal: %v", err)
			}
			mails, sessions := r.received()
			if len(mails) != 1 || sessions != 1 {
				t.Fatalf("relay took %d mails in %d sessions, want 1 in 1", len(mails), sessions)
			}
			commands, _ := r.transactions()
			i := slices.Index(commands, "RSET")
			if i != 3 || len(commands) != 7 {
				t.Errorf("commands %q, want the refused transaction, RSET, and the next one", commands)
			}
		})
	}
}

// TestSendChunkLostReply: once a mail went out as a chunk, a session lost
// before the relay's reply leaves its outcome unknown, never retried.
func TestSendChunkLostReply(t *testing.T) {
	r := newLockstepRelay(t, true, false, chunking)
	ch := newChannel(t, r.options())
	r.answerBdat("hang up")
	_, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
	var e *crier.Error
	if !errors.As(err, &e) || e.Code != crier.EUNKNOWN || e.Retryable {
		t.Fatalf("err = %v, want an unknown outcome that is not retryable", err)
	}
	if msg := crier.ErrorMessage(err); !strings.Contains(msg, "may have been delivered") {
		t.Errorf("error message %q does not say that the mail may have been delivered", msg)
	}
	r.answerBdat("")
	if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
		t.Fatalf("Send after a lost session: %v", err)
	}
	if _, sessions := r.received(); sessions != 2 {
		t.Errorf("sessions = %d, want 2: the lost one is not reused", sessions)
	}
}

// TestSendChunksOnlyOverLiveSessions: a session idle for a while may have
// been dropped by the relay, so its next mail goes out with DATA, whose
// reply to MAIL FROM shows that first; the mails after it go as chunks
// again. With NoChunking every mail goes with DATA.
func TestSendChunksOnlyOverLiveSessions(t *testing.T) {
	for _, tt := range []struct {
		name       string
		noChunking bool
		want       []string // the last verb of each transaction
	}{
		{"chunking", false, []string{"BDAT", "BDAT", "DATA", "BDAT"}},
		{"NoChunking", true, []string{"DATA", "DATA", "DATA", "DATA"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newLockstepRelay(t, true, false, chunking)
			o := r.options()
			clock := &stepClock{now: testTime}
			o.Clock, o.NoChunking = clock, tt.noChunking
			ch := newChannel(t, o)
			for i, idle := range []time.Duration{0, 0, 5 * time.Second, 0} {
				clock.add(idle)
				if _, err := ch.Send(t.Context(), testMessage("k"+itoa(i), "anna@example.org")); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
			}
			commands, _ := r.transactions()
			var last []string
			for _, c := range commands {
				if verb, _, _ := strings.Cut(c, " "); verb == "BDAT" || verb == "DATA" {
					last = append(last, verb)
				}
			}
			if diff := cmp.Diff(tt.want, last); diff != "" {
				t.Errorf("transactions (-want +got):\n%s", diff)
			}
			if mails, sessions := r.received(); len(mails) != 4 || sessions != 1 {
				t.Errorf("relay took %d mails in %d sessions, want 4 in 1", len(mails), sessions)
			}
		})
	}
}

// TestSendChunkOverDroppedLiveSession: a live session that the relay has
// dropped fails only after the chunk went out, so the mail is unknown and
// not sent again over a new session, unlike a stale idle one (see
// TestSendRedialsStaleConnection).
func TestSendChunkOverDroppedLiveSession(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send 1: %v", err)
	}
	s.Disconnect()
	_, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org"))
	if got := crier.ErrorCode(err); got != crier.EUNKNOWN {
		t.Fatalf("error code = %q, want unknown (err: %v)", got, err)
	}
	if got := s.Sessions(); got != 1 {
		t.Errorf("sessions = %d, want 1: the mail must not go out again over a new session", got)
	}
}
