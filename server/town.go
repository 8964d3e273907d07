package server

import (
	"net/http"
	"slices"
	"strings"

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

// listCaptures answers what the exercise sink received, oldest first,
// optionally for one announcement.
func (s *Server) listCaptures(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	announcement := q.str("announcement")
	limit := q.limit()
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	cs, err := s.captures.Captures(r.Context(), announcement, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, captureList{Captures: orEmpty(cs)})
}

// endpointList is the body of GET /api/v1/endpoints.
type endpointList struct {
	Endpoints []netpath.EndpointHealth `json:"endpoints"`
}

// listEndpoints answers the health of every channel endpoint: breaker
// state, last error and probe latency. Nothing in it is secret.
func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	out := []netpath.EndpointHealth{}
	if s.endpoints != nil {
		out = append(out, s.endpoints()...)
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
	s.log.Info("endpoint reset by a person", "channel", channel, "endpoint", endpoint)
	s.listEndpoints(w, r)
}
