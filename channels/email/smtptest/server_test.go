package smtptest_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// released bounds how long a client may wait for a hang to end after the
// server has shut down; reaching it fails the test.
const released = 10 * time.Second

// dial connects to s and greets it.
func dial(t *testing.T, s *smtptest.Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// send runs one mail transaction and returns the step that failed, if any.
func send(c *smtp.Client, data string) (smtptest.Step, error) {
	if err := c.Mail("presse@soest.example", nil); err != nil {
		return smtptest.StepMail, err
	}
	for _, to := range []string{"anna@example.org", "bernd@example.org"} {
		if err := c.Rcpt(to, nil); err != nil {
			return smtptest.StepRcpt, err
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtptest.StepData, err
	}
	if _, err := w.Write([]byte(data)); err != nil {
		return smtptest.StepData, err
	}
	if err := w.Close(); err != nil {
		return smtptest.StepData, err
	}
	return "", nil
}

// simple returns a plain-text message with Message-ID <key@soest.example>.
func simple(key string) string {
	return "From: presse@soest.example\r\nSubject: Test\r\nMessage-ID: <" + key + "@soest.example>\r\n\r\nHallo\r\n"
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestMessageDecoded(t *testing.T) {
	html := base64.StdEncoding.EncodeToString([]byte("<p>Das Bürgerbüro ist heute geschlossen.</p>\n"))
	data := crlf(`From: Stadt Soest <presse@soest.example>
To: anna@example.org
Subject: =?iso-8859-1?q?B=FCrgerb=FCro?= =?utf-8?q?_geschlossen_=E2=80=93_Soest?=
Message-ID: <a1.1.soest.mail-soest.7@soest.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=us-ascii
Content-Disposition: attachment; filename="notes.txt"

not the body
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Das B=C3=BCrgerb=C3=BCro ist heute geschlossen. Telefon: 02921 103-0, Mo=E2=
=80=93Fr.
Danke.
--inner
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: base64

` + html[:20] + "\n" + html[20:] + `
--inner--
--outer--
`)
	var hooked []*smtptest.Message
	var mu sync.Mutex
	s := smtptest.NewServer(t, smtptest.Options{OnMessage: func(m *smtptest.Message) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, m)
	}})
	if step, err := send(dial(t, s), data); err != nil {
		t.Fatalf("send failed at %s: %v", step, err)
	}
	got := s.Messages()
	want := []*smtptest.Message{{
		From:      "presse@soest.example",
		To:        []string{"anna@example.org", "bernd@example.org"},
		RemoteIP:  "127.0.0.1",
		Data:      []byte(data),
		MessageID: "a1.1.soest.mail-soest.7@soest.example",
		Key:       "a1.1.soest.mail-soest.7",
		Subject:   "Bürgerbüro geschlossen – Soest",
		Text:      "Das Bürgerbüro ist heute geschlossen. Telefon: 02921 103-0, Mo–Fr.\nDanke.",
		HTML:      "<p>Das Bürgerbüro ist heute geschlossen.</p>\n",
	}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(smtptest.Message{}, "Header")); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if len(got) == 1 && got[0].Header.Get("To") != "anna@example.org" {
		t.Errorf("Header.Get(To) = %q, want anna@example.org", got[0].Header.Get("To"))
	}
	mu.Lock()
	if len(hooked) != 1 || len(got) != 1 || hooked[0] != got[0] {
		t.Errorf("OnMessage got %d messages, want the one recorded", len(hooked))
	}
	mu.Unlock()
	if diff := cmp.Diff([]string{"a1.1.soest.mail-soest.7"}, s.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
	if n := s.Sessions(); n != 1 {
		t.Errorf("Sessions() = %d, want 1", n)
	}
}

func TestMessageParseError(t *testing.T) {
	s := smtptest.NewServer(t, smtptest.Options{})
	data := "Message-ID: <k1@soest.example>\r\nContent-Transfer-Encoding: uuencode\r\n\r\nbegin 644 x\r\n"
	if step, err := send(dial(t, s), data); err != nil {
		t.Fatalf("send failed at %s: %v", step, err)
	}
	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1: an unparsable message is still accepted", len(got))
	}
	if got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "uuencode") {
		t.Errorf("Err = %v, want one naming the unknown transfer encoding", got[0].Err)
	}
	if got[0].Key != "k1" {
		t.Errorf("Key = %q, want k1: the header was parsed", got[0].Key)
	}
}

func TestFail(t *testing.T) {
	steps := []smtptest.Step{smtptest.StepMail, smtptest.StepRcpt, smtptest.StepData}
	tests := []struct {
		code     int
		text     string
		enhanced smtp.EnhancedCode
		message  string
	}{
		{451, "4.3.0 try again later", smtp.EnhancedCode{4, 3, 0}, "try again later"},
		{452, "too many messages", smtp.EnhancedCode{4, 0, 0}, "too many messages"},
		{550, "5.1.1 mailbox unavailable", smtp.EnhancedCode{5, 1, 1}, "mailbox unavailable"},
		{554, "", smtp.EnhancedCode{5, 0, 0}, "refused by smtptest"},
	}
	for _, step := range steps {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %d", step, tt.code), func(t *testing.T) {
				s := smtptest.NewServer(t, smtptest.Options{})
				c := dial(t, s)
				s.Fail(step, tt.code, tt.text)
				gotStep, err := send(c, simple("k1"))
				var se *smtp.SMTPError
				if !errors.As(err, &se) {
					t.Fatalf("send: err = %v, want an SMTP reply", err)
				}
				if gotStep != step || se.Code != tt.code || se.EnhancedCode != tt.enhanced || se.Message != tt.message {
					t.Errorf("send failed at %s with %d %v %q, want %s with %d %v %q",
						gotStep, se.Code, se.EnhancedCode, se.Message, step, tt.code, tt.enhanced, tt.message)
				}
				if err := c.Reset(); err != nil {
					t.Fatalf("RSET after a refusal: %v", err)
				}
				s.Fail(step, 0, "")
				if gotStep, err := send(c, simple("k2")); err != nil {
					t.Fatalf("send after Fail(%s, 0, \"\") failed at %s: %v", step, gotStep, err)
				}
				if diff := cmp.Diff([]string{"k2"}, s.Accepted()); diff != "" {
					t.Errorf("Accepted (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestFailPanicsOnSuccessCode(t *testing.T) {
	s := smtptest.NewServer(t, smtptest.Options{})
	defer func() {
		if recover() == nil {
			t.Error("Fail(StepRcpt, 250, …) did not panic")
		}
	}()
	s.Fail(smtptest.StepRcpt, 250, "ok")
}

func TestDrop(t *testing.T) {
	s := smtptest.NewServer(t, smtptest.Options{})
	s.Drop()
	step, err := send(dial(t, s), simple("k1"))
	var se *smtp.SMTPError
	if err == nil || errors.As(err, &se) || step != smtptest.StepData {
		t.Fatalf("send to a dropping server: step %q, err %v; want a lost connection at DATA", step, err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("got %d messages, want 0", n)
	}
	s.Accept()
	if step, err := send(dial(t, s), simple("k2")); err != nil {
		t.Fatalf("send after Accept failed at %s: %v", step, err)
	}
	if diff := cmp.Diff([]string{"k2"}, s.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
	if n := s.Sessions(); n != 2 {
		t.Errorf("Sessions() = %d, want 2", n)
	}
}

// TestHangReleasedAtCleanup checks that a hanging session ends, without
// accepting the message, once the test that started the server is over.
func TestHangReleasedAtCleanup(t *testing.T) {
	for _, step := range []smtptest.Step{smtptest.StepMail, smtptest.StepRcpt, smtptest.StepData} {
		t.Run(string(step), func(t *testing.T) {
			var s *smtptest.Server
			done := make(chan error, 1)
			t.Run("server", func(t *testing.T) {
				s = smtptest.NewServer(t, smtptest.Options{})
				if step == smtptest.StepData {
					s.Hang()
				} else {
					s.HangAt(step)
				}
				c := dial(t, s)
				go func() {
					_, err := send(c, simple("k1"))
					done <- err
				}()
				<-s.Waiting()
				select {
				case err := <-done:
					t.Fatalf("send returned while the server hangs: %v", err)
				default:
				}
			})
			select {
			case err := <-done:
				if err == nil {
					t.Error("send succeeded, want an error once the server shut down")
				}
			case <-time.After(released):
				t.Fatalf("send still waiting %v after the server shut down", released)
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("got %d messages, want 0", n)
			}
		})
	}
}

func TestDelay(t *testing.T) {
	const delay = 100 * time.Millisecond
	s := smtptest.NewServer(t, smtptest.Options{Delay: delay})
	c := dial(t, s)
	start := time.Now()
	if step, err := send(c, simple("k1")); err != nil {
		t.Fatalf("send failed at %s: %v", step, err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("send took %v, want at least the delay %v", took, delay)
	}
	if diff := cmp.Diff([]string{"k1"}, s.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
}

func TestDelayReleasedAtCleanup(t *testing.T) {
	var s *smtptest.Server
	done := make(chan error, 1)
	t.Run("server", func(t *testing.T) {
		s = smtptest.NewServer(t, smtptest.Options{Delay: time.Hour})
		c := dial(t, s)
		go func() {
			_, err := send(c, simple("k1"))
			done <- err
		}()
		<-s.Waiting()
	})
	select {
	case err := <-done:
		if err == nil {
			t.Error("send succeeded, want an error once the server shut down")
		}
	case <-time.After(released):
		t.Fatalf("send still waiting %v after the server shut down", released)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("got %d messages, want 0: a delay cut short accepts nothing", n)
	}
}

func TestAuth(t *testing.T) {
	users := map[string]string{"presse": "geheim"}
	tests := []struct {
		name string
		auth sasl.Client
		code int // of the AUTH reply; 0: success
	}{
		{"PLAIN", sasl.NewPlainClient("", "presse", "geheim"), 0},
		{"LOGIN", sasl.NewLoginClient("presse", "geheim"), 0},
		{"PLAIN wrong password", sasl.NewPlainClient("", "presse", "falsch"), 535},
		{"LOGIN wrong password", sasl.NewLoginClient("presse", "falsch"), 535},
		{"PLAIN unknown user", sasl.NewPlainClient("", "rathaus", "geheim"), 535},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtptest.NewServer(t, smtptest.Options{Auth: users})
			c := dial(t, s)
			err := c.Auth(tt.auth)
			if tt.code != 0 {
				var se *smtp.SMTPError
				if !errors.As(err, &se) || se.Code != tt.code {
					t.Fatalf("AUTH: err = %v, want %d", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("AUTH: %v", err)
			}
			if step, err := send(c, simple("k1")); err != nil {
				t.Fatalf("send failed at %s: %v", step, err)
			}
			if got := s.Messages(); len(got) != 1 || got[0].User != "presse" {
				t.Errorf("messages %+v, want one from user presse", got)
			}
		})
	}
	t.Run("required", func(t *testing.T) {
		s := smtptest.NewServer(t, smtptest.Options{Auth: users})
		step, err := send(dial(t, s), simple("k1"))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 530 || step != smtptest.StepMail {
			t.Fatalf("send without AUTH: step %q, err %v; want 530 at MAIL", step, err)
		}
	})
}

func TestTLS(t *testing.T) {
	t.Run("STARTTLS", func(t *testing.T) {
		s := smtptest.NewServer(t, smtptest.Options{TLS: smtptest.ServerTLS(t)})
		c, err := smtp.DialStartTLS(s.Addr(), smtptest.ClientTLS(t))
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		if step, err := send(c, simple("k1")); err != nil {
			t.Fatalf("send failed at %s: %v", step, err)
		}
		if got := s.Messages(); len(got) != 1 || !got[0].TLS {
			t.Errorf("messages %+v, want one over TLS", got)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		s := smtptest.NewServer(t, smtptest.Options{Implicit: true})
		c, err := smtp.DialTLS(s.Addr(), smtptest.ClientTLS(t))
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		if step, err := send(c, simple("k1")); err != nil {
			t.Fatalf("send failed at %s: %v", step, err)
		}
		if got := s.Messages(); len(got) != 1 || !got[0].TLS {
			t.Errorf("messages %+v, want one over TLS", got)
		}
	})
	t.Run("plain", func(t *testing.T) {
		s := smtptest.NewServer(t, smtptest.Options{})
		if ok, _ := dial(t, s).Extension("STARTTLS"); ok {
			t.Error("a server without TLS offers STARTTLS")
		}
	})
}

func TestDisconnect(t *testing.T) {
	s := smtptest.NewServer(t, smtptest.Options{})
	c := dial(t, s)
	if step, err := send(c, simple("k1")); err != nil {
		t.Fatalf("send failed at %s: %v", step, err)
	}
	s.Disconnect()
	if _, err := send(c, simple("k2")); err == nil {
		t.Fatal("send over a disconnected session succeeded")
	}
	if step, err := send(dial(t, s), simple("k3")); err != nil {
		t.Fatalf("send over a new session failed at %s: %v", step, err)
	}
	if diff := cmp.Diff([]string{"k1", "k3"}, s.Accepted()); diff != "" {
		t.Errorf("Accepted (-want +got):\n%s", diff)
	}
}

func TestDiscard(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	s := smtptest.NewServer(t, smtptest.Options{Discard: true, OnMessage: func(m *smtptest.Message) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(m.Data))
	}})
	data := simple("k1")
	if step, err := send(dial(t, s), data); err != nil {
		t.Fatalf("send failed at %s: %v", step, err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("a discarding server kept %d messages", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{len(data)}, sizes); diff != "" {
		t.Errorf("OnMessage sizes (-want +got):\n%s", diff)
	}
}

// TestSet checks the answers the conformance suite asks for.
func TestSet(t *testing.T) {
	tests := []struct {
		kind channeltest.Kind
		step smtptest.Step
		code int // 0: no reply
	}{
		{channeltest.Reject, smtptest.StepRcpt, 550},
		{channeltest.Unavailable, smtptest.StepRcpt, 451},
		{channeltest.RateLimited, smtptest.StepRcpt, 452},
		{channeltest.Drop, smtptest.StepData, 0},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			s := smtptest.NewServer(t, smtptest.Options{})
			s.Set(channeltest.Behavior{Kind: tt.kind})
			step, err := send(dial(t, s), simple("k1"))
			var se *smtp.SMTPError
			switch {
			case step != tt.step:
				t.Errorf("send failed at %q (%v), want at %s", step, err, tt.step)
			case tt.code != 0 && (!errors.As(err, &se) || se.Code != tt.code):
				t.Errorf("send: err = %v, want %d", err, tt.code)
			case tt.code == 0 && errors.As(err, &se):
				t.Errorf("send: err = %v, want no reply", err)
			}
			s.Set(channeltest.Behavior{Kind: channeltest.Accept})
			if step, err := send(dial(t, s), simple("k2")); err != nil {
				t.Fatalf("send after Accept failed at %s: %v", step, err)
			}
			channeltest.WantAccepted(t, s, "k2")
		})
	}
}

func TestGreetingRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		implicit bool
		code     int
		text     string
		want     smtp.EnhancedCode
	}{
		{"busy", false, 421, "4.3.2 Too many connections, try later", smtp.EnhancedCode{4, 3, 2}},
		{"refused", false, 554, "5.7.1 No SMTP service for you", smtp.EnhancedCode{5, 7, 1}},
		{"busy over implicit TLS", true, 421, "", smtp.EnhancedCode{4, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := smtptest.NewServer(t, smtptest.Options{Implicit: tc.implicit})
			s.Fail(smtptest.StepGreeting, tc.code, tc.text)
			// greet connects and says EHLO; go-smtp reads the greeting
			// then.
			greet := func() error {
				var c *smtp.Client
				var err error
				if tc.implicit {
					c, err = smtp.DialTLS(s.Addr(), smtptest.ClientTLS(t))
				} else {
					c, err = smtp.Dial(s.Addr())
				}
				if err != nil {
					return err
				}
				defer c.Close()
				return c.Hello("client.test")
			}
			err := greet()
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != tc.code || se.EnhancedCode != tc.want {
				t.Fatalf("greeting: %v, want %d %v", err, tc.code, tc.want)
			}
			s.Accept()
			if err := greet(); err != nil {
				t.Fatalf("EHLO after Accept: %v", err)
			}
			if n := s.Sessions(); n != 1 {
				t.Errorf("Sessions = %d, want 1: a refused connection never greets", n)
			}
		})
	}
}

func TestGreetingHang(t *testing.T) {
	done := make(chan error, 1)
	t.Run("server", func(t *testing.T) {
		s := smtptest.NewServer(t, smtptest.Options{})
		s.HangAt(smtptest.StepGreeting)
		go func() {
			c, err := smtp.Dial(s.Addr())
			if err == nil {
				err = c.Hello("client.test")
				c.Close()
			}
			done <- err
		}()
		<-s.Waiting()
		select {
		case err := <-done:
			t.Fatalf("EHLO returned while the server hangs: %v", err)
		default:
		}
	})
	select {
	case err := <-done:
		if err == nil {
			t.Error("EHLO succeeded, want an error once the server shut down")
		}
	case <-time.After(released):
		t.Fatalf("EHLO still waiting %v after the server shut down", released)
	}
}

func TestProbes(t *testing.T) {
	users := map[string]string{"presse": "geheim"}
	s := smtptest.NewServer(t, smtptest.Options{Auth: users, TLS: smtptest.ServerTLS(t)})

	// A health probe: STARTTLS, AUTH, NOOP, QUIT.
	c, err := smtp.DialStartTLS(s.Addr(), smtptest.ClientTLS(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "presse", "geheim")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("NOOP: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
	// A session that sends a message.
	c = dial(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "presse", "geheim")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if step, err := send(c, simple("k1")); err != nil {
		t.Fatalf("send failed at %s: %v", step, err)
	}
	// A session refused at AUTH.
	if err := dial(t, s).Auth(sasl.NewPlainClient("", "presse", "falsch")); err == nil {
		t.Fatal("AUTH with a wrong password succeeded")
	}
	// A session refused at MAIL is not a probe: it tried to send.
	if step, err := send(dial(t, s), simple("k2")); step != smtptest.StepMail || err == nil {
		t.Fatalf("send without AUTH: step %q, err %v; want a refusal at MAIL", step, err)
	}

	want := []smtptest.Probe{{User: "presse", TLS: true}, {}}
	if diff := cmp.Diff(want, s.Probes()); diff != "" {
		t.Errorf("Probes (-want +got):\n%s", diff)
	}
	if n := s.Sessions(); n != 4 {
		t.Errorf("Sessions = %d, want 4", n)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("got %d messages, want 1", n)
	}
}
