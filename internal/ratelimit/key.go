package ratelimit

import (
	"net"
	"net/netip"
)

// ClientKey is the key of a client's budget: the address of remote
// ("host:port" or a bare address), or its /64 network for IPv6, where one
// connection has many addresses. Anything else is its own key.
func ClientKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
