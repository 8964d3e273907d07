// Package postfixtest runs a real Postfix from the system's packages as a
// relay for tests: its own configuration, queue and data directories in a
// temporary directory, one SMTP listener on a free loopback port, and
// nothing that can leave the machine (default_transport and
// relay_transport are "error"). Every address of Domain is delivered to
// one Maildir; a recipient access table lets a test refuse single
// recipients with 4xx or 5xx.
//
// Postfix needs root and the postfix user and postdrop group that its
// package creates. Without them Start skips the test with a message, and
// fails it when the environment variable CI is "true", so that CI cannot
// pass without the suite.
package postfixtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Domain is the domain whose every address lands in the Maildir.
const Domain = "crier.test"

// Server is one running Postfix.
type Server struct {
	// Host and Port are where its smtpd listens.
	Host string
	Port int
	// CAFile is the PEM file of the test certificate authority that
	// signed the certificate Postfix presents for STARTTLS.
	CAFile string
	// CAPool trusts that authority and nothing else.
	CAPool *x509.CertPool
	// PinSHA256 is the SHA-256 of the server certificate's public key
	// (SubjectPublicKeyInfo), hex encoded.
	PinSHA256 string

	dir     string // root of the instance: etc, queue, data, mail
	postfix string

	mu     sync.Mutex
	access map[string]string
}

// Options adjust the instance.
type Options struct {
	// Main adds or overrides main.cf parameters.
	Main map[string]string
}

// Available reports whether a Postfix can be started here, and why not.
func Available() (string, error) {
	path, err := exec.LookPath("postfix")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postfix"); serr != nil {
			return "", fmt.Errorf("postfix is not installed (apt-get install postfix): %w", err)
		}
		path = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("postfix must be started as root")
	}
	for _, name := range []string{"postfix"} {
		if _, err := user.Lookup(name); err != nil {
			return "", fmt.Errorf("no %s user: %w", name, err)
		}
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		return "", fmt.Errorf("no postdrop group: %w", err)
	}
	return path, nil
}

// Start starts a Postfix for tb and stops it in tb's cleanup. It skips tb
// when Postfix cannot run here, and fails it instead when CI is "true".
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	path, err := Available()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("postfixtest: %v (CI must run the Postfix suite)", err)
		}
		tb.Skipf("postfixtest: %v", err)
	}
	s := &Server{Host: "127.0.0.1", postfix: path, access: map[string]string{}}
	s.dir, err = os.MkdirTemp("", "crier-postfix-")
	if err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(s.dir) })
	s.Port = freePort(tb)
	if err := s.configure(o); err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
	tb.Cleanup(func() { s.run("stop") })
	if err := s.run("start"); err != nil {
		tb.Fatalf("postfixtest: %v\n%s", err, s.Log())
	}
	s.waitListening(tb)
	return s
}

// Addr is host:port of the smtpd.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func (s *Server) etc() string     { return filepath.Join(s.dir, "etc") }
func (s *Server) maildir() string { return filepath.Join(s.dir, "mail", "inbox") }

// configure writes main.cf, master.cf, the access table and the TLS
// certificate, and creates the directories Postfix will not create.
func (s *Server) configure(o Options) error {
	// The virtual delivery agent runs as nobody and must reach the
	// Maildir.
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"etc", "queue", "mail"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			return err
		}
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	if err := os.Chown(filepath.Join(s.dir, "mail"), uid, gid); err != nil {
		return err
	}
	if err := makeQueue(filepath.Join(s.dir, "queue"), filepath.Join(s.dir, "data")); err != nil {
		return err
	}
	if err := s.writeTLS(); err != nil {
		return err
	}
	main := map[string]string{
		"compatibility_level":     "3.6",
		"queue_directory":         filepath.Join(s.dir, "queue"),
		"data_directory":          filepath.Join(s.dir, "data"),
		"mail_owner":              "postfix",
		"setgid_group":            "postdrop",
		"myhostname":              "relay." + Domain,
		"mydomain":                Domain,
		"myorigin":                Domain,
		"mydestination":           "",
		"inet_interfaces":         "loopback-only",
		"inet_protocols":          "ipv4",
		"mynetworks":              "127.0.0.0/8",
		"default_transport":       "error",
		"relay_transport":         "error",
		"local_transport":         "error",
		"virtual_mailbox_domains": Domain,
		"virtual_mailbox_base":    filepath.Join(s.dir, "mail"),
		"virtual_mailbox_maps":    "static:inbox/",
		"virtual_uid_maps":        "static:" + nobody.Uid,
		"virtual_gid_maps":        "static:" + nobody.Gid,
		"smtpd_recipient_restrictions": "check_recipient_access texthash:" + filepath.Join(s.etc(), "access") +
			", permit_mynetworks, reject_unauth_destination",
		"smtpd_tls_security_level": "may",
		"smtpd_tls_cert_file":      filepath.Join(s.etc(), "cert.pem"),
		"smtpd_tls_key_file":       filepath.Join(s.etc(), "key.pem"),
		"smtpd_tls_loglevel":       "1",
		"maillog_file":             filepath.Join(s.dir, "maillog"),
		"maillog_file_prefixes":    s.dir,
		"biff":                     "no",
		"alias_maps":               "",
		"alias_database":           "",
		"smtputf8_enable":          "yes",
	}
	for k, v := range o.Main {
		main[k] = v
	}
	var b strings.Builder
	for k, v := range main {
		fmt.Fprintf(&b, "%s = %s\n", k, v)
	}
	if err := os.WriteFile(filepath.Join(s.etc(), "main.cf"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	master := fmt.Sprintf("%s inet n - n - - smtpd\n", s.Addr()) + masterServices
	if err := os.WriteFile(filepath.Join(s.etc(), "master.cf"), []byte(master), 0o644); err != nil {
		return err
	}
	return s.writeAccess()
}

// masterServices are the services of Debian's master.cf that a relay for
// virtual mailboxes needs, none of them chrooted.
const masterServices = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

// writeTLS makes a test certificate authority and a certificate for
// 127.0.0.1 and localhost signed by it.
func (s *Server) writeTLS() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "crier test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "relay." + Domain},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost", "relay." + Domain},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(spki)
	s.PinSHA256 = fmt.Sprintf("%x", sum)
	s.CAPool = x509.NewCertPool()
	s.CAPool.AddCert(ca)
	s.CAFile = filepath.Join(s.etc(), "ca.pem")
	files := map[string][]byte{
		"ca.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		// The chain: the server's certificate, then the authority's.
		"cert.pem": append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...),
		"key.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(s.etc(), name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// ClientTLS returns a client configuration that trusts the test
// authority and nothing else.
func (s *Server) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: s.CAPool, ServerName: s.Host}
}

// Refuse makes smtpd answer RCPT TO for addr with reply, e.g. "450 4.2.1
// mailbox busy" or "550 5.1.1 no such user", in sessions that start after
// it returns; an empty reply accepts addr again. A Postfix reload lets
// sessions already open finish with the old table.
func (s *Server) Refuse(tb testing.TB, addr, reply string) {
	tb.Helper()
	s.mu.Lock()
	if reply == "" {
		delete(s.access, strings.ToLower(addr))
	} else {
		s.access[strings.ToLower(addr)] = reply
	}
	err := s.writeAccess()
	s.mu.Unlock()
	if err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
	if err := s.run("reload"); err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
}

// writeAccess writes the recipient access table; texthash needs no
// postmap. The caller holds s.mu, or s is not shared yet.
func (s *Server) writeAccess() error {
	var b strings.Builder
	for addr, reply := range s.access {
		fmt.Fprintf(&b, "%s %s\n", addr, reply)
	}
	return os.WriteFile(filepath.Join(s.etc(), "access"), []byte(b.String()), 0o644)
}

// Stop stops Postfix as "postfix stop" does: sessions in progress are
// cut, mail that was accepted stays in the queue.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := s.run("stop"); err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
}

// Restart starts a stopped Postfix again and waits until it listens.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.run("start"); err != nil {
		tb.Fatalf("postfixtest: %v\n%s", err, s.Log())
	}
	s.waitListening(tb)
}

// Rekey stops Postfix, replaces the test authority and the certificate
// it presents with new ones, as when a relay's certificate is renewed by
// another authority, and starts it again. CAFile (same path), CAPool and
// PinSHA256 then describe the new ones.
func (s *Server) Rekey(tb testing.TB) {
	tb.Helper()
	s.Stop(tb)
	if err := s.writeTLS(); err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
	s.Restart(tb)
}

// makeQueue creates the queue and data directories with the owners and
// modes that Postfix's postfix-files lists, as "postfix check" would, so
// that start can skip its slow checks.
func makeQueue(queue, data string) error {
	owner, err := user.Lookup("postfix")
	if err != nil {
		return err
	}
	postdrop, err := user.LookupGroup("postdrop")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(owner.Uid)
	gid, _ := strconv.Atoi(postdrop.Gid)
	dirs := []struct {
		path     string
		uid, gid int
		mode     os.FileMode
	}{
		{data, uid, 0, 0o700},
		{filepath.Join(queue, "pid"), 0, 0, 0o755},
		{filepath.Join(queue, "maildrop"), uid, gid, 0o730},
		{filepath.Join(queue, "public"), uid, gid, 0o710},
	}
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"} {
		dirs = append(dirs, struct {
			path     string
			uid, gid int
			mode     os.FileMode
		}{filepath.Join(queue, d), uid, 0, 0o700})
	}
	for _, d := range dirs {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return err
		}
		// Mkdir's mode is filtered by the umask.
		if err := os.Chmod(d.path, d.mode); err != nil {
			return err
		}
		if err := os.Chown(d.path, d.uid, d.gid); err != nil {
			return err
		}
	}
	return nil
}

// quickStart lets the next "postfix start" skip its integrity checks,
// which take seconds: the directories are made as they require.
func (s *Server) quickStart() error {
	return os.WriteFile(filepath.Join(s.dir, "queue", "quick-start"), nil, 0o644)
}

func (s *Server) run(cmd string) error {
	if cmd == "start" {
		if err := s.quickStart(); err != nil {
			return err
		}
	}
	out, err := exec.Command(s.postfix, "-c", s.etc(), cmd).CombinedOutput()
	if err != nil {
		return fmt.Errorf("postfix %s: %w: %s", cmd, err, out)
	}
	return nil
}

// waitListening waits until smtpd accepts connections.
func (s *Server) waitListening(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			// A polite session, so that the log has no complaint.
			err = greet(c)
			c.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("postfixtest: smtpd does not listen on %s: %v\n%s", s.Addr(), err, s.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// greet reads the greeting on c and says QUIT.
func greet(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(c)
	if _, _, err := tc.ReadResponse(220); err != nil {
		return err
	}
	if err := tc.PrintfLine("QUIT"); err != nil {
		return err
	}
	_, _, err := tc.ReadResponse(221)
	return err
}

// Log returns Postfix's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "maillog"))
	return string(b)
}

// Mails returns the mails delivered to the Maildir so far, in no
// particular order, with CRLF line ends as they travelled (a Maildir
// keeps LF).
func (s *Server) Mails(tb testing.TB) [][]byte {
	tb.Helper()
	dir := filepath.Join(s.maildir(), "new")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
	mails := make([][]byte, 0, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatalf("postfixtest: %v", err)
		}
		mails = append(mails, bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
	}
	return mails
}

// queueID finds the id of the queue file a mail was delivered from in the
// Received header Postfix adds when it accepts the mail.
var queueID = regexp.MustCompile(`\(Postfix\) with E?SMTPS?A? id ([0-9A-Za-z]+)`)

// Accepted returns the mails of the Maildir, one per mail Postfix accepted:
// copies delivered from the same queue file are dropped. Postfix delivers
// at least once: a stop that cuts a delivery agent after it wrote to the
// Maildir but before the queue manager learnt of it leaves the queue file
// in place, and after the start the mail is delivered again, under the
// same queue id. A mail without the header fails tb.
func (s *Server) Accepted(tb testing.TB) [][]byte {
	tb.Helper()
	seen := map[string]bool{}
	var out [][]byte
	for _, m := range s.Mails(tb) {
		id := queueID.FindSubmatch(m)
		if id == nil {
			tb.Fatalf("postfixtest: a mail without Postfix's Received header:\n%s", m)
		}
		if !seen[string(id[1])] {
			seen[string(id[1])] = true
			out = append(out, m)
		}
	}
	return out
}

// Count returns how many mails are in the Maildir.
func (s *Server) Count() int {
	entries, _ := os.ReadDir(filepath.Join(s.maildir(), "new"))
	return len(entries)
}

// WaitMails polls the Maildir until it holds n mails, or fails tb after
// within. It returns the mails and when the last one was seen.
func (s *Server) WaitMails(tb testing.TB, n int, within time.Duration) ([][]byte, time.Time) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		got := s.Count()
		if got >= n {
			return s.Mails(tb), time.Now()
		}
		if time.Now().After(deadline) {
			tb.Fatalf("postfixtest: %d of %d mails arrived within %s\n%s", got, n, within, tail(s.Log(), 40))
		}
		time.Sleep(time.Millisecond)
	}
}

// QueueEmpty reports whether Postfix has no mail left in its queue.
//
// Only complete queue files count: Postfix gives a queue file the owner's
// execute bit (mode 0700) when it has the whole mail, before smtpd
// accepts it, and its queue manager ignores every other file. A cleanup
// process that a stop kills just after it created its file leaves that
// file behind, empty and never accepted; Postfix never delivers it and
// leaves it there, so it must not count as queued mail.
func (s *Server) QueueEmpty() bool {
	for _, q := range []string{"incoming", "active", "deferred", "hold"} {
		var n int
		_ = filepath.WalkDir(filepath.Join(s.dir, "queue", q), func(_ string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil && info.Mode().Perm()&0o700 == 0o700 {
				n++
			}
			return nil
		})
		if n > 0 {
			return false
		}
	}
	return true
}

// Complaints returns the log lines in which Postfix warns about the
// client or the protocol.
func (s *Server) Complaints() []string {
	var out []string
	for line := range strings.SplitSeq(s.Log(), "\n") {
		for _, w := range []string{"warning:", "improper command pipelining", "lost connection", "too many errors", "timeout after", "fatal:", "panic:", "error:"} {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("postfixtest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
