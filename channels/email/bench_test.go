package email_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/wneessen/go-mail"
)

// Run with: go test -run '^$' -bench . -benchtime 5s ./channels/email
// Both benchmarks send the same personalised ~1.7 KB mails from 8
// goroutines over 8 reused plain-text sessions to the in-process relay.
const benchWorkers = 8

func benchMessage(i int) *crier.Message {
	unsub := fmt.Sprintf("https://krisen.soest.example/soest/unsubscribe?t=%016x.%032x", i, i*7919)
	text := strings.Repeat("Das Bürgerbüro am Vreithof bleibt wegen einer Störung der IT geschlossen. ", 2) +
		"\n\nTelefon: 02921 103-0, Mo–Fr 8–12 Uhr.\n\nAbmelden: " + unsub + "\n"
	html := "<p>" + strings.Repeat("Das Bürgerbüro am Vreithof bleibt wegen einer Störung der IT geschlossen. ", 2) +
		"</p>\n<p>Telefon: 02921 103-0, Mo–Fr 8–12 Uhr.</p>\n<p><a href=\"" + unsub + "\">Abmelden</a></p>\n"
	m := testMessage(fmt.Sprintf("a1.1.soest.mail-soest.%d", i+1), fmt.Sprintf("buerger%06d@example.org", i))
	m.Text, m.HTML, m.UnsubscribeURL = text, html, unsub
	return m
}

func BenchmarkSend(b *testing.B) {
	var taken benchCount
	_, o := newRelay(b, email.TLSNone, taken.options())
	o.Connections = benchWorkers
	ch := newChannel(b, o)

	var next atomic.Int64
	b.ResetTimer()
	runWorkers(func() {
		for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
			if _, err := ch.Send(context.Background(), benchMessage(i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	taken.report(b)
}

// BenchmarkSendPersonalized sends the mails of BenchmarkSend as the
// workers hand them to the channel: one rendered message with
// crier.UnsubscribePlaceholder, personalised by the channel.
func BenchmarkSendPersonalized(b *testing.B) {
	var taken benchCount
	_, o := newRelay(b, email.TLSNone, taken.options())
	o.Connections = benchWorkers
	ch := newChannel(b, o)
	rendered := benchMessage(0)
	text := strings.ReplaceAll(rendered.Text, rendered.UnsubscribeURL, crier.UnsubscribePlaceholder)
	html := strings.ReplaceAll(rendered.HTML, rendered.UnsubscribeURL, crier.UnsubscribePlaceholder)

	var next atomic.Int64
	b.ResetTimer()
	runWorkers(func() {
		for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
			m := benchMessage(i)
			m.Text, m.HTML = text, html
			if _, err := ch.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	taken.report(b)
}

// BenchmarkRawGoMail is the floor BenchmarkSend is compared with: go-mail
// alone, one client per goroutine, each dialed once and reused.
func BenchmarkRawGoMail(b *testing.B) {
	var taken benchCount
	s := smtptest.NewServer(b, taken.options())
	clients := make([]*mail.Client, benchWorkers)
	for w := range clients {
		c, err := mail.NewClient(s.Host(), mail.WithPort(s.Port()), mail.WithTLSPolicy(mail.NoTLS),
			mail.WithoutNoop(), mail.WithHELO("crier.test"))
		if err != nil {
			b.Fatal(err)
		}
		if err := c.DialWithContext(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		clients[w] = c
	}

	var next atomic.Int64
	var w atomic.Int64
	b.ResetTimer()
	runWorkers(func() {
		c := clients[w.Add(1)-1]
		for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
			if err := c.Send(rawMessage(b, benchMessage(i))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	taken.report(b)
}

// rawMessage builds the same mail as the channel does, with go-mail only.
func rawMessage(b *testing.B, m *crier.Message) *mail.Msg {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From("Stadt Soest <presse@soest.example>"); err != nil {
		b.Fatal(err)
	}
	if err := msg.To(m.Recipient); err != nil {
		b.Fatal(err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(testTime)
	msg.SetMessageIDWithValue(m.Key + "@soest.example")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(mail.HeaderContentLang, m.Language)
	msg.SetListUnsubscribe(m.UnsubscribeURL)
	msg.SetListUnsubscribePost()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	return msg
}

func runWorkers(f func()) {
	var wg sync.WaitGroup
	for range benchWorkers {
		wg.Go(f)
	}
	wg.Wait()
}

// benchCount counts what a discarding relay took.
type benchCount struct {
	mails, bytes atomic.Int64
}

// options returns relay options that keep no messages and count them.
func (c *benchCount) options() smtptest.Options {
	return smtptest.Options{Discard: true, OnMessage: func(m *smtptest.Message) {
		c.mails.Add(1)
		c.bytes.Add(int64(len(m.Data)))
	}}
}

// report checks that the relay took b.N mails and reports the rates.
func (c *benchCount) report(b *testing.B) {
	b.Helper()
	b.StopTimer()
	if got := c.mails.Load(); got != int64(b.N) {
		b.Fatalf("relay took %d mails, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
	b.ReportMetric(float64(c.bytes.Load())/float64(b.N), "bytes/mail")
}
