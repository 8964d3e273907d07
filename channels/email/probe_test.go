package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/google/go-cmp/cmp"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		name string
		mode string
		auth map[string]string
		want smtptest.Probe
	}{
		{"plain", email.TLSNone, nil, smtptest.Probe{}},
		{"plain with AUTH to loopback", email.TLSNone, presse, smtptest.Probe{User: "presse"}},
		{"STARTTLS with AUTH", email.TLSStartTLS, presse, smtptest.Probe{User: "presse", TLS: true}},
		{"implicit TLS with AUTH", email.TLSImplicit, presse, smtptest.Probe{User: "presse", TLS: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, o := newRelay(t, tt.mode, smtptest.Options{Auth: tt.auth})
			ch := newChannel(t, o)
			if err := ch.Probe(t.Context()); err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if diff := cmp.Diff([]smtptest.Probe{tt.want}, s.Probes()); diff != "" {
				t.Errorf("probe sessions (-want +got):\n%s", diff)
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("relay received %d messages, want 0", n)
			}
		})
	}
}

// TestProbeLeavesPoolAlone checks that a probe opens a session of its own
// and neither takes nor ends the pooled one.
func TestProbeLeavesPoolAlone(t *testing.T) {
	s, o := newRelay(t, email.TLSStartTLS, smtptest.Options{Auth: presse})
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send 1: %v", err)
	}
	for range 2 {
		if err := ch.Probe(t.Context()); err != nil {
			t.Fatalf("Probe: %v", err)
		}
	}
	if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
		t.Fatalf("Send 2: %v", err)
	}
	// One session carried both messages; each probe had its own.
	if got := s.Sessions(); got != 3 {
		t.Errorf("sessions = %d, want 3", got)
	}
	if got := len(s.Probes()); got != 2 {
		t.Errorf("probe sessions = %d, want 2", got)
	}
	if diff := cmp.Diff([]string{"k1", "k2"}, keys(t, s)); diff != "" {
		t.Errorf("accepted keys (-want +got):\n%s", diff)
	}
}

// TestProbeKeepsConnectionLimit checks that with Connections 1 a probe ends
// the idle pooled session before it opens its own, so that the relay never
// sees two at once.
func TestProbeKeepsConnectionLimit(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	o.Connections = 1
	ch := newChannel(t, o)
	if _, err := ch.Send(t.Context(), testMessage("k1", "anna@example.org")); err != nil {
		t.Fatalf("Send 1: %v", err)
	}
	if err := ch.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if _, err := ch.Send(t.Context(), testMessage("k2", "anna@example.org")); err != nil {
		t.Fatalf("Send 2: %v", err)
	}
	if got := s.Sessions(); got != 3 {
		t.Errorf("sessions = %d, want 3: the pooled session ends for the probe", got)
	}
}

// TestProbeWaitsForSlot checks that a probe waits for one of the
// Connections, within its context.
func TestProbeWaitsForSlot(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	o.Connections = 1
	ch := newChannel(t, o)
	s.Hang()
	sendCtx, cancelSend := context.WithCancel(t.Context())
	sent := make(chan error, 1)
	go func() {
		_, err := ch.Send(sendCtx, testMessage("k1", "anna@example.org"))
		sent <- err
	}()
	<-s.Waiting() // the send holds the only connection
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := ch.Probe(ctx)
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not context.DeadlineExceeded", err)
	}
	if got := s.Sessions(); got != 1 {
		t.Errorf("sessions = %d, want 1: the probe must not open a second", got)
	}
	cancelSend()
	<-sent
	s.Accept()
	if err := ch.Probe(t.Context()); err != nil {
		t.Errorf("Probe once the connection is free: %v", err)
	}
}

func TestProbeFailures(t *testing.T) {
	refused := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port
	}
	tests := []struct {
		name  string
		mode  string
		relay smtptest.Options
		setup func(*smtptest.Server)
		opts  func(*email.Options)
		code  string
		text  string
		is    error
	}{
		{
			name: "connection refused",
			mode: email.TLSNone,
			opts: func(o *email.Options) { o.Port = refused() },
			code: crier.ETRANSIENT,
			text: "connection refused",
		},
		{
			name:  "busy greeting",
			mode:  email.TLSNone,
			setup: func(s *smtptest.Server) { s.Fail(smtptest.StepGreeting, 421, "4.3.2 Too many connections") },
			code:  crier.ETRANSIENT,
			text:  "421",
		},
		{
			name:  "refusing greeting",
			mode:  email.TLSImplicit,
			setup: func(s *smtptest.Server) { s.Fail(smtptest.StepGreeting, 554, "5.7.1 No SMTP service here") },
			code:  crier.EPERMANENT,
			text:  "554",
		},
		{
			name:  "wrong password",
			mode:  email.TLSStartTLS,
			relay: smtptest.Options{Auth: presse},
			opts:  func(o *email.Options) { o.Password = "falsch" },
			code:  crier.EPERMANENT,
			text:  "535",
		},
		{
			name:  "unknown user",
			mode:  email.TLSImplicit,
			relay: smtptest.Options{Auth: presse},
			opts:  func(o *email.Options) { o.Username = "rathaus" },
			code:  crier.EPERMANENT,
			text:  "535",
		},
		{
			name: "STARTTLS required but not offered",
			mode: email.TLSNone,
			opts: func(o *email.Options) { o.TLS = email.TLSStartTLS },
			code: crier.EPERMANENT,
			text: "STARTTLS",
		},
		{
			name: "AUTH configured but not offered",
			mode: email.TLSStartTLS,
			opts: func(o *email.Options) { o.Username, o.Password = "presse", "geheim" },
			code: crier.EPERMANENT,
			text: "AUTH",
		},
		{
			name: "untrusted certificate",
			mode: email.TLSStartTLS,
			opts: func(o *email.Options) { o.TLSConfig = &tls.Config{} },
			code: crier.EPERMANENT, // a person must change the settings
			text: "tls_pin_sha256",
		},
		{
			name:  "no greeting",
			mode:  email.TLSNone,
			setup: func(s *smtptest.Server) { s.HangAt(smtptest.StepGreeting) },
			opts:  func(o *email.Options) { o.Timeout = 150 * time.Millisecond },
			code:  crier.ETRANSIENT,
			is:    context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, o := newRelay(t, tt.mode, tt.relay)
			if tt.setup != nil {
				tt.setup(s)
			}
			if tt.opts != nil {
				tt.opts(&o)
			}
			ch := newChannel(t, o)
			start := time.Now()
			err := ch.Probe(context.Background())
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Probe took %v", took)
			}
			channeltest.WantCode(t, err, tt.code)
			if err == nil {
				return
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, secret := range []string{"geheim", "falsch"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the password", err)
				}
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("relay received %d messages, want 0", n)
			}
		})
	}
}

func TestProbeCanceled(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := ch.Probe(ctx)
	channeltest.WantCode(t, err, crier.ETRANSIENT)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v is not context.Canceled", err)
	}
	if got := s.Sessions(); got != 0 {
		t.Errorf("relay saw %d sessions, want 0", got)
	}
}

func TestProbeAfterClose(t *testing.T) {
	s, o := newRelay(t, email.TLSNone, smtptest.Options{})
	ch := newChannel(t, o)
	if err := ch.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	channeltest.WantCode(t, ch.Probe(t.Context()), crier.ETRANSIENT)
	if got := s.Sessions(); got != 0 {
		t.Errorf("relay saw %d sessions, want 0", got)
	}
}
