package dnstest_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/crierhq/crier/netpath/dnstest"
)

// ask sends one question to addr over network ("udp" or "tcp") and returns
// the answer's header and addresses.
func ask(t *testing.T, network, addr, name string, qtype dnsmessage.Type) (dnsmessage.Header, []string, error) {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 4711, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET})
	query, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	var msg []byte
	if network == "tcp" {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(query))), query...)); err != nil {
			t.Fatal(err)
		}
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return dnsmessage.Header{}, nil, err
		}
		msg = make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return dnsmessage.Header{}, nil, err
		}
	} else {
		if _, err := c.Write(query); err != nil {
			t.Fatal(err)
		}
		msg = make([]byte, 1500)
		k, err := c.Read(msg)
		if err != nil {
			return dnsmessage.Header{}, nil, err
		}
		msg = msg[:k]
	}
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != 4711 || !h.Response {
		t.Fatalf("header %+v does not answer the query", h)
	}
	p.SkipAllQuestions()
	answers, err := p.AllAnswers()
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range answers {
		switch r := a.Body.(type) {
		case *dnsmessage.AResource:
			ips = append(ips, netip.AddrFrom4(r.A).String())
		case *dnsmessage.AAAAResource:
			ips = append(ips, netip.AddrFrom16(r.AAAA).String())
		}
	}
	return h, ips, nil
}

func TestAnswers(t *testing.T) {
	s := dnstest.NewServer(t, "127.0.0.2:0")
	s.Set("Relay.Crier.Test", "127.0.0.5", "::1", "127.0.0.6")
	s.Set("bare.crier.test.")
	for _, network := range []string{"udp", "tcp"} {
		tests := []struct {
			name  string
			qtype dnsmessage.Type
			rcode dnsmessage.RCode
			ips   []string
		}{
			{"relay.crier.test.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, []string{"127.0.0.5", "127.0.0.6"}},
			{"RELAY.crier.test.", dnsmessage.TypeAAAA, dnsmessage.RCodeSuccess, []string{"::1"}},
			{"bare.crier.test.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, nil},
			{"other.crier.test.", dnsmessage.TypeA, dnsmessage.RCodeNameError, nil},
		}
		for _, tc := range tests {
			h, ips, err := ask(t, network, s.Addr(), tc.name, tc.qtype)
			if err != nil {
				t.Fatalf("%s %s: %v", network, tc.name, err)
			}
			if h.RCode != tc.rcode {
				t.Errorf("%s %s: rcode %v, want %v", network, tc.name, h.RCode, tc.rcode)
			}
			if diff := cmp.Diff(tc.ips, ips); diff != "" {
				t.Errorf("%s %s %v: addresses (-want +got):\n%s", network, tc.name, tc.qtype, diff)
			}
		}
	}
	want := []string{"relay.crier.test", "RELAY.crier.test", "bare.crier.test", "other.crier.test"}
	if diff := cmp.Diff(append(want, want...), s.Queries()); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	for _, src := range s.Sources() {
		if src != "127.0.0.1" {
			t.Errorf("source %s, want 127.0.0.1", src)
		}
	}
}

func TestTruncateUDP(t *testing.T) {
	s := dnstest.NewServer(t, "127.0.0.2:0")
	s.Set("relay.crier.test", "127.0.0.5")
	s.TruncateUDP(true)
	h, ips, err := ask(t, "udp", s.Addr(), "relay.crier.test.", dnsmessage.TypeA)
	if err != nil || !h.Truncated || len(ips) != 0 {
		t.Errorf("over UDP: %+v %v %v, want an empty truncated answer", h, ips, err)
	}
	h, ips, err = ask(t, "tcp", s.Addr(), "relay.crier.test.", dnsmessage.TypeA)
	if err != nil || h.Truncated || len(ips) != 1 {
		t.Errorf("over TCP: %+v %v %v, want the full answer", h, ips, err)
	}
}

func TestStop(t *testing.T) {
	s := dnstest.NewServer(t, "127.0.0.2:0")
	s.Set("relay.crier.test", "127.0.0.5")
	s.Stop()
	for _, network := range []string{"udp", "tcp"} {
		_, _, err := ask(t, network, s.Addr(), "relay.crier.test.", dnsmessage.TypeA)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: err = %v, want a timeout", network, err)
		}
	}
	if len(s.Queries()) != 2 {
		t.Errorf("queries = %v, want both recorded", s.Queries())
	}
}
