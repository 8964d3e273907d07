package email

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

// TLS modes of a relay connection.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses
	// relays that do not offer it (no silent fallback to plain text).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "implicit"
	// TLSNone sends in plain text; meant for a relay on this machine or in
	// the local network.
	TLSNone = "none"
)

// Defaults for Options.
const (
	DefaultConnections = 4                // SMTP sessions open at once
	DefaultTimeout     = 30 * time.Second // for one Send
)

// Options configure one relay. Host and From are required.
type Options struct {
	// Host is the relay's host name or IP address.
	Host string
	// Port defaults by TLS mode: 587 for starttls, 465 for implicit, 25 for
	// none.
	Port int
	// TLS is "starttls" (the default), "implicit" or "none".
	TLS string
	// Username and Password authenticate with AUTH PLAIN or LOGIN, whichever
	// the relay offers, when Username is set. Credentials are only sent over
	// TLS, or in plain text to a loopback address.
	Username string
	Password string
	// From is the sender, e.g. "Stadt Soest <presse@soest.example>". It is
	// also the envelope sender that receives bounces.
	From string
	// Domain is the right-hand side of every Message-ID; default the
	// domain of From's address.
	Domain string
	// HELO is the name this machine gives in EHLO; default its host name.
	HELO string
	// Connections is the most SMTP sessions open to the relay at once;
	// default 4.
	Connections int
	// Timeout bounds one Send, including connecting; default 30s.
	Timeout time.Duration
	// NoChunking sends every mail with DATA, even to a relay that offers
	// CHUNKING (RFC 3030) and PIPELINING. By default a new session, or one
	// that the relay answered less than a second ago, sends a mail as a
	// BDAT chunk in the same write as its MAIL FROM and RCPT TO: one round
	// trip per mail instead of two. The price
	// is a wider window for unknown outcomes: once written, a mail may be
	// delivered, so a reply that does not come leaves it unknown, where
	// with DATA a session lost before the relay's 354 is a safe retry.
	NoChunking bool
	// Dial opens the network connection to the relay: the network this
	// endpoint goes out on. Default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for STARTTLS and implicit TLS; default the system
	// roots. ServerName is set to Host when empty.
	TLSConfig *tls.Config
	// CAFile names a PEM file of certificate authorities that this relay's
	// certificate may be signed by, trusted besides the system's roots
	// (or TLSConfig's RootCAs) for this relay only: an internal CA.
	CAFile string
	// PinSHA256 pins the relay's public key: the SHA-256 of its
	// certificate's SubjectPublicKeyInfo, as 64 hex digits (colons
	// allowed) or in base64. With a pin, the key decides alone: the
	// certificate's authority, name and dates are not checked, so that a
	// relay with a self-signed certificate can be trusted. It cannot be
	// combined with CAFile.
	PinSHA256 string
	// Clock dates the messages and ages idle connections; default the
	// system clock.
	Clock crier.Clock
	// Logger receives connection events at debug level; default discard.
	Logger *slog.Logger
	// Name labels this endpoint in receipts and logs; default host:port.
	Name string
}

// config is Options with defaults applied and derived values parsed.
type config struct {
	Options
	addr      string // host:port
	from      *mail.Address
	implicit  bool
	tlsConfig *tls.Config
}

func (o Options) config() (*config, error) {
	c := &config{Options: o}
	if h, ok := strings.CutPrefix(c.Host, "["); ok { // an IPv6 literal as in a URL
		c.Host = strings.TrimSuffix(h, "]")
	}
	if c.Host == "" || strings.ContainsAny(c.Host, " \t\r\n/@[]") {
		return nil, fmt.Errorf("invalid host %q", o.Host)
	}
	switch c.TLS {
	case "", TLSStartTLS:
		c.TLS = TLSStartTLS
		c.Port = cmp.Or(c.Port, 587)
	case TLSImplicit:
		c.implicit = true
		c.Port = cmp.Or(c.Port, 465)
	case TLSNone:
		c.Port = cmp.Or(c.Port, 25)
	default:
		return nil, fmt.Errorf("tls %q is not one of starttls, implicit, none", c.TLS)
	}
	if c.Port < 1 || c.Port > 65535 {
		return nil, fmt.Errorf("invalid port %d", c.Port)
	}
	if c.Username == "" && c.Password != "" {
		return nil, errors.New("password given without username")
	}
	if c.Username != "" && c.TLS == TLSNone && !isLoopback(c.Host) {
		return nil, fmt.Errorf("refusing to send credentials in plain text to %s; use tls starttls or implicit", c.Host)
	}
	if err := c.parseFrom(); err != nil {
		return nil, err
	}
	if c.HELO == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		c.HELO = h
	}
	if strings.ContainsAny(c.HELO, " \t\r\n") {
		return nil, fmt.Errorf("invalid helo name %q", c.HELO)
	}
	switch {
	case c.Connections == 0:
		c.Connections = DefaultConnections
	case c.Connections < 0:
		return nil, fmt.Errorf("connections %d is negative", c.Connections)
	}
	switch {
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	case c.Timeout < 0:
		return nil, fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = d.DialContext
	}
	if c.TLSConfig != nil {
		c.tlsConfig = c.TLSConfig.Clone()
	} else {
		c.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.tlsConfig.ServerName == "" {
		c.tlsConfig.ServerName = c.Host
	}
	if err := c.trust(); err != nil {
		return nil, err
	}
	if c.Clock == nil {
		c.Clock = crier.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.addr = net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	if c.Name == "" {
		c.Name = c.addr
	}
	return c, nil
}

// trust applies CAFile and PinSHA256 to the TLS configuration.
func (c *config) trust() error {
	if c.CAFile == "" && c.PinSHA256 == "" {
		return nil
	}
	switch {
	case c.TLS == TLSNone:
		return errors.New("ca_file and tls_pin_sha256 need tls starttls or implicit")
	case c.CAFile != "" && c.PinSHA256 != "":
		return errors.New("set ca_file or tls_pin_sha256, not both: a pinned key is trusted whoever signed it")
	case c.CAFile != "":
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return fmt.Errorf("ca_file: %w", err)
		}
		pool := c.tlsConfig.RootCAs
		if pool != nil {
			pool = pool.Clone()
		} else if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca_file %s holds no PEM certificate", c.CAFile)
		}
		c.tlsConfig.RootCAs = pool
		return nil
	}
	pin, err := ParsePin(c.PinSHA256)
	if err != nil {
		return fmt.Errorf("tls_pin_sha256: %w", err)
	}
	// The pin replaces the verification of the chain and the name.
	c.tlsConfig.InsecureSkipVerify = true
	c.tlsConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &CertificateError{Host: c.Host, Err: errors.New("no certificate presented")}
		}
		got := KeyPin(cs.PeerCertificates[0])
		if got != pin {
			return &CertificateError{Host: c.Host, Pin: got,
				Err: fmt.Errorf("public key sha256 %s does not match tls_pin_sha256 %s", got, pin)}
		}
		return nil
	}
	return nil
}

// ParsePin returns a public key pin, 64 hex digits with or without
// colons or 32 bytes in standard base64, as lower-case hex.
func ParsePin(s string) (string, error) {
	h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if b, err := hex.DecodeString(h); err == nil && len(b) == sha256.Size {
		return h, nil
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); err == nil && len(b) == sha256.Size {
		return hex.EncodeToString(b), nil
	}
	return "", fmt.Errorf("%q is not a SHA-256 in hex (64 digits) or base64", s)
}

// KeyPin returns the SHA-256 of cert's SubjectPublicKeyInfo in lower-case
// hex: what PinSHA256 compares.
func KeyPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// parseFrom validates From and derives Domain from it.
func (c *config) parseFrom() error {
	if strings.ContainsAny(c.From, "\r\n") {
		return errors.New("from must be a single line")
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("invalid from %q: %w", c.From, err)
	}
	c.from = from
	if c.Domain == "" {
		c.Domain = strings.ToLower(from.Address[strings.LastIndexByte(from.Address, '@')+1:])
	}
	if !isHostname(c.Domain) {
		return fmt.Errorf("domain %q is not an ASCII host name; set Domain for the Message-ID", c.Domain)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isHostname reports whether s is an ASCII DNS name: dot-separated labels of
// letters, digits and inner hyphens.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}
