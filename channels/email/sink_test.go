package email_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier/channels/email"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// kind is how the sink answers a message.
type kind int

const (
	accept      kind = iota
	reject           // 550
	unavailable      // 451
	rateLimited      // 452
	hang             // read the message, then never answer
	drop             // read the message, then close the connection
)

// step is the SMTP command at which the sink answers with a reject,
// unavailable or rate-limited reply, or hangs.
type step string

const (
	atMail step = "mail"
	atRcpt step = "rcpt"
	atData step = "data" // after the message content
)

// received is one message the sink took.
type received struct {
	From, To string
	User     string // authenticated user, if any
	TLS      bool
	Data     []byte
}

// sinkOptions describe a sink's listener.
type sinkOptions struct {
	TLS      string // email.TLSNone (default), email.TLSStartTLS, email.TLSImplicit
	Username string // require AUTH PLAIN with Username and Password
	Password string
	Discard  bool   // keep only the count of messages (benchmarks)
	Addr     string // listen address; default 127.0.0.1:0
}

// sink is a real SMTP server on 127.0.0.1 whose answers a test controls.
type sink struct {
	tb      testing.TB
	opts    sinkOptions
	port    int
	release chan struct{} // closed at cleanup: ends every hang
	hanging chan struct{} // receives when a hang begins

	mu       sync.Mutex
	kind     kind
	step     step
	sessions map[*smtp.Conn]bool
	live     []*smtp.Conn
	mails    []received
	count    int
	bytes    int
}

func newSink(tb testing.TB, opts sinkOptions) *sink {
	tb.Helper()
	s := &sink{tb: tb, opts: opts, release: make(chan struct{}), hanging: make(chan struct{}, 1), sessions: map[*smtp.Conn]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true // plain-text AUTH is only offered on loopback
	srv.ErrorLog = log.New(io.Discard, "", 0)
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	switch opts.TLS {
	case "", email.TLSNone:
		l, err = net.Listen("tcp", addr)
	case email.TLSStartTLS:
		srv.TLSConfig = serverTLS(tb)
		l, err = net.Listen("tcp", addr)
	case email.TLSImplicit:
		l, err = tls.Listen("tcp", addr, serverTLS(tb))
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	tb.Cleanup(func() {
		close(s.release)
		srv.Close()
	})
	return s
}

// set makes the sink answer every following message with k at st.
func (s *sink) set(k kind, st step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kind, s.step = k, st
}

func (s *sink) answer(st step) (kind, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kind, s.step == st || s.kind == drop && st == atData
}

// received returns the messages taken so far.
func (s *sink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

// keys returns the Message-ID left-hand sides of the messages taken so far.
func (s *sink) keys() []string {
	var keys []string
	for _, r := range s.received() {
		keys = append(keys, messageKey(s.tb, r.Data))
	}
	return keys
}

// taken returns how many messages the sink took.
func (s *sink) taken() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// sessionCount returns how many SMTP connections have greeted the sink.
func (s *sink) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// dropAll closes every open connection from the server side, as a relay
// does with idle clients.
func (s *sink) dropAll() {
	s.mu.Lock()
	live := s.live
	s.live = nil
	s.mu.Unlock()
	for _, c := range live {
		c.Conn().Close()
	}
}

func (s *sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sessions[c] {
		s.sessions[c] = true
		s.live = append(s.live, c)
	}
	_, isTLS := c.TLSConnectionState()
	return &session{sink: s, conn: c, tls: isTLS}, nil
}

type session struct {
	sink     *sink
	conn     *smtp.Conn
	tls      bool
	user     string
	from, to string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.sink.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.sink.opts.Username || password != ss.sink.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.sink.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return ss.respond(atMail)
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = to
	return ss.respond(atRcpt)
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	k, now := ss.sink.answer(atData)
	switch {
	case now && k == drop:
		ss.conn.Conn().Close()
		return errors.New("dropped")
	case now:
		if err := ss.respond(atData); err != nil {
			return err
		}
	}
	ss.sink.mu.Lock()
	defer ss.sink.mu.Unlock()
	ss.sink.count++
	ss.sink.bytes += len(data)
	if !ss.sink.opts.Discard {
		ss.sink.mails = append(ss.sink.mails, received{From: ss.from, To: ss.to, User: ss.user, TLS: ss.tls, Data: data})
	}
	return nil
}

// respond answers at st as the sink is set to.
func (ss *session) respond(st step) error {
	k, now := ss.sink.answer(st)
	if !now {
		return nil
	}
	switch k {
	case reject:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable at " + string(st)}
	case unavailable:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later at " + string(st)}
	case rateLimited:
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "too many messages, slow down"}
	case hang:
		select {
		case ss.sink.hanging <- struct{}{}:
		default:
		}
		<-ss.sink.release
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "released"}
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", "" }
func (ss *session) Logout() error { return nil }

// messageKey returns the left-hand side of data's Message-ID.
func messageKey(tb testing.TB, data []byte) string {
	tb.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("parse received message: %v", err)
	}
	id := strings.Trim(m.Header.Get("Message-ID"), "<>")
	key, _, ok := strings.Cut(id, "@")
	if !ok {
		tb.Fatalf("Message-ID %q has no @", id)
	}
	return key
}

// testCert is a self-signed certificate for 127.0.0.1 and localhost,
// generated once per test binary.
var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sink.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

func serverTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	cert, err := testCert()
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// clientTLS trusts the sink's certificate only.
func clientTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	cert, err := testCert()
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{RootCAs: pool}
}

// options returns channel options for the sink; the test may change them.
func (s *sink) options() email.Options {
	mode := s.opts.TLS
	if mode == "" {
		mode = email.TLSNone
	}
	return email.Options{
		Host:      "127.0.0.1",
		Port:      s.port,
		TLS:       mode,
		Username:  s.opts.Username,
		Password:  s.opts.Password,
		From:      "Stadt Soest <presse@soest.example>",
		TLSConfig: clientTLS(s.tb),
		Clock:     fixedClock(testTime),
		HELO:      "crier.test",
	}
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

var testTime = time.Date(2026, 11, 26, 9, 30, 0, 0, time.FixedZone("CET", 3600))

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func itoa(i int) string { return strconv.Itoa(i) }
