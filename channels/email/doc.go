// Package email sends crier messages by SMTP through one relay: the town's
// mail provider, or an outside relay reached over a secondary network.
//
// A Channel keeps a small pool of authenticated SMTP sessions and sends one
// message per recipient over them, so that a list of thousands of
// subscribers does not pay for a TCP, TLS and AUTH handshake per mail. A
// session stays in the pool after the relay refused a message with a reply
// code and then answers RSET, up to three refusals, after which it is
// renewed: relays slow down and drop sessions that collect errors. After
// any other failure it is closed. A session idle for ten seconds, and
// every idle session at Close, ends with QUIT.
//
// A refusal of the recipient (a 4xx or 5xx reply to RCPT TO) is that
// recipient's: its error is marked crier.Error.Recipient, so that no
// circuit breaker counts it against the relay.
//
// Every message carries a deterministic Message-ID built from the
// delivery's key, a List-Unsubscribe header with RFC 8058 one-click
// unsubscribe, and Auto-Submitted: auto-generated. Subjects and display
// names are RFC 2047 encoded, bodies quoted-printable, so umlauts survive
// any relay.
//
// A broadcast sends the same rendered message to every subscriber, so the
// channel encodes it once: the header lines shared by all recipients and
// the quoted-printable, dot-stuffed body are kept per distinct message,
// and a mail only adds its recipient's header lines and unsubscribe link.
// With a relay that offers PIPELINING (RFC 2920), MAIL FROM, RCPT TO and
// DATA go out in one write. With a relay that also offers CHUNKING (RFC
// 3030), a new session, or one that the relay answered less than a second
// ago, sends a mail as a BDAT chunk in the same write as its commands: one
// round trip per mail instead of two, which on a link with the latency of
// LTE doubles what a session carries. A session idle for longer sends its
// next mail with DATA, whose reply to MAIL FROM shows that the relay has
// not dropped the session before the mail goes out. Options.NoChunking
// always uses DATA. After writing a chunk the socket acknowledges what
// it receives at once (TCP_QUICKACK on Linux): Postfix answers MAIL FROM
// and RCPT TO before it has read a chunk of more than 4 KB and holds its
// final reply until that early reply is acknowledged, which a delayed
// acknowledgement made wait up to 40 ms per mail. Where the socket
// option does not exist, a mail of more than 4 000 bytes goes out with
// DATA.
//
// SMTP has no deduplication. Send therefore tells apart failures after
// which nothing can have been delivered (transient or permanent) from the
// one case where the relay may have accepted the message without saying so:
// the connection was lost, or the time ran out, after the whole message had
// been transmitted and before the relay's final reply. That case is an
// unknown outcome that is never retried automatically. A mail sent as a
// chunk has been transmitted as soon as its write is done, so any reply
// that does not come leaves it unknown.
//
// Probe checks the relay without sending: a new session, opened as Send
// opens one, that says NOOP and QUIT and never enters the pool.
package email
