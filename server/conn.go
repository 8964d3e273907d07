package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Defaults and fixed limits of the HTTP server built by HTTPServer.
const (
	// DefaultReadTimeout bounds reading one request, body included.
	DefaultReadTimeout = time.Minute
	// DefaultWriteTimeout bounds answering one request, from the end of
	// its headers. No route streams (server-sent events) yet; one that does
	// must move its deadline with http.ResponseController.SetWriteDeadline.
	DefaultWriteTimeout = 2 * time.Minute
	// DefaultIdleTimeout is how long a kept-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = time.Minute
	// MaxHeaderTimeout bounds reading a request's headers; a shorter read
	// timeout bounds them too.
	MaxHeaderTimeout = 10 * time.Second
	// MaxHeaderBytes bounds a request's headers: enough for a bearer
	// token and cookies, far below net/http's 1 MB.
	MaxHeaderBytes = 64 << 10
	// DefaultMaxConnsPerClient caps the connections one client address
	// holds (Options.MaxConnsPerClient).
	DefaultMaxConnsPerClient = 64
	// connRetryAfter is the Retry-After of an answer over the cap.
	connRetryAfter = "10"
)

// Timeouts bound the phases of a connection; zero fields take the
// defaults above.
type Timeouts struct {
	Read, Write, Idle time.Duration
}

// HTTPServer returns an http.Server for s with the timeouts t, the header
// limit MaxHeaderBytes and the connection cap of Options.MaxConnsPerClient. Slow
// clients are cut off: headers after min(MaxHeaderTimeout, t.Read), the
// whole request after t.Read, the answer after t.Write, an idle
// connection after t.Idle.
func (s *Server) HTTPServer(t Timeouts) *http.Server {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Read, DefaultReadTimeout)
	def(&t.Write, DefaultWriteTimeout)
	def(&t.Idle, DefaultIdleTimeout)
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(MaxHeaderTimeout, t.Read),
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnContext:       s.conns.connContext,
		ConnState:         s.conns.connState,
	}
	hs.RegisterOnShutdown(s.CloseStreams)
	return hs
}

// capped reports whether r counts against its client's connection cap:
// every request but those to the API with the admin token, so that
// nobody can hold connections without limit by asking for /healthz or
// the API, while the operator's own tools are never turned away.
func (s *Server) capped(r *http.Request) bool {
	if r.URL.Path != "/api/v1" && !strings.HasPrefix(r.URL.Path, "/api/v1/") {
		return true
	}
	token, ok := bearer(r)
	return !ok || !s.validToken(token)
}

// limitConns answers 429 to a request that counts against the connection
// cap from a client that holds MaxConnsPerClient connections already: the
// API's error body under /api/v1/, a page elsewhere.
func (s *Server) limitConns(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.capped(r) {
			next.ServeHTTP(w, r)
			return
		}
		_, proxied := s.peers.client(r)
		release, ok := s.conns.admit(r, s.peers.clientKey(r), proxied)
		if !ok {
			// The request log shows the 429; a line of its own per refusal would
			// let a client that reconnects fast double the log.
			s.log.Debug("connection cap of a client reached", "max", s.conns.max)
			if !proxied {
				w.Header().Set("Connection", "close")
			}
			w.Header().Set("Retry-After", connRetryAfter)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.error(w, r, crier.Errorf(CodeTooManyRequests, "too many connections from your address"))
				return
			}
			lang := locale.Accept(r.Header.Get("Accept-Language"))
			s.unsubscribeAnswer(w, http.StatusTooManyRequests, unsubscribeData{Lang: lang,
				Title: locale.T(lang, "conn.limited.title"), Text: locale.T(lang, "conn.limited.text")})
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

// connLimiter counts the connections every client key holds. A direct
// connection counts from its first capped request until it closes, idle
// time included. A connection from a trusted
// proxy carries the requests of many clients, one after another; there
// each request counts while it runs, for the client it is from.
type connLimiter struct {
	max int

	mu    sync.Mutex
	held  map[string]int
	conns map[net.Conn]*heldConn
}

// heldConn is a connection served by HTTPServer.
type heldConn struct {
	key string // the client key it counts for, "" while it counts for none
}

type heldConnKey struct{}

func newConnLimiter(max int) *connLimiter {
	if max <= 0 {
		max = DefaultMaxConnsPerClient
	}
	return &connLimiter{max: max, held: map[string]int{}, conns: map[net.Conn]*heldConn{}}
}

func (l *connLimiter) connContext(ctx context.Context, c net.Conn) context.Context {
	h := &heldConn{}
	l.mu.Lock()
	l.conns[c] = h
	l.mu.Unlock()
	return context.WithValue(ctx, heldConnKey{}, h)
}

func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.conns[c]; h != nil && h.key != "" {
		l.releaseLocked(h.key)
	}
	delete(l.conns, c)
}

// admit counts r for key, or reports false when key is at the cap. The
// caller calls release when r is done.
func (l *connLimiter) admit(r *http.Request, key string, proxied bool) (release func(), ok bool) {
	h, _ := r.Context().Value(heldConnKey{}).(*heldConn)
	l.mu.Lock()
	defer l.mu.Unlock()
	if h != nil && !proxied && h.key != "" {
		return func() {}, true // counted since its first capped request
	}
	if l.held[key] >= l.max {
		return nil, false
	}
	l.held[key]++
	if h != nil && !proxied {
		h.key = key // released when the connection closes
		return func() {}, true
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.releaseLocked(key)
	}, true
}

func (l *connLimiter) releaseLocked(key string) {
	if l.held[key]--; l.held[key] <= 0 {
		delete(l.held, key)
	}
}
