package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/crierhq/crier/internal/ratelimit"
)

// Forwarding headers a trusted proxy may set (Options.ProxyHeader).
const (
	HeaderForwardedFor = "X-Forwarded-For"
	HeaderForwarded    = "Forwarded"
)

// peers tells a request's client from the proxies in front of it.
type peers struct {
	trusted []netip.Prefix
	header  string // HeaderForwardedFor or HeaderForwarded
}

// client returns the address of r's client and whether r came through a
// trusted proxy. From a peer that is not a trusted proxy, it is the
// peer's address, whatever the request's headers say. From a trusted
// proxy, it is the rightmost address in the forwarding header that is not
// a trusted proxy itself; where that entry is not an address ("unknown",
// an obfuscated name, garbage), the client is the hop that wrote it, so
// that every such request shares one budget rather than escaping it. It
// returns the zero Addr when r.RemoteAddr is not an IP address.
func (p peers) client(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseNode(r.RemoteAddr)
	if !ok || !p.isTrusted(peer) {
		return peer, false
	}
	hops := p.hops(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			break
		}
		client = a
		if !p.isTrusted(a) {
			break
		}
	}
	return client, true
}

func (p peers) isTrusted(a netip.Addr) bool {
	for _, pre := range p.trusted {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// hops lists the addresses in the forwarding header, nearest last.
func (p peers) hops(h http.Header) []string {
	var hops []string
	for _, v := range h.Values(p.header) {
		for _, el := range strings.Split(v, ",") {
			if p.header != HeaderForwarded {
				hops = append(hops, strings.TrimSpace(el))
				continue
			}
			node := "" // an element without for= names no address
			for _, pair := range strings.Split(el, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(k, "for") {
					node = strings.Trim(v, `"`)
				}
			}
			hops = append(hops, node)
		}
	}
	return hops
}

// parseNode parses an address with or without a port: 192.0.2.1,
// 192.0.2.1:80, 2001:db8::1, [2001:db8::1]:443, [2001:db8::1].
func parseNode(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	} else {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// clientKey is the key of r's client in the rate limits: its address, or
// its /64 network for IPv6, where one connection has many addresses.
func (p peers) clientKey(r *http.Request) string {
	if a, _ := p.client(r); a.IsValid() {
		return ratelimit.ClientKey(a.String())
	}
	return ratelimit.ClientKey(r.RemoteAddr)
}
