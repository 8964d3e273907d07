// Package netpath is how crier gets out of this machine and to a channel's
// endpoints when the primary infrastructure is down: networks that carry
// connections, and chains that try a channel's endpoints in order, each
// behind a circuit breaker, failing over when a failure proves that
// nothing was delivered, and reporting every endpoint's health.
//
// # Networks
//
// A Network is a way out: the system route (DefaultNetwork), a source
// address or an interface, such as an LTE router's, with the DNS servers
// of that network, or a SOCKS5 or HTTP CONNECT proxy (NewNetwork). All
// outbound traffic of an endpoint is built from its network:
// Network.HTTPClient for the HTTP services and Network.DialContext for
// SMTP. A network with its own DNS servers asks them, bound to its source
// or interface, and never falls back to the system's servers, which may
// sit behind the route that is down; it does still read /etc/hosts. A
// network without DNS servers uses the system resolver, over the system
// route.
//
// # Failing over
//
// Moving to the next endpoint within one attempt is safe only when the
// failed one cannot have received the request. NothingSent tells such
// failures apart: names that could not be resolved, connections refused,
// unreachable or timed out while connecting, proxies that refused,
// TLS handshakes that failed. A timeout or a reset after a request was
// written proves nothing, and a send that ended so is not repeated
// elsewhere: the chain names the endpoint in the error, the workers keep it
// with the delivery as its pin, and the repeat goes only to endpoints that
// reach the same receiver (Endpoint.Receiver), waiting while they cannot
// take it.
//
// # Faults stay with their endpoint
//
// Endpoints of different chains that reach the same place over the same
// network share one breaker, one set of send slots and one gone state
// (Targets): a hung endpoint holds at most its slots, a timeout opens its
// breaker at once, a success anywhere closes it and releases what waited
// (ChainOptions.OnRecover), and an endpoint that answered 410 is gone
// until a person resets it (Chain.Reset). A send that no endpoint could
// take, or that an adapter held back for its own pacing, is
// crier.Deferred: no attempt, no failure, no failover.
package netpath
