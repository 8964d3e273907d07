package email_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/google/go-cmp/cmp"
)

const (
	testSubject = "Bürgerbüro geschlossen – Stadt Soest"
	testText    = "Liebe Bürgerinnen und Bürger,\n\ndas Bürgerbüro am Vreithof bleibt wegen einer Störung geschlossen.\nTelefon: 02921 103-0 – Mo–Fr 8–12 Uhr.\n"
	testHTML    = "<p>Liebe Bürgerinnen und Bürger,</p>\n<p>das Bürgerbüro am Vreithof bleibt wegen einer Störung geschlossen.</p>\n"
)

func testMessage(key, rcpt string) *crier.Message {
	return &crier.Message{
		Announcement:   "a1",
		Revision:       1,
		Town:           "soest",
		Channel:        "mail-soest",
		Type:           "email",
		Event:          crier.EventPublished,
		Mode:           crier.ModeActual,
		Language:       "de",
		Subject:        testSubject,
		Text:           testText,
		HTML:           testHTML,
		PerSubscriber:  true,
		Key:            key,
		Recipient:      rcpt,
		UnsubscribeURL: "https://krisen.soest.example/soest/unsubscribe?t=abc.def",
	}
}

func TestSendHeadersAndBody(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)

	m := testMessage("a1.1.soest.mail-soest.17", "anna@example.org")
	r, err := ch.Send(t.Context(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	wantReceipt := &crier.Receipt{RemoteID: "<a1.1.soest.mail-soest.17@soest.example>", Endpoint: s.Addr()}
	if diff := cmp.Diff(wantReceipt, r); diff != "" {
		t.Errorf("receipt (-want +got):\n%s", diff)
	}

	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	if got[0].From != "presse@soest.example" || !slices.Equal(got[0].To, []string{"anna@example.org"}) {
		t.Errorf("envelope = %s -> %q, want presse@soest.example -> [anna@example.org]", got[0].From, got[0].To)
	}
	msg := parseMail(t, got[0].Data)
	want := parsedMail{
		Header: map[string]string{
			"Message-Id":            "<a1.1.soest.mail-soest.17@soest.example>",
			"From":                  `"Stadt Soest" <presse@soest.example>`,
			"To":                    "<anna@example.org>",
			"Subject":               testSubject,
			"Date":                  testTime.Format(time.RFC1123Z),
			"List-Unsubscribe":      "<https://krisen.soest.example/soest/unsubscribe?t=abc.def>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Auto-Submitted":        "auto-generated",
			"Content-Language":      "de",
			"Mime-Version":          "1.0",
		},
		Type: "multipart/alternative",
		Parts: []part{
			{Type: "text/plain", Charset: "UTF-8", Body: testText},
			{Type: "text/html", Charset: "UTF-8", Body: testHTML},
		},
	}
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("received mail (-want +got):\n%s", diff)
	}
	if raw := headerBlock(got[0].Data); !isASCII(raw) {
		t.Errorf("header block is not 7-bit ASCII:\n%s", raw)
	}
	wantDecoded(t, got[0], "a1.1.soest.mail-soest.17", testSubject, testText, testHTML)
}

func TestSendTextOnlyAndEncodedFrom(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	o.From = "Gemeinde Möhnesee <presse@moehnesee.example>"
	ch := newChannel(t, o)

	m := testMessage("a1.1.moehnesee.mail.3", "bernd@example.org")
	m.HTML = ""
	m.UnsubscribeURL = "http://127.0.0.1:8080/moehnesee/unsubscribe?t=x" // a local test setup
	m.Language = ""
	if _, err := ch.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	msg := parseMail(t, got[0].Data)
	want := parsedMail{
		Header: map[string]string{
			"Message-Id":            "<a1.1.moehnesee.mail.3@moehnesee.example>",
			"From":                  `"Gemeinde Möhnesee" <presse@moehnesee.example>`,
			"To":                    "<bernd@example.org>",
			"Subject":               testSubject,
			"Date":                  testTime.Format(time.RFC1123Z),
			"List-Unsubscribe":      "<http://127.0.0.1:8080/moehnesee/unsubscribe?t=x>",
			"List-Unsubscribe-Post": "", // one-click needs HTTPS (RFC 8058)
			"Auto-Submitted":        "auto-generated",
			"Content-Language":      "",
			"Mime-Version":          "1.0",
		},
		Type:  "text/plain",
		Parts: []part{{Type: "text/plain", Charset: "UTF-8", Body: testText}},
	}
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("received mail (-want +got):\n%s", diff)
	}
	if raw := headerBlock(got[0].Data); !isASCII(raw) {
		t.Errorf("header block is not 7-bit ASCII:\n%s", raw)
	}
	wantDecoded(t, got[0], "a1.1.moehnesee.mail.3", testSubject, testText, "")
}

// unavailableAt sets a relay to answer 451 at step.
func unavailableAt(step smtptest.Step) func(*smtptest.Server) {
	return func(s *smtptest.Server) { s.Fail(step, 451, "4.3.0 try again later at "+stepName(step)) }
}

// rejectAt sets a relay to answer 550 at step.
func rejectAt(step smtptest.Step) func(*smtptest.Server) {
	return func(s *smtptest.Server) { s.Fail(step, 550, "5.1.1 mailbox unavailable at "+stepName(step)) }
}

// rateLimitAt sets a relay to answer 452 at step.
func rateLimitAt(step smtptest.Step) func(*smtptest.Server) {
	return func(s *smtptest.Server) { s.Fail(step, 452, "4.5.3 too many messages, slow down") }
}

// hangAt sets a relay to send no reply at step.
func hangAt(step smtptest.Step) func(*smtptest.Server) {
	return func(s *smtptest.Server) { s.HangAt(step) }
}

func stepName(step smtptest.Step) string { return strings.ToLower(string(step)) }

// classifyCase is a relay's behaviour and the error a send then ends with.
type classifyCase struct {
	name    string
	relay   func(*smtptest.Server) // nil: accept
	timeout time.Duration          // of the caller's context; 0: none
	code    string
	text    string // in the error message
	reply   string // the relay's text, also in the error message
	// chunked and chunkedText replace code and text when the mail went
	// out as a chunk; empty: the same.
	chunked, chunkedText string
}

// TestSendClassification runs each case over a live session, where the
// mail goes out as a BDAT chunk, and with NoChunking, where it goes out
// with DATA. The two differ where the relay stops answering before the
// final reply: after a chunk the mail may have been delivered.
func TestSendClassification(t *testing.T) {
	tests := []classifyCase{
		{name: "accept"},
		{name: "451 at RCPT", relay: unavailableAt(smtptest.StepRcpt), code: crier.ETRANSIENT, text: "451"},
		{name: "451 after DATA", relay: unavailableAt(smtptest.StepData), code: crier.ETRANSIENT, text: "451"},
		{name: "452 at RCPT", relay: rateLimitAt(smtptest.StepRcpt), code: crier.ETRANSIENT, text: "452"},
		{name: "550 at MAIL", relay: rejectAt(smtptest.StepMail), code: crier.EPERMANENT, text: "550", reply: "5.1.1 mailbox unavailable at mail"},
		{name: "550 at RCPT", relay: rejectAt(smtptest.StepRcpt), code: crier.EPERMANENT, text: "550", reply: "5.1.1 mailbox unavailable at rcpt"},
		{name: "550 after DATA", relay: rejectAt(smtptest.StepData), code: crier.EPERMANENT, text: "550", reply: "5.1.1 mailbox unavailable at data"},
		{name: "no answer to RCPT", relay: hangAt(smtptest.StepRcpt), timeout: 200 * time.Millisecond, code: crier.ETRANSIENT, text: "deadline exceeded",
			chunked: crier.EUNKNOWN, chunkedText: "no final reply came"},
		{name: "no answer after DATA", relay: hangAt(smtptest.StepData), timeout: 200 * time.Millisecond, code: crier.EUNKNOWN, text: "no final reply came"},
		{name: "connection lost after DATA", relay: (*smtptest.Server).Drop, code: crier.EUNKNOWN, text: "no final reply came"},
	}
	for _, noChunking := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if noChunking {
				name += ", NoChunking"
			} else if tt.chunked != "" {
				tt.code, tt.text = tt.chunked, tt.chunkedText
			}
			t.Run(name, func(t *testing.T) { testClassification(t, tt, noChunking) })
		}
	}
}

func testClassification(t *testing.T, tt classifyCase, noChunking bool) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	o.NoChunking = noChunking
	ch := newChannel(t, o)
	// Warm up, so that the failing send runs over a reused session.
	if _, err := ch.Send(t.Context(), testMessage("warm", "anna@example.org")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if tt.relay != nil {
		tt.relay(s)
	}
	ctx := t.Context()
	if tt.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tt.timeout)
		defer cancel()
	}
	start := time.Now()
	_, err := ch.Send(ctx, testMessage("k1", "anna@example.org"))
	if tt.timeout > 0 && time.Since(start) > tt.timeout+2*time.Second {
		t.Errorf("Send took %s with a %s deadline", time.Since(start), tt.timeout)
	}
	if got := crier.ErrorCode(err); got != tt.code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, tt.code, err)
	}
	if err == nil {
		if diff := cmp.Diff([]string{"warm", "k1"}, keys(t, s)); diff != "" {
			t.Errorf("accepted keys (-want +got):\n%s", diff)
		}
		return
	}
	for _, want := range []string{tt.text, tt.reply} {
		if msg := crier.ErrorMessage(err); !strings.Contains(msg, want) {
			t.Errorf("error message %q does not contain %q", msg, want)
		}
	}
	var e *crier.Error
	if errors.As(err, &e) && e.Retryable {
		t.Errorf("error is Retryable; SMTP does not deduplicate")
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("relay took %d messages, want only the warm-up", n)
	}
}

// TestSendCanceledWhileWaitingForRelay: a caller that gives up while the
// relay has not answered ends the send at once. Over a new session the
// mail goes out as a chunk with its commands, and may have been delivered
// whichever reply is missing; with NoChunking only after DATA.
func TestSendCanceledWhileWaitingForRelay(t *testing.T) {
	for _, tt := range []struct {
		at         smtptest.Step
		noChunking bool
		want       string
	}{
		{smtptest.StepRcpt, false, crier.EUNKNOWN},
		{smtptest.StepData, false, crier.EUNKNOWN},
		{smtptest.StepRcpt, true, crier.ETRANSIENT},
		{smtptest.StepData, true, crier.EUNKNOWN},
	} {
		name := string(tt.at)
		if tt.noChunking {
			name += ", NoChunking"
		}
		t.Run(name, func(t *testing.T) {
			s, o := newRelay(t, email.TLSNone, smtptest.Options{})
			s.HangAt(tt.at)
			o.NoChunking = tt.noChunking
			ch := newChannel(t, o)
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-s.Waiting()
				cancel()
			}()
			_, err := ch.Send(ctx, testMessage("k1", "anna@example.org"))
			if got := crier.ErrorCode(err); got != tt.want {
				t.Fatalf("error code = %q, want %q (err: %v)", got, tt.want, err)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v is not context.Canceled", err)
			}
		})
	}
}

func TestSendUnknownIsNotRetryable(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	s.Drop()
	ch := newChannel(t, o)
	_, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
	var e *crier.Error
	if !errors.As(err, &e) || e.Code != crier.EUNKNOWN || e.Retryable {
		t.Fatalf("err = %#v, want an unknown outcome that is not retryable", err)
	}
	// The lost session is not reused: the next message gets a new one.
	s.Accept()
	if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
		t.Fatalf("Send after a lost connection: %v", err)
	}
	if got := s.Sessions(); got != 2 {
		t.Errorf("sessions = %d, want 2", got)
	}
}

func TestSendKeepsSessionAfterRefusal(t *testing.T) {
	for _, tt := range []struct {
		name  string
		relay func(*smtptest.Server)
	}{
		{"550 at MAIL", rejectAt(smtptest.StepMail)},
		{"550 at RCPT", rejectAt(smtptest.StepRcpt)},
		{"550 after DATA", rejectAt(smtptest.StepData)},
		{"451 at RCPT", unavailableAt(smtptest.StepRcpt)},
		{"451 after DATA", unavailableAt(smtptest.StepData)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, o := newRelay(t, email.TLSNone, smtptest.Options{})
			ch := newChannel(t, o)
			tt.relay(s)
			if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err == nil {
				t.Fatal("Send succeeded, want a refusal")
			}
			s.Accept()
			if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
				t.Fatalf("Send after a refusal: %v", err)
			}
			if diff := cmp.Diff([]string{"k2"}, keys(t, s)); diff != "" {
				t.Errorf("accepted keys (-want +got):\n%s", diff)
			}
			if got := s.Sessions(); got != 1 {
				t.Errorf("sessions = %d, want 1: a refusal leaves the session usable", got)
			}
		})
	}
}

// TestSendRenewsSessionAfterRefusals: a relay counts the errors of a
// session and slows it down or drops it after a few; the channel renews
// a session after three refused recipients, and a refusal of a recipient
// is classified as that recipient's.
func TestSendRenewsSessionAfterRefusals(t *testing.T) {
	for _, noChunking := range []bool{false, true} {
		s, o := newRelay(t, email.TLSNone, smtptest.Options{})
		o.Connections, o.NoChunking = 1, noChunking
		ch := newChannel(t, o)
		s.Fail(smtptest.StepRcpt, 450, "4.2.1 Mailbox busy")
		for i := range 7 {
			_, err := ch.Send(t.Context(), testMessage("k"+itoa(i), "anna@example.org"))
			if crier.ErrorCode(err) != crier.ETRANSIENT || !crier.IsRecipient(err) {
				t.Fatalf("send %d: %v, want a transient refusal of the recipient", i, err)
			}
		}
		if got := s.Sessions(); got != 3 {
			t.Errorf("no chunking %t: 7 refusals over %d sessions, want 3 (renewed after 3 refusals)", noChunking, got)
		}
	}
}

func TestSendConnectFailures(t *testing.T) {
	refused := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port
	}
	plain, plainOpts := newRelay(t, email.TLSNone, smtptest.Options{})
	implicit, implicitOpts := newRelay(t, email.TLSImplicit, smtptest.Options{})
	starttls, starttlsOpts := newRelay(t, email.TLSStartTLS, smtptest.Options{})
	authed, authedOpts := newRelay(t, email.TLSStartTLS, smtptest.Options{Auth: presse})

	tests := []struct {
		name   string
		opts   func() email.Options
		target *smtptest.Server // must see no message
		text   string
		is     error
		code   string // default transient
	}{
		{
			name: "connection refused",
			opts: func() email.Options { o := plainOpts; o.Port = refused(); return o },
			text: "connection refused",
		},
		{
			name: "DNS failure",
			opts: func() email.Options {
				o := plainOpts
				o.Host = "relay.invalid"
				o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					return nil, &net.DNSError{Err: "no such host", Name: "relay.invalid", IsNotFound: true}
				}
				return o
			},
			text: "no such host",
		},
		{
			name: "dial timeout",
			opts: func() email.Options {
				o := plainOpts
				o.Timeout = 150 * time.Millisecond
				o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return o
			},
			is: context.DeadlineExceeded,
		},
		{
			name:   "implicit TLS with an untrusted certificate",
			opts:   func() email.Options { o := implicitOpts; o.TLSConfig = &tls.Config{RootCAs: nil}; return o },
			target: implicit,
			text:   "set ca_file to the PEM file of the authority that signed it, or tls_pin_sha256",
			code:   crier.EPERMANENT, // a person must change the settings
		},
		{
			name:   "STARTTLS with an untrusted certificate",
			opts:   func() email.Options { o := starttlsOpts; o.TLSConfig = nil; return o },
			target: starttls,
			text:   "set ca_file to the PEM file of the authority that signed it, or tls_pin_sha256",
			code:   crier.EPERMANENT, // a person must change the settings
		},
		{
			name:   "STARTTLS required but not offered",
			opts:   func() email.Options { o := plainOpts; o.TLS = email.TLSStartTLS; return o },
			target: plain,
			text:   "STARTTLS",
		},
		{
			name:   "wrong password",
			opts:   func() email.Options { o := authedOpts; o.Password = "falsch"; return o },
			target: authed,
			text:   "535",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := newChannel(t, tt.opts())
			_, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
			want := tt.code
			if want == "" {
				want = crier.ETRANSIENT
			}
			if got := crier.ErrorCode(err); got != want {
				t.Fatalf("error code = %q, want %s (err: %v)", got, want, err)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.target != nil && len(tt.target.Messages()) != 0 {
				t.Errorf("relay took %d messages", len(tt.target.Messages()))
			}
		})
	}
}

func TestSendCanceledBeforeSending(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := ch.Send(ctx, testMessage("k1", "anna@example.org"))
	if got := crier.ErrorCode(err); got != crier.ETRANSIENT {
		t.Fatalf("error code = %q, want transient (err: %v)", got, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v is not context.Canceled", err)
	}
	if got := s.Sessions(); got != 0 {
		t.Errorf("relay saw %d sessions, want 0", got)
	}
}

func TestSendStartTLSAndAuth(t *testing.T) {
	s, o := newRelay(t, email.TLSStartTLS, smtptest.Options{Auth: presse})
	ch := newChannel(t, o)
	for i := range 3 {
		if _, err := ch.Send(t.Context(), testMessage("k"+itoa(i), "anna@example.org")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if n := len(s.Messages()); n != 3 {
		t.Errorf("relay received %d messages, want 3", n)
	}
	for _, r := range s.Messages() {
		if !r.TLS || r.User != "presse" {
			t.Errorf("message received with tls=%v user=%q, want tls and user presse", r.TLS, r.User)
		}
	}
	if got := s.Sessions(); got != 1 {
		t.Errorf("sessions = %d, want 1", got)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	s, o := newRelay(t, email.TLSImplicit, smtptest.Options{Auth: presse})
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.Messages()
	if len(got) != 1 || !got[0].TLS || got[0].User != "presse" {
		t.Fatalf("received %+v, want one message over TLS from presse", got)
	}
}

func TestSendPlainAuthToLoopback(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{Auth: presse})
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := s.Messages(); len(got) != 1 || got[0].User != "presse" {
		t.Fatalf("received %+v, want one message from presse", got)
	}
}

func TestSendIPv6Host(t *testing.T) {
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		l.Close()
	}
	s, o := newRelay(t, email.TLSImplicit, smtptest.Options{Addr: "[::1]:0", Auth: presse})
	o.Host = "[::1]"
	ch := newChannel(t, o)
	r, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if want := "[::1]:" + itoa(s.Port()); r.Endpoint != want {
		t.Errorf("Endpoint = %q, want %q", r.Endpoint, want)
	}
	if got := s.Messages(); len(got) != 1 || got[0].User != "presse" || !got[0].TLS {
		t.Errorf("received %+v, want one message over TLS from presse", got)
	}
}

func TestSendReusesConnections(t *testing.T) {
	s, o := newRelay(t, email.TLSStartTLS, smtptest.Options{})
	o.Connections = 2
	ch := newChannel(t, o)

	const n = 50
	var want []string
	for i := range n {
		want = append(want, "k"+itoa(i))
	}
	sendAll(t, ch, want, 8)

	if got := s.Sessions(); got > 2 || got < 1 {
		t.Errorf("sessions = %d, want 1 or 2", got)
	}
	got := keys(t, s)
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accepted keys (-want +got):\n%s", diff)
	}
}

func TestSendSequentialUsesOneConnection(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	for i := range 10 {
		if _, err := ch.Send(t.Context(), testMessage("k"+itoa(i), "anna@example.org")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if got := s.Sessions(); got != 1 {
		t.Errorf("sessions = %d, want 1", got)
	}
}

func TestSendConcurrent(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	o.Connections = 8
	ch := newChannel(t, o)
	var want []string
	for i := range 200 {
		want = append(want, "k"+itoa(i))
	}
	sendAll(t, ch, want, 8)
	if got := s.Sessions(); got > 8 {
		t.Errorf("sessions = %d, want at most 8", got)
	}
	got := keys(t, s)
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accepted keys (-want +got):\n%s", diff)
	}
}

// TestSendRedialsStaleConnection: a session that the relay dropped while
// it was idle fails at MAIL FROM, before the mail goes out, and the mail
// goes out over a new session at once.
func TestSendRedialsStaleConnection(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	clock := &stepClock{now: testTime}
	o.Clock = clock
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send 1: %v", err)
	}
	clock.add(10 * time.Second)
	s.Disconnect() // the relay hangs up on the idle session
	if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
		t.Fatalf("Send over a dropped session: %v", err)
	}
	if diff := cmp.Diff([]string{"k1", "k2"}, keys(t, s)); diff != "" {
		t.Errorf("accepted keys (-want +got):\n%s", diff)
	}
	if got := s.Sessions(); got != 2 {
		t.Errorf("sessions = %d, want 2", got)
	}
}

func TestSendRetiresIdleConnection(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	clock := &stepClock{now: testTime}
	o.Clock = clock
	ch := newChannel(t, o)
	send := func(key string) {
		t.Helper()
		if _, err := ch.Send(t.Context(), testMessage(key, "anna@example.org")); err != nil {
			t.Fatalf("Send %s: %v", key, err)
		}
	}
	send("k1")
	clock.add(10 * time.Second)
	send("k2")
	if got := s.Sessions(); got != 1 {
		t.Errorf("after 10s idle: sessions = %d, want 1", got)
	}
	clock.add(time.Minute)
	send("k3")
	if got := s.Sessions(); got != 2 {
		t.Errorf("after a minute idle: sessions = %d, want 2", got)
	}
}

func TestSendAfterClose(t *testing.T) {
	_, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org"))
	if got := crier.ErrorCode(err); got != crier.ETRANSIENT {
		t.Fatalf("Send after Close: error code = %q, want transient (err: %v)", got, err)
	}
	if err := ch.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSendRefusesUnsafeMessages(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *crier.Message)
		text   string
	}{
		{"subject with CR LF", func(m *crier.Message) { m.Subject = "Hallo\r\nBcc: all@example.org" }, "subject"},
		{"subject with LF", func(m *crier.Message) { m.Subject = "Hallo\nX-Evil: 1" }, "subject"},
		{"empty subject", func(m *crier.Message) { m.Subject = " " }, "subject"},
		{"empty text", func(m *crier.Message) { m.Text = "" }, "text"},
		{"recipient with CR LF", func(m *crier.Message) { m.Recipient = "anna@example.org\r\nBcc: all@example.org" }, "recipient"},
		{"recipient with display name", func(m *crier.Message) { m.Recipient = `"Anna" <anna@example.org>` }, "recipient"},
		{"two recipients", func(m *crier.Message) { m.Recipient = "anna@example.org, bernd@example.org" }, "recipient"},
		{"no recipient", func(m *crier.Message) { m.Recipient = "" }, "recipient"},
		{"no key", func(m *crier.Message) { m.Key = "" }, "key"},
		{"key with angle bracket", func(m *crier.Message) { m.Key = "k1>\r\nBcc: x@example.org" }, "key"},
		{"unsubscribe URL with CR LF", func(m *crier.Message) { m.UnsubscribeURL = "https://x.example/u\r\nBcc: all@example.org" }, "unsubscribe"},
		{"unsubscribe URL not http", func(m *crier.Message) { m.UnsubscribeURL = "javascript:alert(1)" }, "unsubscribe"},
		{"bad language", func(m *crier.Message) { m.Language = "de\r\nX: y" }, "language"},
	}
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage("k1", "anna@example.org")
			tt.change(m)
			_, err := ch.Send(t.Context(), m)
			if got := crier.ErrorCode(err); got != crier.EPERMANENT {
				t.Fatalf("error code = %q, want permanent (err: %v)", got, err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
		})
	}
	if got := s.Sessions(); got != 0 {
		t.Errorf("relay saw %d sessions, want 0: nothing may go on the wire", got)
	}
}

func TestCheck(t *testing.T) {
	ch, err := email.New(email.Options{Host: "mail.example", From: "presse@soest.example"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(m *crier.Message)
		want   []crier.Problem
	}{
		{"ok", func(m *crier.Message) {}, nil},
		{"ok without HTML", func(m *crier.Message) { m.HTML = "" }, nil},
		{"subject with line break", func(m *crier.Message) { m.Subject = "a\r\nb" },
			[]crier.Problem{{Field: "subject", Code: "single_line", Message: "must be a single line (contains a line break)"}}},
		{"empty subject and text", func(m *crier.Message) { m.Subject, m.Text = "", "\n" },
			[]crier.Problem{{Field: "subject", Code: "empty", Message: "must not be empty"}, {Field: "text", Code: "empty", Message: "must not be empty"}}},
		{"bad language", func(m *crier.Message) { m.Language = "deutsch!" },
			[]crier.Problem{{Field: "language", Code: "email.language", Args: []string{"deutsch!"},
				Message: `"deutsch!" is not a language tag such as "de" or "de-DE"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// At publish time there is no recipient, key or unsubscribe URL yet.
			m := testMessage("", "")
			m.UnsubscribeURL = ""
			tt.change(m)
			if diff := cmp.Diff(tt.want, ch.Check(t.Context(), m)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		tls  string
		port int
		want string
	}{
		{"", 0, "mail.example:587"},
		{email.TLSStartTLS, 0, "mail.example:587"},
		{email.TLSImplicit, 0, "mail.example:465"},
		{email.TLSNone, 0, "mail.example:25"},
		{email.TLSImplicit, 2465, "mail.example:2465"},
	}
	for _, tt := range tests {
		var dialed string
		ch, err := email.New(email.Options{
			Host: "mail.example", Port: tt.port, TLS: tt.tls, From: "presse@soest.example",
			Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialed = network + " " + addr
				return nil, errors.New("offline")
			},
		})
		if err != nil {
			t.Fatalf("New(tls %q): %v", tt.tls, err)
		}
		_, err = ch.Send(t.Context(), testMessage("k1", "anna@example.org"))
		if crier.ErrorCode(err) != crier.ETRANSIENT {
			t.Errorf("tls %q: err = %v, want transient", tt.tls, err)
		}
		if dialed != "tcp "+tt.want {
			t.Errorf("tls %q port %d: dialed %q, want tcp %s", tt.tls, tt.port, dialed, tt.want)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %q does not name the endpoint %s", err, tt.want)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	ok := email.Options{Host: "mail.example", From: "Stadt Soest <presse@soest.example>"}
	tests := []struct {
		name   string
		change func(o *email.Options)
		text   string
	}{
		{"no host", func(o *email.Options) { o.Host = "" }, "host"},
		{"unknown TLS mode", func(o *email.Options) { o.TLS = "opportunistic" }, "tls"},
		{"bad port", func(o *email.Options) { o.Port = 70000 }, "port"},
		{"no from", func(o *email.Options) { o.From = "" }, "from"},
		{"from with line break", func(o *email.Options) { o.From = "Stadt Soest <presse@soest.example>\r\nBcc: x@example.org" }, "from"},
		{"from with two addresses", func(o *email.Options) { o.From = "a@soest.example, b@soest.example" }, "from"},
		{"password without username", func(o *email.Options) { o.Password = "geheim" }, "username"},
		{"credentials in plain text", func(o *email.Options) { o.TLS, o.Username = email.TLSNone, "presse" }, "plain text"},
		{"non-ASCII domain", func(o *email.Options) { o.From = "presse@möhnesee.example" }, "domain"},
		{"negative connections", func(o *email.Options) { o.Connections = -1 }, "connections"},
		{"negative timeout", func(o *email.Options) { o.Timeout = -time.Second }, "timeout"},
		{"missing ca_file", func(o *email.Options) { o.CAFile = "/nonexistent/ca.pem" }, "ca_file"},
		{"short pin", func(o *email.Options) { o.PinSHA256 = "abcd" }, "tls_pin_sha256"},
		{"ca_file and pin", func(o *email.Options) { o.CAFile, o.PinSHA256 = "ca.pem", strings.Repeat("ab", 32) }, "not both"},
		{"pin without tls", func(o *email.Options) { o.TLS, o.PinSHA256 = email.TLSNone, strings.Repeat("ab", 32) }, "need tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			_, err := email.New(o)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
		})
	}
	if _, err := email.New(ok); err != nil {
		t.Errorf("New(valid options): %v", err)
	}
}

// sendAll sends one message per key from workers goroutines and fails the
// test on any error.
func sendAll(tb testing.TB, ch crier.Channel, keys []string, workers int) {
	tb.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range workers {
		wg.Go(func() {
			for k := range work {
				if _, err := ch.Send(context.Background(), testMessage(k, "anna@example.org")); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatalf("Send: %v", err)
	}
}

type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// parsedMail is a received mail decoded the way a mail reader does.
type parsedMail struct {
	Header map[string]string // decoded values of the headers the test looks at
	Type   string
	Parts  []part
}

type part struct {
	Type, Charset, Body string
}

var checkedHeaders = []string{
	"Message-Id", "From", "To", "Subject", "Date", "List-Unsubscribe", "List-Unsubscribe-Post",
	"Auto-Submitted", "Content-Language", "Mime-Version",
}

// parseMail parses data as mail readers do, and as strict parsers read
// its header (strictHeader).
func parseMail(tb testing.TB, data []byte) parsedMail {
	tb.Helper()
	strictHeader(tb, data)
	return parseLenient(tb, data)
}

// parseLenient parses data as Go's net/mail does, which forgives a field
// whose first line is empty: for mails that go-mail built, which fold so.
func parseLenient(tb testing.TB, data []byte) parsedMail {
	tb.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse mail: %v", err)
	}
	dec := new(mime.WordDecoder)
	p := parsedMail{Header: map[string]string{}}
	for _, h := range checkedHeaders {
		if n := len(m.Header[h]); n > 1 {
			tb.Errorf("header %s appears %d times", h, n)
		}
		v, err := dec.DecodeHeader(m.Header.Get(h))
		if err != nil {
			tb.Errorf("decode %s: %v", h, err)
		}
		p.Header[h] = v
	}
	for _, h := range []string{"From", "To"} { // canonical form
		a, err := mail.ParseAddress(m.Header.Get(h))
		if err != nil {
			tb.Fatalf("parse %s: %v", h, err)
		}
		p.Header[h] = a.String()
		if a.Name != "" {
			p.Header[h] = `"` + a.Name + `" <` + a.Address + ">"
		}
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		tb.Fatalf("content type: %v", err)
	}
	p.Type = mediaType
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.Parts = []part{readPart(tb, mediaType, params, m.Header.Get("Content-Transfer-Encoding"), m.Body)}
		return p
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		pt, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("next part: %v", err)
		}
		t, ps, err := mime.ParseMediaType(pt.Header.Get("Content-Type"))
		if err != nil {
			tb.Fatalf("part content type: %v", err)
		}
		p.Parts = append(p.Parts, readPart(tb, t, ps, pt.Header.Get("Content-Transfer-Encoding"), pt))
	}
	return p
}

func readPart(tb testing.TB, mediaType string, params map[string]string, cte string, r io.Reader) part {
	tb.Helper()
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "", "7bit", "8bit":
	default:
		tb.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("read part: %v", err)
	}
	return part{Type: mediaType, Charset: params["charset"], Body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}

// wantDecoded checks what the relay made of a message: the key, subject
// and bodies a mail reader shows.
func wantDecoded(tb testing.TB, m *smtptest.Message, key, subject, text, html string) {
	tb.Helper()
	if m.Err != nil {
		tb.Errorf("relay could not parse the message: %v", m.Err)
	}
	got := []string{m.Key, m.Subject, m.Text, m.HTML}
	if diff := cmp.Diff([]string{key, subject, text, html}, got); diff != "" {
		tb.Errorf("decoded key, subject, text, html (-want +got):\n%s", diff)
	}
}

func headerBlock(data []byte) string {
	h, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	return string(h)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestSendNeverFoldsBeforeFirstWord sends a subject whose encoded first
// word fills the line and a Message-ID longer than a line: strict
// parsers read a field whose first line is empty as a value with leading
// white space.
func TestSendNeverFoldsBeforeFirstWord(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	key := "a1.1.soest.mail-soest." + strings.Repeat("7", 70)
	m := testMessage(key, "anna@example.org")
	if _, err := ch.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	for line := range strings.SplitSeq(headerBlock(got[0].Data), "\r\n") {
		if strings.HasSuffix(line, ":") {
			t.Errorf("header field %q has an empty first line", line)
		}
	}
	p := parseMail(t, got[0].Data)
	if p.Header["Subject"] != testSubject || p.Header["Message-Id"] != "<"+key+"@soest.example>" {
		t.Errorf("Subject %q, Message-ID %q", p.Header["Subject"], p.Header["Message-Id"])
	}
}
