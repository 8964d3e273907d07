package netpath

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/proxy"
)

// DefaultDialTimeout bounds name resolution and connecting when
// NetworkOptions.DialTimeout is zero.
const DefaultDialTimeout = 3 * time.Second

// NetworkOptions describes a way out of this machine.
type NetworkOptions struct {
	// Name identifies the network in errors and delivery history; the
	// system route is called "default". Required.
	Name string
	// Source is the local IP address that connections and DNS queries are
	// bound to, e.g. the address an LTE router gave this machine. It
	// excludes Interface.
	Source string
	// Interface is the network interface that connections and DNS queries
	// are bound to with SO_BINDTODEVICE, e.g. "wwan0". Only Linux offers
	// it, and only to root or a process with CAP_NET_RAW.
	Interface string
	// DNS lists this network's resolvers as IP:port, asked in order. Empty
	// means the system resolver, which asks over the system route.
	DNS []string
	// Proxy is a proxy URL: socks5://[user:pass@]host:port (names are
	// resolved here, by this network's resolver), socks5h:// (names are
	// resolved by the proxy), or http:// or https:// (an HTTP CONNECT
	// proxy, with optional basic credentials). The connection to the proxy
	// is bound to Source or Interface.
	Proxy string
	// DialTimeout bounds resolving a name and connecting, through the
	// proxy if there is one. Default DefaultDialTimeout.
	DialTimeout time.Duration
}

// Network is a way out of this machine: the system route, a bound source
// address or interface with its own resolvers, or a proxy. It is safe for
// concurrent use.
type Network struct {
	name     string
	source   netip.Addr // invalid when connections are not bound to an address
	iface    string
	dns      []netip.AddrPort
	servers  string // dns as text, for errors
	timeout  time.Duration
	resolver *net.Resolver // nil: the system's
	control  func(network, address string, c syscall.RawConn) error
	proxy    *proxyConfig

	// proxyRoots are the roots an https proxy's certificate must chain
	// to; nil means the system's. Tests set it.
	proxyRoots *x509.CertPool
}

// proxyConfig is a parsed proxy URL.
type proxyConfig struct {
	scheme   string // socks5, socks5h, http or https
	addr     string // host:port, never with credentials
	user     string
	password string
	auth     bool                // the URL carried credentials
	socks    proxy.ContextDialer // for socks5 and socks5h
}

// NewNetwork checks o and returns the network it describes. It does no I/O:
// an interface that does not exist, or a proxy that does not answer, shows
// when a connection is made. It fails when Name is empty, Source is not an
// IP address, Source and Interface are both set, Interface is set on a
// system other than Linux, a DNS server is not an IP:port address of
// Source's family, the proxy URL is not one of the forms NetworkOptions
// lists, or DialTimeout is negative. Its errors never contain proxy
// credentials.
func NewNetwork(o NetworkOptions) (*Network, error) {
	if o.Name == "" {
		return nil, errors.New("network has no name")
	}
	n := &Network{name: o.Name, iface: o.Interface, timeout: o.DialTimeout}
	switch {
	case n.timeout == 0:
		n.timeout = DefaultDialTimeout
	case n.timeout < 0:
		return nil, fmt.Errorf("dial timeout %v is negative", o.DialTimeout)
	}
	if o.Source != "" && o.Interface != "" {
		return nil, errors.New("source and interface exclude each other")
	}
	if o.Source != "" {
		ip, err := netip.ParseAddr(o.Source)
		if err != nil {
			return nil, fmt.Errorf("source %q is not an IP address", o.Source)
		}
		n.source = ip.Unmap()
	}
	if o.Interface != "" {
		control, err := bindToDevice(o.Interface)
		if err != nil {
			return nil, fmt.Errorf("interface: %w", err)
		}
		n.control = control
	}
	var servers []string
	for _, s := range o.DNS {
		ap, err := netip.ParseAddrPort(s)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("dns server %q is not an IP:port address", s)
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if n.source.IsValid() && n.source.Is4() != ap.Addr().Is4() {
			return nil, fmt.Errorf("dns server %s cannot be asked from source %s", ap, n.source)
		}
		n.dns = append(n.dns, ap)
		servers = append(servers, ap.String())
	}
	if len(n.dns) > 0 {
		n.servers = strings.Join(servers, ", ")
		n.resolver = &net.Resolver{PreferGo: true, Dial: n.dialDNS}
	}
	if o.Proxy != "" {
		p, err := n.parseProxy(o.Proxy)
		if err != nil {
			return nil, err
		}
		n.proxy = p
	}
	return n, nil
}

// DefaultNetwork returns the system route with the system resolver.
func DefaultNetwork() *Network {
	return &Network{name: "default", timeout: DefaultDialTimeout}
}

// Name returns the network's name.
func (n *Network) Name() string { return n.name }

// Resolver returns the resolver that asks this network's DNS servers, over
// this network, or nil when the network uses the system resolver. It still
// reads /etc/hosts first, as every resolver on this machine does.
func (n *Network) Resolver() *net.Resolver { return n.resolver }

// parseProxy parses a proxy URL. Its errors never quote the URL, which may
// carry credentials.
func (n *Network) parseProxy(raw string) (*proxyConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("proxy is not a valid URL")
	}
	ports := map[string]string{"socks5": "1080", "socks5h": "1080", "http": "80", "https": "443"}
	port, ok := ports[u.Scheme]
	if !ok {
		return nil, errors.New("proxy must be a socks5://, socks5h://, http:// or https:// URL")
	}
	if u.Hostname() == "" {
		return nil, errors.New("proxy URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("proxy URL must not have a path, query or fragment")
	}
	if u.Port() != "" {
		port = u.Port()
	}
	p := &proxyConfig{scheme: u.Scheme, addr: net.JoinHostPort(u.Hostname(), port)}
	if u.User != nil {
		p.auth = true
		p.user = u.User.Username()
		p.password, _ = u.User.Password()
	}
	if p.scheme == "socks5" || p.scheme == "socks5h" {
		var auth *proxy.Auth
		if p.auth {
			auth = &proxy.Auth{User: p.user, Password: p.password}
		}
		d, err := proxy.SOCKS5("tcp", p.addr, auth, directDialer{n})
		cd, ok := d.(proxy.ContextDialer)
		if err != nil || !ok {
			return nil, errors.New("proxy: cannot build a SOCKS5 dialer")
		}
		p.socks = cd
	}
	return p, nil
}

// DialContext connects to addr ("host:port") over this network. A name is
// resolved only through this network's resolver: its DNS servers, asked
// over this network, or the system resolver when it has none; through a
// socks5h or HTTP proxy, the proxy resolves it. The connection is bound to
// Source or Interface, or made through the proxy, whose own connection is
// bound so. network is "tcp", "tcp4" or "tcp6", or "udp", "udp4" or "udp6"
// without a proxy.
//
// Resolving and connecting are bounded by ctx and by the network's
// DialTimeout; ctx does not bound the returned connection. A name that
// cannot be resolved fails with a *net.DNSError naming this network's DNS
// servers. Every error happens before a byte reaches the remote
// application, so NothingSent reports true for all of them; they never
// contain proxy credentials.
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	var c net.Conn
	var err error
	switch {
	case n.proxy == nil:
		c, err = n.dialDirect(ctx, network, addr)
	case n.proxy.socks != nil:
		c, err = n.dialSOCKS(ctx, network, addr)
	default:
		c, err = n.dialConnect(ctx, network, addr)
	}
	if err != nil {
		return nil, &notSent{fmt.Errorf("network %s: %w", n.name, err)}
	}
	return c, nil
}

// directDialer connects without the proxy: it is how the proxy is reached.
type directDialer struct{ n *Network }

func (d directDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d directDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.n.dialDirect(ctx, network, addr)
}

// dialDirect connects to addr bound to Source or Interface, resolving a
// name through the network's resolver.
func (n *Network) dialDirect(ctx context.Context, network, addr string) (net.Conn, error) {
	network = n.family(network)
	host, port, err := net.SplitHostPort(addr)
	if err == nil && n.resolver != nil && !isIP(host) {
		// A rooted name keeps the system's search domains, which belong
		// to the primary network, from being tried on this one.
		addr = net.JoinHostPort(rooted(host), port)
	}
	c, err := n.dialer(network).DialContext(ctx, network, addr)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) {
			return nil, n.dnsError(host, err)
		}
		return nil, err
	}
	return c, nil
}

// dialer returns a dialer bound to Source or Interface whose resolver is
// the network's.
func (n *Network) dialer(network string) *net.Dialer {
	d := &net.Dialer{Resolver: n.resolver, Control: n.control}
	if n.source.IsValid() {
		ip := n.source.AsSlice()
		if strings.HasPrefix(network, "udp") {
			d.LocalAddr = &net.UDPAddr{IP: ip, Zone: n.source.Zone()}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip, Zone: n.source.Zone()}
		}
	}
	return d
}

// family narrows "tcp" and "udp" to Source's address family, so that only
// addresses a bound socket can reach are looked up.
func (n *Network) family(network string) string {
	if !n.source.IsValid() || (network != "tcp" && network != "udp") {
		return network
	}
	if n.source.Is4() {
		return network + "4"
	}
	return network + "6"
}

// lookup resolves host through the network's resolver; an IP address is
// returned as it is.
func (n *Network) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	r, name := net.DefaultResolver, host
	if n.resolver != nil {
		r, name = n.resolver, rooted(host)
	}
	ipNet := "ip"
	switch network {
	case "tcp4", "udp4":
		ipNet = "ip4"
	case "tcp6", "udp6":
		ipNet = "ip6"
	}
	ips, err := r.LookupNetIP(ctx, ipNet, name)
	if err != nil {
		return nil, n.dnsError(host, err)
	}
	return ips, nil
}

// dnsError returns err as a *net.DNSError about host that names the
// network's DNS servers: the Go resolver names the system's servers, whose
// addresses it passed to the network's dial function.
func (n *Network) dnsError(host string, err error) error {
	if n.resolver == nil {
		return err
	}
	de := &net.DNSError{Err: err.Error()}
	var e *net.DNSError
	if errors.As(err, &e) {
		c := *e
		de = &c
	}
	de.Name, de.Server = host, n.servers
	return de
}

// dialSOCKS connects to addr through a SOCKS5 proxy. With socks5 the name
// is resolved here and the proxy is given the addresses in turn; with
// socks5h the proxy is given the name.
func (n *Network) dialSOCKS(ctx context.Context, network, addr string) (net.Conn, error) {
	if !strings.HasPrefix(network, "tcp") {
		return nil, fmt.Errorf("%s through a SOCKS5 proxy: not supported", network)
	}
	if n.proxy.scheme == "socks5h" {
		return n.proxy.socks.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := n.lookup(ctx, network, host)
	if err != nil {
		return nil, err
	}
	var first error
	for _, ip := range ips {
		c, err := n.proxy.socks.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// dialConnect connects to addr through an HTTP CONNECT proxy, which
// resolves the name.
func (n *Network) dialConnect(ctx context.Context, network, addr string) (net.Conn, error) {
	if !strings.HasPrefix(network, "tcp") {
		return nil, fmt.Errorf("%s through an HTTP proxy: not supported", network)
	}
	c, err := n.dialDirect(ctx, "tcp", n.proxy.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to proxy: %w", err)
	}
	tunnel, err := n.connect(ctx, c, addr)
	if err != nil {
		c.Close()
		return nil, err
	}
	return tunnel, nil
}

// aLongTimeAgo is a deadline in the past: it ends blocked reads and writes.
var aLongTimeAgo = time.Unix(1, 0)

// connect asks the HTTP proxy on c for a tunnel to addr.
func (n *Network) connect(ctx context.Context, c net.Conn, addr string) (net.Conn, error) {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })
	if n.proxy.scheme == "https" {
		host, _, _ := net.SplitHostPort(n.proxy.addr)
		tc := tls.Client(c, &tls.Config{ServerName: host, RootCAs: n.proxyRoots, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			stop()
			return nil, fmt.Errorf("tls handshake with proxy %s: %w", n.proxy.addr, err)
		}
		c = tc
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if n.proxy.auth {
		cred := base64.StdEncoding.EncodeToString([]byte(n.proxy.user + ":" + n.proxy.password))
		req.Header.Set("Proxy-Authorization", "Basic "+cred)
	}
	br := bufio.NewReader(c)
	err := req.Write(c)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(br, req)
	}
	if !stop() {
		return nil, fmt.Errorf("proxy %s: %w", n.proxy.addr, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", n.proxy.addr, err)
	}
	// The body is left alone: a tunnel's has no end, and a refusal's
	// goes with the connection.
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("proxy %s refused a tunnel to %s: %s", n.proxy.addr, addr, resp.Status)
	}
	c.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The remote side spoke first (an SMTP greeting) and its first
		// bytes came with the proxy's answer.
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// bufferedConn is a connection whose first bytes were read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// HTTPClient returns a client whose every connection goes through
// DialContext. It waits at most 5 s for a TLS handshake and timeout for
// response headers (30 s when timeout is not positive), keeps idle
// connections for 90 s, follows no redirects (a 3xx response is returned
// as it is), and ignores HTTP_PROXY and the like: a proxy is used only when
// the network has one. Nothing else bounds a request: give it a context
// with a deadline. Each call returns a client with its own connections.
//
// A request that fails before a connection was handed to it fails with an
// error NothingSent reports true for, whatever the cause: resolving,
// connecting, the proxy, the TLS handshake, or a context that ended
// meanwhile.
func (n *Network) HTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	t := &http.Transport{
		DialContext:           n.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   DefaultDialTimeout,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
	}
	return &http.Client{
		Transport: &transport{base: t},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// transport marks the errors of requests that never got a connection: no
// byte of them was written.
type transport struct{ base *http.Transport }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var mu sync.Mutex
	gotConn := false
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		mu.Lock()
		gotConn = true
		mu.Unlock()
	}}
	resp, err := t.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		var ns *notSent
		if !gotConn && !errors.As(err, &ns) {
			err = &notSent{err}
		}
		return nil, err
	}
	resp.Request = req
	return resp, nil
}

// CloseIdleConnections closes the connections that carry no request.
func (t *transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// notSent marks an error that happened before any byte of a request was
// written to a connection.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

// Timeout reports whether the underlying error is a timeout, for code that
// asserts net.Error-like interfaces instead of unwrapping.
func (e *notSent) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// NothingSent reports whether err proves that no byte of a request reached
// the remote application, so that another endpoint may be tried at once
// without risking a duplicate. It is true when err's chain holds one of:
//
//   - an error of Network.DialContext, or of a request made with a client
//     from Network.HTTPClient before a connection was handed to it;
//   - a *net.DNSError: the name could not be resolved;
//   - a *net.OpError of a connection being made: op "dial" (refused,
//     network or host unreachable, connect timeout, a dial canceled), "socks
//     connect" (a SOCKS5 proxy that failed or refused) or "proxyconnect"
//     (net/http's own proxy);
//   - syscall.ECONNREFUSED;
//   - a TLS handshake failure that shows before the client writes: a peer
//     that does not speak TLS (tls.RecordHeaderError) or a certificate
//     that is not trusted (*tls.CertificateVerificationError and the x509
//     errors it wraps).
//
// It is false for nil and for everything else, notably timeouts, resets
// and closed connections after a connection was made, an alert from the
// TLS peer outside Network.HTTPClient (TLS 1.3 reports a rejected client
// certificate after the client may have written), and bare context errors,
// which say when something stopped but not what was written. HTTP status
// codes are for the caller to judge.
func NothingSent(err error) bool {
	if err == nil {
		return false
	}
	var (
		ns *notSent
		de *net.DNSError
		oe *net.OpError
		rh tls.RecordHeaderError
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &ns), errors.As(err, &de):
		return true
	case errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "socks connect" || oe.Op == "proxyconnect"):
		return true
	case errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.As(err, &rh), errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return true
	}
	return false
}

// dialDNS is the network resolver's dial function. It ignores the server
// the Go resolver chose from the system's configuration and hands the
// query to this network's servers.
func (n *Network) dialDNS(ctx context.Context, _, _ string) (net.Conn, error) {
	return &dnsConn{ctx: ctx, n: n}, nil
}

// dnsConn carries one query of the Go resolver to the network's DNS
// servers. The resolver frames queries as over TCP (it does so on every
// connection that is not a net.PacketConn), writes one and reads its
// answer; Write asks the servers, over UDP and then TCP when the answer
// was truncated, and Read returns what they said.
type dnsConn struct {
	// ctx is the resolver's context for this one exchange: a connection
	// of this kind lives no longer than the exchange.
	ctx context.Context
	n   *Network

	mu       sync.Mutex
	deadline time.Time
	query    []byte
	answer   []byte
}

func (c *dnsConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.query = append(c.query, b...)
	query, deadline := c.query, c.deadline
	c.mu.Unlock()
	if len(query) < 2 || len(query) < 2+int(binary.BigEndian.Uint16(query)) {
		return len(b), nil
	}
	query = query[2 : 2+int(binary.BigEndian.Uint16(query))]
	ctx := c.ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	answer, err := c.n.exchange(ctx, query)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.answer = binary.BigEndian.AppendUint16(nil, uint16(len(answer)))
	c.answer = append(c.answer, answer...)
	c.mu.Unlock()
	return len(b), nil
}

func (c *dnsConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.answer) == 0 {
		return 0, io.EOF
	}
	k := copy(b, c.answer)
	c.answer = c.answer[k:]
	return k, nil
}

func (c *dnsConn) Close() error { return nil }

func (c *dnsConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: c.n.source.AsSlice(), Zone: c.n.source.Zone()}
}

func (c *dnsConn) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(c.n.dns[0]) }

func (c *dnsConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *dnsConn) SetReadDeadline(time.Time) error { return nil }

func (c *dnsConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }

// exchange asks the network's DNS servers in order, each with an equal
// share of the time left, and returns the first answer that is not a
// server failure or refusal. When none gives one it returns the last
// server's failure answer, or the last error when none answered.
func (n *Network) exchange(ctx context.Context, query []byte) ([]byte, error) {
	var answer []byte
	var err error
	for i, server := range n.dns {
		sctx, cancel := shareOfTime(ctx, len(n.dns)-i)
		a, e := n.ask(sctx, server, query)
		cancel()
		switch {
		case e != nil:
			err = e
		case !serverFailed(a):
			return a, nil
		default:
			answer = a
		}
		if ctx.Err() != nil {
			break
		}
	}
	if answer != nil {
		return answer, nil
	}
	return nil, err
}

// shareOfTime bounds ctx to its k-th part of the time left.
func shareOfTime(ctx context.Context, k int) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok || k <= 1 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(d)/time.Duration(k))
}

// ask sends query to server over UDP, and again over TCP when the answer
// was truncated.
func (n *Network) ask(ctx context.Context, server netip.AddrPort, query []byte) ([]byte, error) {
	answer, err := n.askOver(ctx, "udp", server, query)
	if err != nil {
		return nil, err
	}
	if h, err := header(answer); err == nil && h.Truncated {
		return n.askOver(ctx, "tcp", server, query)
	}
	return answer, nil
}

// askOver sends query to server over network ("udp" or "tcp"), from this
// network's source address or interface.
func (n *Network) askOver(ctx context.Context, network string, server netip.AddrPort, query []byte) ([]byte, error) {
	c, err := n.dialer(network).DialContext(ctx, network, server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })
	defer stop()
	if network == "tcp" {
		return askStream(c, query)
	}
	return askPacket(c, query)
}

// askPacket writes query as one datagram and returns the first datagram
// that answers it.
func askPacket(c net.Conn, query []byte) ([]byte, error) {
	if _, err := c.Write(query); err != nil {
		return nil, err
	}
	id := binary.BigEndian.Uint16(query)
	buf := make([]byte, 64<<10)
	for {
		k, err := c.Read(buf)
		if err != nil {
			return nil, err
		}
		if h, err := header(buf[:k]); err == nil && h.Response && h.ID == id {
			return buf[:k], nil
		}
	}
}

// askStream writes query with its length and reads the answer framed so.
func askStream(c net.Conn, query []byte) ([]byte, error) {
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(query)))
	if _, err := c.Write(append(msg, query...)); err != nil {
		return nil, err
	}
	var size [2]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	answer := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(c, answer); err != nil {
		return nil, err
	}
	return answer, nil
}

func header(msg []byte) (dnsmessage.Header, error) {
	var p dnsmessage.Parser
	return p.Start(msg)
}

// serverFailed reports whether answer says that the server could not
// answer, so that the next server may know better.
func serverFailed(answer []byte) bool {
	h, err := header(answer)
	if err != nil {
		return true
	}
	switch h.RCode {
	case dnsmessage.RCodeServerFailure, dnsmessage.RCodeRefused, dnsmessage.RCodeNotImplemented:
		return true
	}
	return false
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

func rooted(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
