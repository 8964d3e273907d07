package server

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// Channel describes a configured channel to API clients: what it is, never
// how it is reached (endpoints, tokens and passwords stay on the server).
type Channel struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// PerSubscriber channels (email) deliver once per confirmed subscriber.
	PerSubscriber bool `json:"per_subscriber,omitempty"`
	// Deduplicates says that the receiver drops a repeated delivery key.
	Deduplicates bool `json:"deduplicates,omitempty"`
}

// Bodies of the directory routes, shared with the Client.
type (
	townList struct {
		Towns []*crier.Town `json:"towns"`
	}
	channelList struct {
		Channels []Channel `json:"channels"`
	}
	captureList struct {
		Captures []*crier.Capture `json:"captures"`
	}
)

// listTowns answers the configured towns in configuration order.
func (s *Server) listTowns(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, townList{Towns: orEmpty(s.directory.Towns())})
}

// listChannels answers the configured channels ordered by id.
func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	out := make([]Channel, 0, len(s.channels))
	for id, c := range s.channels {
		if c == nil {
			continue
		}
		out = append(out, Channel{ID: id, Type: c.Type, PerSubscriber: c.PerSubscriber, Deduplicates: c.Deduplicates})
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.ID, b.ID) })
	s.writeJSON(w, r, http.StatusOK, channelList{Channels: out})
}

// listCaptures answers what the exercise sink received for the
// principal's towns (every town for an admin), oldest first or, with
// order=newest, newest first, optionally for one announcement. Only an
// admin gets the captures sent to one recipient (emails).
func (s *Server) listCaptures(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := crier.CaptureFilter{Announcement: q.str("announcement"), Towns: s.readScope(r), Limit: q.limit()}
	// Mails to one address are an admin's to read, as the subscriber
	// lists: they hold the address and its unsubscribe link.
	f.Personal = f.Towns == nil
	switch order := q.str("order"); order {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		q.add(crier.Problemf("order", "request.order", "order %q is not oldest or newest", order))
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	cs, err := s.captures.FindCaptures(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, captureList{Captures: orEmpty(cs)})
}

// Endpoint is one channel endpoint's health as GET /api/v1/endpoints
// gives it: what its chain knows, with the latency in milliseconds.
type Endpoint struct {
	Channel  string        `json:"channel"`
	Endpoint string        `json:"endpoint"`
	Network  string        `json:"network"`
	State    netpath.State `json:"state"`
	// Failures counts the consecutive failures of sends and probes.
	Failures int `json:"failures"`
	// LastError is the last failure's text, kept after recovery.
	LastError string `json:"last_error,omitempty"`
	// LastChange is when the breaker last changed state; absent if never.
	LastChange time.Time `json:"last_change,omitzero"`
	// LastProbe is when a probe last ended; absent if never.
	LastProbe time.Time `json:"last_probe,omitzero"`
	// LatencyMS is how long the last answered send or probe took, in
	// milliseconds (fractions kept); 0 before any answer.
	LatencyMS float64 `json:"latency_ms"`
	// Until is when an open breaker lets a trial through, or when an
	// endpoint that asked to be left alone takes sends again; absent when
	// neither applies.
	Until time.Time `json:"until,omitzero"`
	// GoneSince is when the endpoint answered that it no longer exists
	// (HTTP 410) or presented a certificate it cannot trust; State is then
	// "gone" until a person resets it.
	GoneSince time.Time `json:"gone_since,omitzero"`
	// Refused is why the endpoint's last probe was refused (a revoked
	// token); sends skip it until a probe passes or a person resets it.
	Refused string `json:"refused,omitempty"`
	// InFlight is the number of sends under way to the place the endpoint
	// reaches, from every channel that reaches it; Slots bounds them.
	InFlight int `json:"in_flight"`
	Slots    int `json:"slots,omitempty"`
	// Pinned is the number of deliveries still to be sent that may have
	// arrived through this endpoint, and so wait for it (or for an
	// endpoint that reaches the same receiver).
	Pinned int `json:"pinned"`
}

// endpointOf turns a chain's report into the API's shape.
func endpointOf(h netpath.EndpointHealth) Endpoint {
	return Endpoint{
		Channel: h.Channel, Endpoint: h.Endpoint, Network: h.Network, State: h.State,
		Failures: h.Failures, LastError: h.LastError, LastChange: h.LastChange, LastProbe: h.LastProbe,
		LatencyMS: float64(h.Latency) / float64(time.Millisecond), Until: h.Until,
		GoneSince: h.GoneSince, Refused: h.Refused, InFlight: h.InFlight, Slots: h.Slots, Pinned: h.Pinned,
	}
}

// endpointList is the body of GET /api/v1/endpoints.
type endpointList struct {
	Endpoints []Endpoint `json:"endpoints"`
}

// listEndpoints answers the health of every channel endpoint: breaker
// state, last error and latency. Nothing in it is secret.
func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	out := []Endpoint{}
	if s.endpoints != nil {
		for _, h := range s.endpoints() {
			out = append(out, endpointOf(h))
		}
	}
	s.writeJSON(w, r, http.StatusOK, endpointList{Endpoints: out})
}

// resetEndpoint clears what keeps an endpoint from taking sends, as a
// person decides after looking at it, and answers the endpoints' health.
func (s *Server) resetEndpoint(w http.ResponseWriter, r *http.Request) {
	if s.reset == nil {
		s.error(w, r, crier.Errorf(crier.ENOTFOUND, "this server has no endpoints"))
		return
	}
	channel, endpoint := r.PathValue("channel"), r.PathValue("endpoint")
	if err := s.reset(channel, endpoint); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.record(r, crier.AuditEntry{Action: crier.AuditEndpointReset, Subject: channel + "/" + endpoint}); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("endpoint reset by a person", "channel", channel, "endpoint", endpoint)
	s.listEndpoints(w, r)
}
