package email_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"

	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/postfixtest"
)

// TestPostfixSessionLatency measures one session's time per mail against
// Postfix for small and large mails, with and without chunking. Run with
// CRIER_POSTFIX_BENCH=1.
func TestPostfixSessionLatency(t *testing.T) {
	if os.Getenv("CRIER_POSTFIX_BENCH") == "" {
		t.Skip("set CRIER_POSTFIX_BENCH=1 to measure")
	}
	s := postfixtest.Start(t, postfixtest.Options{})
	for _, size := range []int{1, 4, 10, 80} {
		for _, noChunking := range []bool{false, true} {
			ch := newPostfixChannel(t, s, func(o *email.Options) { o.NoChunking = noChunking; o.Connections = 1 })
			const n = 100
			var took []time.Duration
			var bytes int
			for i := range n {
				m := largeMessage(fmt.Sprintf("lat.%d.%t.%d", size, noChunking, i), recipient(i))
				para := "Das Bürgerbüro bleibt geschlossen; Auskunft unter 02921 103-0.\n"
				m.Text = strings.Repeat(para, size*4)
				m.HTML = "<p>" + strings.Repeat(para, size*4) + "</p>"
				bytes = len(m.Text) + len(m.HTML)
				start := time.Now()
				if _, err := ch.Send(t.Context(), m); err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					took = append(took, time.Since(start))
				}
			}
			ch.Close()
			slices.Sort(took)
			t.Logf("~%5d B text+html, chunking %5t: median %6.2f ms, p90 %6.2f ms", bytes, !noChunking,
				float64(took[len(took)/2].Microseconds())/1000, float64(took[len(took)*9/10].Microseconds())/1000)
		}
	}
}

// TestPostfixThroughput measures, for 2 000 mails of about 40 KB to a
// real Postfix over 8 sessions, the time from the first send to the
// last mail in the Maildir: the default (BDAT chunks where the session
// allows) against NoChunking (DATA), three runs each, alternating, each
// against a fresh Postfix. Run with CRIER_POSTFIX_BENCH=1; the README's
// Performance section has the command and the numbers.
func TestPostfixThroughput(t *testing.T) {
	if os.Getenv("CRIER_POSTFIX_BENCH") == "" {
		t.Skip("set CRIER_POSTFIX_BENCH=1 to measure")
	}
	const n, runs = 2000, 3
	var size int
	for run := range runs {
		for _, noChunking := range []bool{false, true} {
			s := postfixtest.Start(t, postfixtest.Options{})
			ch := newPostfixChannel(t, s, func(o *email.Options) { o.NoChunking = noChunking })
			msg := func(i int) *crier.Message {
				return largeMessage(fmt.Sprintf("a1.1.soest.mail-soest.%d", i), recipient(i))
			}
			start := time.Now()
			if errs := fanOut(ch, n, msg); len(errs) > 0 {
				t.Fatalf("%d sends failed, e.g. %v", len(errs), firstError(errs))
			}
			mails, last := s.WaitMails(t, n, 5*time.Minute)
			took := last.Sub(start)
			size = len(mails[0])
			mode := "default (BDAT)"
			if noChunking {
				mode = "chunking: false"
			}
			t.Logf("run %d, %-15s: %d mails in %5.2f s, %4.0f mails/s", run+1, mode, n, took.Seconds(), n/took.Seconds())
			ch.Close()
			s.Stop(t)
		}
	}
	t.Logf("mail size as delivered: %d bytes", size)
}
