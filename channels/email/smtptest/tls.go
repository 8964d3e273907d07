package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/crierhq/crier/internal/loopbackcert"
)

// ServerTLS returns a server configuration with a self-signed certificate
// for 127.0.0.1, ::1 and localhost, the same one for the whole test
// binary. It fails tb if the certificate cannot be made.
func ServerTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	cert, err := loopbackcert.Get()
	if err != nil {
		tb.Fatalf("smtptest: certificate: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// ClientTLS returns a client configuration that trusts ServerTLS's
// certificate and nothing else.
func ClientTLS(tb testing.TB) *tls.Config {
	tb.Helper()
	cert, err := loopbackcert.Get()
	if err != nil {
		tb.Fatalf("smtptest: certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{RootCAs: pool}
}
