package netpath

import "crypto/x509"

// SetProxyRoots makes n trust the certificates that chain to pool on an
// https proxy, as tests' proxies are signed by no public authority.
func SetProxyRoots(n *Network, pool *x509.CertPool) { n.proxyRoots = pool }
