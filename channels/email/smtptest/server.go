// Package smtptest runs a real SMTP server in the test process, on
// loopback, whose answers a test controls: it can require STARTTLS or speak
// implicit TLS, require AUTH PLAIN or LOGIN, refuse connections with any
// 4xx or 5xx greeting, refuse messages with any 4xx or 5xx reply at MAIL,
// RCPT or after DATA, never answer, lose the connection before its final
// reply, or answer slowly. It records every message it accepts, decoded
// the way a mail reader sees it, and every session that sent none, such
// as a health probe's.
//
// The channel tests of package email and the end-to-end tests of crier use
// the same server, so that both test against one model of a relay.
package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Step is a point of a session at which the server can refuse or hang:
// its greeting, or an SMTP command of a mail transaction.
type Step string

// Steps of a session.
const (
	// StepGreeting is the server's first reply, before any command: a
	// refusal there refuses the connection, as a relay does that is
	// overloaded (421) or will not serve the client (554).
	StepGreeting Step = "greeting"
	StepMail     Step = "MAIL" // the envelope sender
	StepRcpt     Step = "RCPT" // each recipient
	StepData     Step = "DATA" // the final reply, after the whole message has been read
)

// Options describe a server. The zero value is a plain-text server without
// authentication that accepts every message at once.
type Options struct {
	// TLS makes the server offer STARTTLS with this configuration.
	TLS *tls.Config
	// Implicit makes the server speak TLS from the first byte (SMTPS, port
	// 465 style) instead of offering STARTTLS. It uses TLS, or ServerTLS
	// when TLS is nil.
	Implicit bool
	// Auth maps user names to passwords. When it is not empty the server
	// offers AUTH PLAIN and LOGIN, also without TLS, and refuses MAIL with
	// 530 until the client has authenticated.
	Auth map[string]string
	// Delay makes a slow relay: the final reply to DATA comes this long
	// after the message has been read. A server shutting down cuts the
	// wait short and answers 421 without accepting the message.
	Delay time.Duration
	// OnMessage, if set, is called with every accepted message after it
	// has been recorded and before the server sends its final reply, so
	// that a test can count messages or stop the sender in the window in
	// which the outcome is unknown to it. It runs on the session's
	// goroutine, possibly on several at once; the reply waits for it.
	OnMessage func(*Message)
	// Discard keeps no messages, for benchmarks: they are neither parsed
	// nor recorded, Messages and Accepted return nothing, and OnMessage
	// receives only the envelope, the TLS state, the user and Data.
	Discard bool
	// Addr is the address to listen on; default "127.0.0.1:0". Use
	// "[::1]:0" for IPv6.
	Addr string
}

// Server is an SMTP server on loopback. Its methods are safe for
// concurrent use.
type Server struct {
	opts Options
	addr *net.TCPAddr

	release chan struct{} // closed at shutdown: ends every hang and delay
	waiting chan struct{} // receives when a session starts holding back a reply

	refusing sync.WaitGroup // connections refused or held at StepGreeting

	mu       sync.Mutex
	answer   answer
	closed   bool
	inflight sync.WaitGroup // DATA commands being handled; Add under mu while !closed
	conns    []*smtp.Conn   // every connection that greeted, in order
	known    map[*smtp.Conn]*peer
	messages []*Message
}

// peer is what the server knows of one connection that greeted it.
type peer struct {
	user string // authenticated as; empty without AUTH
	tls  bool   // the connection was encrypted when it last greeted
	mail bool   // it started a mail transaction
}

// Probe is a session that greeted the server and started no mail
// transaction, as a health probe's does: EHLO, perhaps STARTTLS and AUTH,
// NOOP, QUIT.
type Probe struct {
	User string // the user it authenticated as; empty without AUTH
	TLS  bool   // whether it ran over TLS
}

// answer is how the server treats the following messages.
type answer struct {
	kind answerKind
	step Step
	err  *smtp.SMTPError // with fail
}

type answerKind int

const (
	accept answerKind = iota
	fail
	hang
	drop
)

var (
	_ channeltest.Remote = (*Server)(nil)
	_ smtp.AuthSession   = (*session)(nil)
)

// NewServer starts a server as opts describe and shuts it down when tb
// and its subtests have finished: hangs and delays end, connections are
// closed, and NewServer's cleanup returns only after every message being
// handled has been answered or abandoned, so OnMessage never runs after
// it. NewServer fails tb if it cannot listen.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{
		opts:    opts,
		release: make(chan struct{}),
		waiting: make(chan struct{}, 1),
		known:   map[*smtp.Conn]*peer{},
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.invalid"
	srv.AllowInsecureAuth = true // only ever on loopback
	srv.ErrorLog = log.New(io.Discard, "", 0)

	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	switch {
	case opts.Implicit:
		cfg := opts.TLS
		if cfg == nil {
			cfg = ServerTLS(tb)
		}
		l, err = tls.Listen("tcp", addr, cfg)
	default:
		srv.TLSConfig = opts.TLS
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().(*net.TCPAddr)
	l = &listener{Listener: l, srv: s}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	tb.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.release)
		_ = srv.Close()
		// Serve may not have registered l with srv yet.
		_ = l.Close()
		<-served
		s.refusing.Wait()
		s.inflight.Wait()
	})
	return s
}

// Addr returns the server's host:port, e.g. "127.0.0.1:40123".
func (s *Server) Addr() string { return s.addr.String() }

// Host returns the IP address the server listens on, e.g. "127.0.0.1".
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// Fail makes the server refuse every following message at step with the
// reply code, a 4xx or 5xx, and text; at StepGreeting it refuses every
// following connection instead, answering with the reply in place of its
// greeting and closing the connection. A text that starts with an
// enhanced status code such as "5.1.1 " is sent with that code, otherwise
// with X.0.0. Fail(step, 0, "") goes back to accepting, like Accept. Fail
// panics on any other code.
func (s *Server) Fail(step Step, code int, text string) {
	if code == 0 {
		s.Accept()
		return
	}
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: Fail with code %d, want a 4xx or 5xx reply", code))
	}
	s.set(answer{kind: fail, step: validStep(step), err: replyError(code, text)})
}

// Hang makes the server read each following message and never answer it;
// the session is released when the server shuts down.
func (s *Server) Hang() { s.HangAt(StepData) }

// HangAt makes the server stop answering at step: it reads the command
// (and at StepData the whole message) and sends no reply until it shuts
// down. At StepGreeting it accepts each following connection and never
// greets; the connection ends when the client closes it or the server
// shuts down.
func (s *Server) HangAt(step Step) { s.set(answer{kind: hang, step: validStep(step)}) }

// Drop makes the server read each following message and close the
// connection instead of sending its final reply. The message is not
// accepted.
func (s *Server) Drop() { s.set(answer{kind: drop, step: StepData}) }

// Accept makes the server accept every following message.
func (s *Server) Accept() { s.set(answer{}) }

// Set makes the server answer as b says, for the conformance suite of
// package channeltest: refusals come at RCPT (Reject 550, Unavailable 451,
// RateLimited 452, which carries no delay in SMTP), Hang and Drop after
// DATA.
func (s *Server) Set(b channeltest.Behavior) {
	switch b.Kind {
	case channeltest.Accept:
		s.Accept()
	case channeltest.Reject:
		s.Fail(StepRcpt, 550, "5.1.1 mailbox unavailable")
	case channeltest.Unavailable:
		s.Fail(StepRcpt, 451, "4.3.0 try again later")
	case channeltest.RateLimited:
		s.Fail(StepRcpt, 452, "4.5.3 too many messages, slow down")
	case channeltest.Hang:
		s.Hang()
	case channeltest.Drop:
		s.Drop()
	default:
		panic(fmt.Sprintf("smtptest: unknown behavior %v", b.Kind))
	}
}

// Waiting returns a channel that receives a value when a session starts
// holding back a reply, because of Hang, HangAt or Options.Delay. It keeps
// one value; a session that starts waiting while one is pending adds none.
func (s *Server) Waiting() <-chan struct{} { return s.waiting }

// Disconnect closes every connection from the server side, as a relay does
// with idle clients. The server keeps listening.
func (s *Server) Disconnect() {
	s.mu.Lock()
	conns := append([]*smtp.Conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Conn().Close()
	}
}

// Messages returns the messages accepted so far, in the order of the
// server's final replies.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.messages...)
}

// Accepted returns the Key of every message accepted so far, in order.
func (s *Server) Accepted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, len(s.messages))
	for i, m := range s.messages {
		keys[i] = m.Key
	}
	return keys
}

// Sessions returns how many connections have greeted the server with
// EHLO or HELO.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Probes returns the sessions so far that greeted the server with EHLO or
// HELO and have not started a mail transaction (MAIL FROM), in the order
// they greeted: health probes, and sessions that ended or failed before
// their first message, such as one refused at AUTH. None of them is a
// message; together with the sessions that sent mail they make Sessions.
func (s *Server) Probes() []Probe {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Probe
	for _, c := range s.conns {
		if p := s.known[c]; !p.mail {
			out = append(out, Probe{User: p.user, TLS: p.tls})
		}
	}
	return out
}

func (s *Server) set(a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = a
}

// answerAt returns the answer the server gives at step, and whether it
// deviates from accepting there.
func (s *Server) answerAt(step Step) (answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answer, s.answer.kind != accept && s.answer.step == step
}

// newSession runs on the connection's goroutine at its first EHLO or
// HELO, and again at the first after STARTTLS.
func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.known[c]
	if p == nil {
		p = &peer{}
		s.known[c] = p
		s.conns = append(s.conns, c)
	}
	p.tls = isTLS
	return &session{srv: s, conn: c, peer: p}, nil
}

// wait holds back a reply until d has passed (forever when d is 0) or the
// server shuts down, and reports whether d passed.
func (s *Server) wait(d time.Duration) bool {
	select {
	case s.waiting <- struct{}{}:
	default:
	}
	var done <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		done = t.C
	}
	select {
	case <-done:
		return true
	case <-s.release:
		return false
	}
}

// begin registers a DATA command; it reports false once the server is
// shutting down.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

// accept records m and calls the OnMessage hook.
func (s *Server) accept(m *Message) {
	if !s.opts.Discard {
		m.parse()
		s.mu.Lock()
		s.messages = append(s.messages, m)
		s.mu.Unlock()
	}
	if s.opts.OnMessage != nil {
		s.opts.OnMessage(m)
	}
}

var errShutdown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "server shutting down"}

// errAuthRequired is RFC 4954's reply to MAIL before AUTH.
var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// session is one SMTP session; go-smtp calls its methods from the
// connection's goroutine only.
type session struct {
	srv  *Server
	conn *smtp.Conn
	peer *peer // guarded by srv.mu
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.srv.opts.Auth) == 0 {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(username, password string) error {
		want, ok := ss.srv.opts.Auth[username]
		if !ok || password != want {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		ss.srv.mu.Lock()
		ss.peer.user = username
		ss.srv.mu.Unlock()
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error {
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.srv.mu.Lock()
	ss.peer.mail = true
	ss.srv.mu.Unlock()
	if len(ss.srv.opts.Auth) > 0 && ss.user == "" {
		return errAuthRequired
	}
	ss.from = from
	return ss.respond(StepMail)
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.respond(StepRcpt); err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !ss.srv.begin() {
		return errShutdown
	}
	defer ss.srv.inflight.Done()
	a, now := ss.srv.answerAt(StepData)
	switch {
	case now && a.kind == drop:
		_ = ss.conn.Conn().Close()
		return errors.New("connection dropped")
	case now:
		if err := ss.respond(StepData); err != nil {
			return err
		}
	}
	if d := ss.srv.opts.Delay; d > 0 && !ss.srv.wait(d) {
		return errShutdown
	}
	_, isTLS := ss.conn.TLSConnectionState()
	remote := ss.conn.Conn().RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	ss.srv.accept(&Message{
		From:     ss.from,
		To:       append([]string(nil), ss.to...),
		User:     ss.user,
		TLS:      isTLS,
		Data:     data,
		RemoteIP: remote,
	})
	return nil
}

// respond returns the reply the server is set to give at step: nil to go
// on, a refusal, or, for a hang, 421 once the server shuts down.
func (ss *session) respond(step Step) error {
	a, now := ss.srv.answerAt(step)
	if !now {
		return nil
	}
	switch a.kind {
	case fail:
		return a.err
	case hang:
		ss.srv.wait(0)
		return errShutdown
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// only implements for clients: it asks for the user name unless the
// client sent it with AUTH, then for the password.
type loginServer struct {
	check    func(username, password string) error
	username []byte
	step     int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	l.step++
	switch {
	case l.step == 1 && len(response) == 0:
		return []byte("Username:"), false, nil
	case l.username == nil:
		l.username = response
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(string(l.username), string(response))
}

// enhanced matches an enhanced status code at the start of a reply text.
var enhanced = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)`)

// replyError builds the refusal with code and text.
func replyError(code int, text string) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: text}
	if m := enhanced.FindStringSubmatch(text); m != nil {
		for i := range e.EnhancedCode {
			e.EnhancedCode[i], _ = strconv.Atoi(m[i+1])
		}
		e.Message = text[len(m[0]):]
	}
	if e.Message == "" {
		e.Message = "refused by smtptest"
	}
	return e
}

func validStep(step Step) Step {
	switch step {
	case StepGreeting, StepMail, StepRcpt, StepData:
		return step
	}
	panic(fmt.Sprintf("smtptest: unknown step %q", step))
}
