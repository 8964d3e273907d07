// Package bench measures crier on the machine it runs on and judges the
// numbers against the targets crier is built for. It is the engine of
// "crier bench": every row builds crier from a configuration, as serve
// does, with its data in a fresh SQLite file, and sends only to sinks the
// row starts itself on loopback (the fakes of the channel packages:
// smtptest, webhooktest, mastodontest, slackfake), so nothing leaves the
// machine.
//
// # Rows
//
//	commit       latency of Engine.Publish for 70 towns × 5 channels
//	             (render, check, one transaction), p50 and p99
//	email rate   crier's mails per second to an in-process SMTP sink,
//	             first to last mail, next to a raw go-mail loop with as
//	             many reused connections in the same run
//	email e2e    publish to the last mail at the sink, for 20 000 recipients
//	email cost   CPU time and peak RSS of the crier process in that send
//	fan-out      publish to every delivery final for 350 non-email deliveries
//	queue        claim → ack drain by the workers with a channel that does nothing
//	memory       peak RSS of a fan-out to one list of 1 000 000 subscribers
//	failover     a blackholed primary until the last of the backlog arrived
//	             via the secondary (and the first)
//	startup      crier serve on a data directory with 1 000 000 queued
//	             deliveries until /readyz answers 200
//
// # How the numbers are taken
//
// Package bench does not wire crier itself: the command passes a Builder,
// its own composition root, so that the rows measure what serve runs.
//
// Peak RSS is VmHWM of /proc/self/status: the peak of the whole life of a
// process, which cannot be reset. CPU time is getrusage(RUSAGE_SELF),
// user plus system, taken just before Publish and once every outcome is
// recorded. So that both are crier's alone, the email end-to-end and cost
// rows and the memory row run in a process of their own ("crier bench
// --row R --child DIR", see RunChild), on a data directory the parent
// prepared with the subscribers, and send to an SMTP sink in the parent.
// The startup row starts "crier serve" and times it from the start of the
// process. Sinks, parent and child share the machine's CPUs, as a relay on
// the same host would.
//
// The email rows send a short notice with compact templates (the body and
// the links, no layout tables), about 1.7 KB a mail with its headers; the
// table reports the exact size. A row that cannot meet its target is
// reported as FAIL; a row that could not run reports its error.
package bench
