package email_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
)

// presse is the relay account of the tests that authenticate.
var presse = map[string]string{"presse": "geheim"}

// newRelay starts an SMTP server for the channel TLS mode and returns it
// with channel options that reach it, which the test may change. The
// options carry so.Auth's account, if it has one.
func newRelay(tb testing.TB, mode string, so smtptest.Options) (*smtptest.Server, email.Options) {
	tb.Helper()
	switch mode {
	case email.TLSStartTLS:
		so.TLS = smtptest.ServerTLS(tb)
	case email.TLSImplicit:
		so.Implicit = true
	}
	s := smtptest.NewServer(tb, so)
	o := email.Options{
		Host:      s.Host(),
		Port:      s.Port(),
		TLS:       mode,
		From:      "Stadt Soest <presse@soest.example>",
		TLSConfig: smtptest.ClientTLS(tb),
		Clock:     fixedClock(testTime),
		HELO:      "crier.test",
	}
	for user, password := range so.Auth {
		o.Username, o.Password = user, password
	}
	return s, o
}

// newChannel returns a channel to o's relay, closed at cleanup.
func newChannel(tb testing.TB, o email.Options) *email.Channel {
	tb.Helper()
	ch, err := email.New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { ch.Close() })
	return ch
}

// keys returns the Message-ID left-hand sides of the messages s accepted,
// in order. It fails tb on a message that could not be parsed or whose
// Message-ID has no "@".
func keys(tb testing.TB, s *smtptest.Server) []string {
	tb.Helper()
	var keys []string
	for _, m := range s.Messages() {
		if m.Err != nil {
			tb.Fatalf("parse received message: %v", m.Err)
		}
		if m.Key == "" {
			tb.Fatalf("Message-ID %q has no @", m.MessageID)
		}
		keys = append(keys, m.Key)
	}
	return keys
}

var testTime = time.Date(2026, 11, 26, 9, 30, 0, 0, time.FixedZone("CET", 3600))

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func itoa(i int) string { return strconv.Itoa(i) }
