package main

// Benchmarks of the two numbers that size a crier installation: how long a
// publish for a whole county takes until it is committed, and how fast the
// email workers drain a large list compared with go-mail alone. Both build
// crier from a configuration, as serve does, on a real SQLite file.
//
//	go test -run '^$' -bench PublishCommit -benchtime 200x -count 3 ./cmd/crier
//	go test -run '^$' -bench EmailThroughput -benchtime 1x -count 3 ./cmd/crier
//
// CRIER_BENCH_RECIPIENTS=2000 makes the throughput benchmark a quick one.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/wneessen/go-mail"
)

// benchTown is one of the 14 towns of Kreis Soest with the variables its
// notices use.
type benchTown struct {
	id, name, ags, phone, office, hours, website, hashtag string
}

var benchKreisSoest = []benchTown{
	{"anroechte", "Gemeinde Anröchte", "05974004", "02947 888-0", "Rathaus, Hauptstraße 74, 59609 Anröchte", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.anroechte.de", "Anröchte"},
	{"bad-sassendorf", "Gemeinde Bad Sassendorf", "05974008", "02921 505-0", "Rathaus, Eichendorffstraße 1, 59505 Bad Sassendorf", "Mo–Fr 8–12 Uhr, Di 14–16 Uhr", "https://www.bad-sassendorf.de", "BadSassendorf"},
	{"ense", "Gemeinde Ense", "05974012", "02938 980-0", "Rathaus, Am Spring 4, 59469 Ense", "Mo–Fr 8–12 Uhr, Do 14–18 Uhr", "https://www.ense.de", "Ense"},
	{"erwitte", "Stadt Erwitte", "05974016", "02943 896-0", "Rathaus, Am Markt 13, 59597 Erwitte", "Mo–Fr 8–12:30 Uhr, Do 14–17 Uhr", "https://www.erwitte.de", "Erwitte"},
	{"geseke", "Stadt Geseke", "05974020", "02942 500-0", "Bürgerbüro, Bachstraße 2, 59590 Geseke", "Mo–Fr 8–12 Uhr, Mo und Do 14–17 Uhr", "https://www.geseke.de", "Geseke"},
	{"lippetal", "Gemeinde Lippetal", "05974024", "02923 610-0", "Rathaus, Bahnhofstraße 6, 59510 Lippetal", "Mo–Fr 8–12 Uhr, Do 14–18 Uhr", "https://www.lippetal.de", "Lippetal"},
	{"lippstadt", "Stadt Lippstadt", "05974028", "02941 980-0", "Bürgerbüro, Ostwall 1, 59555 Lippstadt", "Mo–Fr 8–13 Uhr, Do 14–18 Uhr", "https://www.lippstadt.de", "Lippstadt"},
	{"moehnesee", "Gemeinde Möhnesee", "05974032", "02924 981-0", "Rathaus, Hauptstraße 19, 59519 Möhnesee", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.moehnesee.de", "Möhnesee"},
	{"ruethen", "Stadt Rüthen", "05974036", "02952 818-0", "Rathaus, Hochstraße 14, 59602 Rüthen", "Mo–Fr 8–12 Uhr, Do 14–17:30 Uhr", "https://www.ruethen.de", "Rüthen"},
	{"soest", "Stadt Soest", "05974040", "02921 103-0", "Bürgerbüro, Am Vreithof 8, 59494 Soest", "Mo–Fr 8–12 Uhr", "https://www.soest.de", "Soest"},
	{"warstein", "Stadt Warstein", "05974044", "02902 81-0", "Rathaus, Dieplohstraße 1, 59581 Warstein", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.warstein.de", "Warstein"},
	{"welver", "Gemeinde Welver", "05974048", "02384 51-0", "Rathaus, Am Markt 4, 59514 Welver", "Mo–Fr 8–12 Uhr, Di 14–16 Uhr", "https://www.welver.de", "Welver"},
	{"werl", "Stadt Werl", "05974052", "02922 800-0", "Bürgerbüro, Hedwig-Dransfeld-Straße 23, 59457 Werl", "Mo–Fr 8–12 Uhr, Do 14–18 Uhr", "https://www.werl.de", "Werl"},
	{"wickede", "Gemeinde Wickede (Ruhr)", "05974056", "02377 915-0", "Rathaus, Hauptstraße 81, 58739 Wickede (Ruhr)", "Mo–Fr 8–12 Uhr, Do 14–17 Uhr", "https://www.wickede.de", "WickedeRuhr"},
}

// benchTowns returns the 14 towns five times over, 70 in all: the size of
// the region the shared IT provider of 2023 served. The copies get a
// suffix on id, name, hashtag and web address, and AGS codes of their own.
func benchTowns() []benchTown {
	var out []benchTown
	for k := range 5 {
		for _, t := range benchKreisSoest {
			if k > 0 {
				n := strconv.Itoa(k + 1)
				t.id += "-" + n
				t.name += " " + n
				t.ags = t.ags[:4] + strconv.Itoa(4+k) + t.ags[5:]
				t.website = strings.Replace(t.website, ".de", n+".de", 1)
				t.hashtag += n
			}
			out = append(out, t)
		}
	}
	return out
}

// benchNotice is the outage notice of examples/buergerbuero-geschlossen.md
// for the given towns.
func benchNotice(towns ...string) *crier.Announcement {
	return &crier.Announcement{
		Title: "Bürgerbüro geschlossen wegen IT-Ausfall",
		Body: "Wegen eines Angriffs auf die gemeinsame IT unseres Dienstleisters sind die\n" +
			"Systeme der **{{.Town.Name}}** seit heute Morgen nicht erreichbar. Das\n" +
			"Bürgerbüro bleibt bis auf Weiteres geschlossen; E-Mails an die Verwaltung\n" +
			"kommen derzeit nicht an.\n\n" +
			"In dringenden Fällen erreichen Sie uns telefonisch unter {{.Vars.phone}}\n" +
			"({{.Vars.hours}}), persönlich im {{.Vars.office}}.\n\n" +
			"- Personalausweise und Reisepässe können nicht beantragt werden.\n" +
			"- Bereits bestellte Dokumente können nicht ausgegeben werden.\n" +
			"- Geburten und Sterbefälle beurkundet das Standesamt weiterhin; bitte rufen Sie vorher an.\n\n" +
			"Wir informieren auf dieser Seite, sobald es Neuigkeiten gibt.\n",
		Towns:     towns,
		Category:  "Infra",
		Urgency:   "Expected",
		Severity:  "Minor",
		Certainty: "Observed",
	}
}

// benchApp writes config to a file and builds crier from it, as serve
// does, with its data in a fresh temporary directory.
func benchApp(b *testing.B, config string, env map[string]string) *app {
	b.Helper()
	path := filepath.Join(b.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	m, _, _ := testMain(env)
	cfg, err := m.loadConfig(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = newDataDir(b)
	a, err := m.build(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}

// benchCountyConfig is crier for 70 towns with five channels each: three
// webhooks every town shares (the local radio, the county's control room,
// a warning app), the town's own email list, and a webhook to the town's
// own website. Mastodon and Slack are not delivered by this version, so
// webhooks stand in for them; a webhook message renders a JSON payload, a
// social one a short text, at a similar cost.
func benchCountyConfig(towns []benchTown) string {
	var b strings.Builder
	b.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\nchannels:\n")
	for _, h := range []struct{ id, url string }{
		{"radio", "https://lokalradio.example/hooks/crier"},
		{"leitstelle", "https://leitstelle.kreis-soest.example/hooks/crier"},
		{"warn-app", "https://warnapp.example/api/v1/crier"},
	} {
		fmt.Fprintf(&b, "  - id: %s\n    type: webhook\n    endpoints: [{url: %q, secret: \"${WEBHOOK_SECRET}\"}]\n", h.id, h.url)
	}
	for _, t := range towns {
		fmt.Fprintf(&b, "  - id: mail-%s\n    type: email\n    from: \"%s <presse@%s.example>\"\n", t.id, t.name, t.id)
		fmt.Fprintf(&b, "    endpoints: [{host: relay.kommunal-it.example, port: 587, tls: starttls, username: presse-%s, password: \"${SMTP_PASSWORD}\"}]\n", t.id)
		fmt.Fprintf(&b, "  - id: web-%s\n    type: webhook\n    endpoints: [{url: %q, secret: \"${WEBHOOK_SECRET}\"}]\n", t.id, t.website+"/crier-hook")
	}
	b.WriteString("towns:\n")
	for _, t := range towns {
		fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    ags: %q\n", t.id, t.name, t.ags)
		fmt.Fprintf(&b, "    vars: {phone: %q, office: %q, hours: %q, website: %q, hashtag: %q}\n", t.phone, t.office, t.hours, t.website, t.hashtag)
		fmt.Fprintf(&b, "    channels: [radio, leitstelle, warn-app, mail-%s, web-%s]\n", t.id, t.id)
	}
	return b.String()
}

// benchSubscribers returns n confirmed subscribers of town.
func benchSubscribers(town string, n int) []*crier.Subscriber {
	domains := []string{"example.org", "example.com", "example.net", "mail.example", "post.example"}
	subs := make([]*crier.Subscriber, n)
	for i := range subs {
		subs[i] = &crier.Subscriber{
			Town: town, Email: fmt.Sprintf("buerger%05d@%s", i, domains[i%len(domains)]),
			State: crier.SubscriberConfirmed, Source: "Papierliste Bürgerbüro",
		}
	}
	return subs
}

// BenchmarkPublishCommit measures a publish for 70 towns × 5 channels
// (benchCountyConfig) through Engine.Publish: validating and rendering all 350
// messages, checking them, and committing the announcement, the messages
// and every delivery in one transaction. Each town's list has 50 confirmed
// subscribers, expanded into deliveries in SQL inside the transaction:
// 70 × (4 + 50) = 3780 deliveries per publish. The database is a real
// SQLite file (WAL, synchronous=FULL) that grows with every iteration.
// p50-ms and p99-ms are the latency of one publish; run at least 100
// iterations for a meaningful p99.
func BenchmarkPublishCommit(b *testing.B) {
	const perTown = 50
	towns := benchTowns()
	env := map[string]string{"WEBHOOK_SECRET": webhooktest.NewSecret(b), "SMTP_PASSWORD": "relay-secret"}
	a := benchApp(b, benchCountyConfig(towns), env)
	ctx := context.Background()
	var subs []*crier.Subscriber
	for _, t := range towns {
		subs = append(subs, benchSubscribers(t.id, perTown)...)
	}
	if _, err := a.db.AddSubscribers(ctx, subs, time.Now()); err != nil {
		b.Fatal(err)
	}
	want := len(towns) * (4 + perTown)

	var took []time.Duration
	for b.Loop() {
		n := benchNotice("all")
		start := time.Now()
		res, err := a.engine.Publish(ctx, n, "")
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if res.Deliveries != want {
			b.Fatalf("publish queued %d deliveries, want %d", res.Deliveries, want)
		}
	}
	slices.Sort(took)
	b.ReportMetric(benchMillis(benchPercentile(took, 50)), "p50-ms")
	b.ReportMetric(benchMillis(benchPercentile(took, 99)), "p99-ms")
	b.ReportMetric(float64(want), "deliveries/op")
}

// benchPercentile returns the nearest-rank p-th benchPercentile of sorted durations.
func benchPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func benchMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchRecipients returns CRIER_BENCH_RECIPIENTS, or 20 000.
func benchRecipients(b *testing.B) int {
	s := os.Getenv("CRIER_BENCH_RECIPIENTS")
	if s == "" {
		return 20000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("CRIER_BENCH_RECIPIENTS=%q is not a positive number", s)
	}
	return n
}

// benchMailConfig is crier for Soest alone, whose email list goes to the
// relay at 127.0.0.1:port with workers parallel sends and as many SMTP
// sessions.
func benchMailConfig(port, workers int) string {
	return fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
delivery: {concurrency: {email: %d}}
channels:
  - id: mail-soest
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints: [{host: 127.0.0.1, port: %d, tls: none}]
towns:
  - id: soest
    name: Stadt Soest
    ags: "05974040"
    vars: {phone: "02921 103-0", office: "Bürgerbüro, Am Vreithof 8, 59494 Soest", hours: "Mo–Fr 8–12 Uhr", website: "https://www.soest.de", hashtag: Soest}
    channels: [mail-soest]
`, workers, port)
}

// benchMailCount counts the mails and bytes a sink accepted and tells when
// the count reaches a goal.
type benchMailCount struct {
	n, bytes    atomic.Int64
	first, last atomic.Int64 // unix nanoseconds of the goal's first and last mail
	goal        atomic.Pointer[benchMailGoal]
}

type benchMailGoal struct {
	want int64
	done chan struct{}
}

// expect returns a channel that is closed when the count reaches want,
// which must be more than it is now.
func (c *benchMailCount) expect(want int64) <-chan struct{} {
	g := &benchMailGoal{want: want, done: make(chan struct{})}
	c.first.Store(0)
	c.goal.Store(g)
	return g.done
}

// span returns the time from the first to the last mail of the last goal.
func (c *benchMailCount) span() time.Duration {
	return time.Duration(c.last.Load() - c.first.Load())
}

func (c *benchMailCount) onMessage(m *smtptest.Message) {
	now := time.Now().UnixNano()
	c.first.CompareAndSwap(0, now)
	c.last.Store(now)
	c.bytes.Add(int64(len(m.Data)))
	if g := c.goal.Load(); c.n.Add(1) == g.want {
		close(g.done)
	}
}

// newBenchSink starts an SMTP sink that counts and discards what it receives.
func newBenchSink(b *testing.B) (*smtptest.Server, *benchMailCount) {
	c := &benchMailCount{}
	c.goal.Store(&benchMailGoal{want: -1})
	s := smtptest.NewServer(b, smtptest.Options{Discard: true, OnMessage: c.onMessage})
	return s, c
}

// BenchmarkEmailThroughput measures crier end to end on one town's list of
// 20 000 confirmed subscribers (CRIER_BENCH_RECIPIENTS), with email
// concurrency 8 and so 8 SMTP sessions, against an in-process SMTP sink
// that discards what it receives: from Engine.Publish, with the workers
// already running as in serve, until the sink has accepted the last mail.
// In the same run it measures the floor to compare with: go-mail alone, 8
// goroutines each with one client dialed once and reused, sending the
// same personalised mails (the rendered notice with the recipient's own
// unsubscribe link, about 5.5 KB with its HTML part) to a fresh sink. crier-mails/s, raw-mails/s and their
// ratio are the result; ns/op is the crier part only. Run with -benchtime
// 1x: one iteration is a full run of both.
func BenchmarkEmailThroughput(b *testing.B) {
	const workers = 8
	n := benchRecipients(b)
	sink, count := newBenchSink(b)
	a := benchApp(b, benchMailConfig(sink.Port(), workers), nil)
	ctx := context.Background()
	if _, err := a.db.AddSubscribers(ctx, benchSubscribers("soest", n), time.Now()); err != nil {
		b.Fatal(err)
	}
	// The rendered message the raw loop personalises, exactly as crier
	// renders it for Soest.
	plan, err := a.engine.Preview(ctx, benchNotice("soest"))
	if err != nil || len(plan.Problems) > 0 || len(plan.Messages) != 1 {
		b.Fatalf("preview: %v %v", err, plan.Problems)
	}
	rendered := plan.Messages[0]
	recipients := make([]string, n)
	for i, s := range benchSubscribers("soest", n) {
		recipients[i] = s.Email
	}

	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- a.workers.Run(runCtx) }()

	var ids []string
	var crierTook, crierSpan, rawTook time.Duration
	var rawBytes int64
	b.ResetTimer()
	for i := range b.N {
		done := count.expect(int64(i+1) * int64(n))
		start := time.Now()
		res, err := a.engine.Publish(ctx, benchNotice("soest"), "")
		if err != nil {
			b.Fatal(err)
		}
		if res.Deliveries != n {
			b.Fatalf("publish queued %d deliveries, want %d", res.Deliveries, n)
		}
		ids = append(ids, res.Announcement.ID)
		select {
		case <-done:
		case <-time.After(10 * time.Minute):
			b.Fatalf("the sink has %d of %d mails after 10 minutes", count.n.Load()-int64(i*n), n)
		}
		crierTook += time.Since(start)
		crierSpan += count.span()
		b.StopTimer()
		took, bytes := benchRawSend(b, rendered, recipients, workers)
		rawTook += took
		rawBytes += bytes
		b.StartTimer()
	}
	b.StopTimer()
	stop()
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	benchAllSent(b, a, ids, n)
	if got, want := count.n.Load(), int64(b.N*n); got != want {
		b.Fatalf("the sink accepted %d mails, want %d", got, want)
	}

	mails := float64(b.N * n)
	crierRate, rawRate := mails/crierSpan.Seconds(), mails/rawTook.Seconds()
	b.ReportMetric(mails/crierTook.Seconds(), "e2e-mails/s")
	b.ReportMetric(crierRate, "crier-mails/s")
	b.ReportMetric(rawRate, "raw-mails/s")
	b.ReportMetric(crierRate/rawRate, "ratio")
	b.ReportMetric(float64(count.bytes.Load())/mails, "crier-B/mail")
	b.ReportMetric(float64(rawBytes)/mails, "raw-B/mail")
}

// benchAllSent fails b unless every delivery of the announcements is sent.
func benchAllSent(b *testing.B, a *app, ids []string, n int) {
	b.Helper()
	for _, id := range ids {
		counts, err := a.db.Counts(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		sent := 0
		for _, c := range counts {
			if c.State == crier.StateSent {
				sent += c.N
			}
		}
		if sent != n {
			b.Fatalf("announcement %s: %d of %d deliveries sent: %v", id, sent, n, counts)
		}
	}
}

// benchRawSend sends one mail per recipient with go-mail alone to a fresh sink,
// from workers goroutines with one reused client each, and returns the
// time from dialing to the last accepted mail and the bytes received.
func benchRawSend(b *testing.B, m *crier.Message, recipients []string, workers int) (time.Duration, int64) {
	b.Helper()
	sink, count := newBenchSink(b)
	done := count.expect(int64(len(recipients)))
	id := crier.NewID()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			c, err := mail.NewClient(sink.Host(), mail.WithPort(sink.Port()), mail.WithTLSPolicy(mail.NoTLS), mail.WithoutNoop())
			if err != nil {
				b.Error(err)
				return
			}
			if err := c.DialWithContext(context.Background()); err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for i := int(next.Add(1)) - 1; i < len(recipients); i = int(next.Add(1)) - 1 {
				key := crier.DeliveryKey(id, 1, m.Town, m.Channel, int64(i+1))
				msg, err := benchRawMail(m, key, recipients[i])
				if err == nil {
					err = c.Send(msg)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	<-done
	return count.span(), count.bytes.Load()
}

// benchTokens seals the raw loop's unsubscribe links as crier seals its own.
var benchTokens = crier.Tokens{Secret: []byte("bench secret, not a real one, 32")}

// benchRawMail builds the mail the email channel builds for one recipient,
// with go-mail only: the same headers, and the rendered text and HTML with
// an unsubscribe link sealed for the recipient, as crier's.
func benchRawMail(m *crier.Message, key, rcpt string) (*mail.Msg, error) {
	tok := benchTokens.Sign(crier.PurposeUnsubscribe, m.Town, rcpt, time.Now().Add(unsubscribeValidity))
	unsub := "https://krisen.kreis-soest.example/unsubscribe/" + tok
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From("Stadt Soest <presse@soest.example>"); err != nil {
		return nil, err
	}
	if err := msg.To(rcpt); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(time.Now())
	msg.SetMessageIDWithValue(key + "@soest.example")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(mail.HeaderContentLang, m.Language)
	msg.SetListUnsubscribe(unsub)
	msg.SetListUnsubscribePost()
	msg.SetBodyString(mail.TypeTextPlain, strings.ReplaceAll(m.Text, crier.UnsubscribePlaceholder, unsub))
	msg.AddAlternativeString(mail.TypeTextHTML, strings.ReplaceAll(m.HTML, crier.UnsubscribePlaceholder, unsub))
	return msg, nil
}

// benchWebhookConfig is crier for n towns sharing one radio webhook whose
// endpoints are given as YAML, with default delivery settings.
func benchWebhookConfig(n int, networks, endpoints string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: https://krisen.kreis-soest.example\n%s\nchannels:\n  - id: radio\n    type: webhook\n    endpoints:\n%s\ntowns:\n", networks, endpoints)
	for i := range n {
		fmt.Fprintf(&b, "  - {id: town-%03d, name: Gemeinde %03d, vars: {phone: \"02921 103-0\"}, channels: [radio]}\n", i, i)
	}
	return b.String()
}

// benchDrain publishes one announcement for every town of a and returns
// the times until the first and the last webhook arrived at rcv.
func benchDrain(b *testing.B, a *app, rcv *webhooktest.Receiver, towns int) (first, last time.Duration) {
	b.Helper()
	var n atomic.Int64
	var firstAt atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	rcv.OnAccept(func(*webhooktest.Request) {
		firstAt.CompareAndSwap(0, int64(time.Since(start)))
		if n.Add(1) == int64(towns) {
			close(done)
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.workers.Run(ctx) }()
	notice := benchNotice("all")
	notice.Body = "Das Bürgerbüro der {{.Town.Name}} bleibt geschlossen. Telefon: {{.Vars.phone}}"
	if _, err := a.engine.Publish(context.Background(), notice, ""); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%d of %d webhooks after 2 minutes", n.Load(), towns)
	}
	last = time.Since(start)
	stop()
	<-ran
	return time.Duration(firstAt.Load()), last
}

// BenchmarkFailover measures, with default settings, how long a backlog
// waits when the primary endpoint is blackholed: it accepts connections
// and never answers (a TLS endpoint whose handshake never completes), so
// the first sends fail over to the secondary over another network once
// the handshake times out, and the breaker then sends the rest straight
// there. Reported: seconds until the first and the last of 200 webhooks
// arrived through the secondary.
func BenchmarkFailover(b *testing.B) {
	const towns = 200
	var first, last time.Duration
	for range b.N {
		hole, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var held []net.Conn
		go func() {
			for {
				c, err := hole.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		}()
		secret := webhooktest.NewSecret(b)
		rcv := webhooktest.NewReceiver(b, secret, crier.SystemClock{})
		a := benchApp(b, benchWebhookConfig(towns, "networks:\n  lte: {source: 127.0.0.2}",
			fmt.Sprintf("      - {name: primary, url: \"https://%s/hook\", secret: \"${S}\"}\n      - {name: lte, url: %q, secret: \"${S}\", network: lte}",
				hole.Addr(), rcv.URL()+"/hook")), map[string]string{"S": secret})
		f, l := benchDrain(b, a, rcv, towns)
		first, last = first+f, last+l
		hole.Close()
		for _, c := range held {
			c.Close()
		}
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "first-s")
	b.ReportMetric(last.Seconds()/float64(b.N), "all-s")
}

// BenchmarkNetworkOverhead compares webhook throughput on a healthy
// primary over the default route with the same over a network bound to a
// source address (127.0.0.2), in the same run.
func BenchmarkNetworkOverhead(b *testing.B) {
	const towns = 2000
	var plain, bound time.Duration
	for range b.N {
		for _, bind := range []bool{false, true} {
			secret := webhooktest.NewSecret(b)
			rcv := webhooktest.NewReceiver(b, secret, crier.SystemClock{})
			networks, network := "", ""
			if bind {
				networks, network = "networks:\n  lte: {source: 127.0.0.2}", ", network: lte"
			}
			a := benchApp(b, benchWebhookConfig(towns, networks,
				fmt.Sprintf("      - {url: %q, secret: \"${S}\"%s}", rcv.URL()+"/hook", network)), map[string]string{"S": secret})
			_, took := benchDrain(b, a, rcv, towns)
			if bind {
				bound += took
			} else {
				plain += took
			}
		}
	}
	b.ReportMetric(float64(towns*b.N)/plain.Seconds(), "default-webhooks/s")
	b.ReportMetric(float64(towns*b.N)/bound.Seconds(), "bound-webhooks/s")
	b.ReportMetric(bound.Seconds()/plain.Seconds(), "bound/default-time")
}
