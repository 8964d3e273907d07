package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/crierhq/crier"
)

// Bodies of the subscriber routes, shared with the Client.
type (
	subscriberList struct {
		Subscribers []*crier.Subscriber `json:"subscribers"`
	}
	subscriberResult struct {
		Added   int `json:"added"`
		Updated int `json:"updated"`
	}
)

// listSubscribers answers the subscribers of one town, or of every town in
// configuration order, optionally in one state.
func (s *Server) listSubscribers(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	town := q.str("town")
	state := crier.SubscriberState(q.str("state"))
	if town != "" && s.directory.Town(town) == nil {
		q.add(crier.Problemf("town", "town.unknown", "unknown town %q", town))
	}
	if state != "" && !state.Valid() {
		q.add(crier.Problemf("state", "not_one_of", "%q is not one of %v", state, subscriberStatesText))
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	towns := []string{town}
	if town == "" {
		towns = towns[:0]
		for _, t := range s.directory.Towns() {
			towns = append(towns, t.ID)
		}
	}
	out := []*crier.Subscriber{}
	for _, t := range towns {
		subs, err := s.subscribers.Subscribers(r.Context(), t, state)
		if err != nil {
			s.error(w, r, err)
			return
		}
		out = append(out, subs...)
	}
	s.writeJSON(w, r, http.StatusOK, subscriberList{Subscribers: out})
}

// addSubscribers inserts or updates the subscribers in the body in one
// transaction. Every row is checked first; any problem rejects them all
// with 422 and each problem names its row.
func (s *Server) addSubscribers(w http.ResponseWriter, r *http.Request) {
	var req subscriberList
	if err := decodeJSON(w, r, &req, s.maxImportBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	subs, problems := s.checkSubscribers(req.Subscribers)
	if err := crier.Invalid(fmt.Sprintf("subscribers rejected: %d problem(s), nothing was written", len(problems)), problems); err != nil {
		s.error(w, r, err)
		return
	}
	added, err := s.subscribers.AddSubscribers(r.Context(), subs, s.clock.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "subscribers written", "added", added, "updated", len(subs)-added)
	s.writeJSON(w, r, http.StatusOK, subscriberResult{Added: added, Updated: len(subs) - added})
}

// checkSubscribers validates rows and returns clean copies: the address
// normalized, ids and times left to the store.
func (s *Server) checkSubscribers(rows []*crier.Subscriber) ([]*crier.Subscriber, []crier.Problem) {
	if len(rows) == 0 {
		return nil, []crier.Problem{crier.Problemf("subscribers", "subscriber.none", "must list at least one subscriber")}
	}
	var problems []crier.Problem
	add := func(i int, town string, p crier.Problem) {
		p.Field = fmt.Sprintf("subscribers[%d].%s", i, p.Field)
		p.Town = town
		problems = append(problems, p)
	}
	seen := make(map[[2]string]int, len(rows))
	out := make([]*crier.Subscriber, 0, len(rows))
	for i, row := range rows {
		if row == nil {
			problems = append(problems, crier.Problemf(fmt.Sprintf("subscribers[%d]", i), "request.null", "must not be null"))
			continue
		}
		if s.directory.Town(row.Town) == nil {
			add(i, row.Town, crier.Problemf("town", "town.unknown", "unknown town %q", row.Town))
		}
		email, err := crier.NormalizeEmail(row.Email)
		if err != nil {
			add(i, row.Town, crier.EmailProblem("email", err))
		}
		if !row.State.Valid() {
			add(i, row.Town, crier.Problemf("state", "not_one_of", "%q is not one of %v", row.State, subscriberStatesText))
		}
		if strings.ContainsFunc(row.Name, isControl) {
			add(i, row.Town, crier.Problemf("name", "control_characters", "must be a single line without control characters"))
		}
		if err == nil {
			k := [2]string{row.Town, email}
			if j, dup := seen[k]; dup {
				add(i, row.Town, crier.Problemf("email", "subscriber.repeated", "%v is listed again (first in subscribers[%v])", email, j))
			} else {
				seen[k] = i
			}
		}
		out = append(out, &crier.Subscriber{
			Town: row.Town, Email: email, Name: row.Name, State: row.State, Source: row.Source,
		})
	}
	return out, problems
}

// removeSubscriber unsubscribes one address: 204, or 404 when the town or
// the address is unknown.
func (s *Server) removeSubscriber(w http.ResponseWriter, r *http.Request) {
	town := r.PathValue("town")
	if s.directory.Town(town) == nil {
		s.error(w, r, crier.Errorf(crier.ENOTFOUND, "no town %q", town))
		return
	}
	email, err := crier.NormalizeEmail(r.PathValue("email"))
	if err != nil {
		p := crier.EmailProblem("email", err)
		p.Town = town
		s.error(w, r, crier.Invalid("invalid address", []crier.Problem{p}))
		return
	}
	if err := s.subscribers.RemoveSubscriber(r.Context(), town, email, s.clock.Now()); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

const subscriberStatesText = "pending, confirmed, unsubscribed"

func isControl(r rune) bool { return r < ' ' || r == 0x7f }
