// Package dnstest runs an in-process DNS server for tests. It answers A
// and AAAA questions from a table over UDP and TCP on one port, records
// which names were asked and from where, and can fall silent to play a
// resolver that is down.
package dnstest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is an in-process DNS server. It is safe for concurrent use.
type Server struct {
	tb   testing.TB
	udp  net.PacketConn
	tcp  net.Listener
	addr string
	wg   sync.WaitGroup

	mu          sync.Mutex
	records     map[string][]netip.Addr // by lower-case rooted name
	queries     []string
	sources     []string
	stopped     bool
	truncateUDP bool
	conns       map[net.Conn]struct{}
	closed      bool
}

// NewServer starts a server listening for UDP and TCP on the same port of
// addr, e.g. "127.0.0.2:0" for a free port. It fails the test when it
// cannot listen, and stops when the test ends.
func NewServer(tb testing.TB, addr string) *Server {
	tb.Helper()
	s := &Server{tb: tb, records: map[string][]netip.Addr{}, conns: map[net.Conn]struct{}{}}
	if err := s.listen(addr); err != nil {
		tb.Fatalf("dnstest: listen on %s: %v", addr, err)
	}
	tb.Cleanup(s.close)
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s
}

// listen opens the UDP socket and then TCP on its port; with port 0 it
// tries other ports while TCP's is taken.
func (s *Server) listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		_, p, _ := net.SplitHostPort(pc.LocalAddr().String())
		l, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err == nil {
			s.udp, s.tcp, s.addr = pc, l, net.JoinHostPort(host, p)
			return nil
		}
		pc.Close()
		if port != "0" {
			return err
		}
	}
	return errors.New("no port free for both UDP and TCP")
}

// Addr returns the server's address as "ip:port".
func (s *Server) Addr() string { return s.addr }

// Set makes the server answer name with ips: the IPv4 addresses to A
// questions, the IPv6 addresses to AAAA questions. name may end in a dot
// or not and matches regardless of case. Without ips the name exists but
// has no addresses. A value that is not an IP address fails the test.
// Names never set are answered with NXDOMAIN.
func (s *Server) Set(name string, ips ...string) {
	addrs := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			s.tb.Fatalf("dnstest: %q is not an IP address", ip)
		}
		addrs = append(addrs, a.Unmap())
	}
	s.mu.Lock()
	s.records[key(name)] = addrs
	s.mu.Unlock()
}

// Queries returns the names asked, in order and as asked, without the
// final dot: one for each question, so a name looked up for both A and
// AAAA appears twice. Questions asked after Stop are recorded too.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// Sources returns the source IP address of each question, in the order of
// Queries.
func (s *Server) Sources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sources...)
}

// Stop makes the server stop answering: it still receives and records
// questions, but they time out, as with a resolver that is down.
func (s *Server) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

// TruncateUDP makes the server answer every question over UDP with an
// empty answer marked as truncated, so that resolvers ask again over TCP,
// where they get the full answer.
func (s *Server) TruncateUDP(on bool) {
	s.mu.Lock()
	s.truncateUDP = on
	s.mu.Unlock()
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		k, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if answer := s.answer(buf[:k], from, true); answer != nil {
			s.udp.WriteTo(answer, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// serveConn answers the length-prefixed questions on one TCP connection.
func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReader(c)
	for {
		var size [2]byte
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		answer := s.answer(msg, c.RemoteAddr(), false)
		if answer == nil {
			continue
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
		if _, err := c.Write(append(out, answer...)); err != nil {
			return
		}
	}
}

// answer records the question in msg and returns the answer to send, or
// nil to send none.
func (s *Server) answer(msg []byte, from net.Addr, udp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	source, _, _ := net.SplitHostPort(from.String())
	s.mu.Lock()
	s.queries = append(s.queries, strings.TrimSuffix(q.Name.String(), "."))
	s.sources = append(s.sources, source)
	stopped, truncate := s.stopped, udp && s.truncateUDP
	addrs, known := s.records[key(q.Name.String())]
	s.mu.Unlock()
	if stopped {
		return nil
	}
	rh := dnsmessage.Header{
		ID:                 h.ID,
		Response:           true,
		Authoritative:      true,
		RecursionDesired:   h.RecursionDesired,
		RecursionAvailable: true,
	}
	switch {
	case truncate:
		rh.Truncated = true
		addrs = nil
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil
	}
	if err := b.Question(q); err != nil {
		return nil
	}
	if err := b.StartAnswers(); err != nil {
		return nil
	}
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

func key(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
