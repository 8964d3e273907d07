package netpath

import (
	"context"
	"net"
	"net/url"
)

// CheckPath shows that addr ("host:port") can be reached over n without
// talking to the application behind it: it resolves the name the way
// DialContext does (through n's resolver, or the proxy's for socks5h and
// HTTP proxies), opens a TCP connection over n, through its proxy if it has
// one, and closes it at once. Nothing is written to the remote
// application, so a receiver that offers no probe of its own can be
// checked without sending it anything.
//
// It returns nil when the connection was made: the path works, which says
// nothing about the application behind it (it may refuse every request).
// Otherwise it returns DialContext's error, bounded by ctx and n's
// DialTimeout, for which NothingSent reports true.
func (n *Network) CheckPath(ctx context.Context, addr string) error {
	c, err := n.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// URLAddr returns the host and port that an http or https URL connects
// to, e.g. "hooks.slack.com:443", with the scheme's port when it names
// none, or "" when it cannot be parsed. It never holds the URL's path or
// query, which may carry a token.
func URLAddr(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}
