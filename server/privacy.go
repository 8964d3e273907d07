package server

import (
	"net/http"
	"strconv"

	"github.com/crierhq/crier"
)

// addressRequest is the body of the routes about one person: the address
// travels in the body, never in the URL, so that it stays out of access
// logs and proxies' histories.
type addressRequest struct {
	// Email is the address.
	Email string `json:"email"`
	// Town limits an erasure to one town's list and deliveries; empty
	// means every town.
	Town string `json:"town,omitempty"`
}

// maxAddressBody bounds the body of the routes about one person.
const maxAddressBody = 4 << 10

// readAddress decodes and checks an addressRequest; town must be known
// when given.
func (s *Server) readAddress(w http.ResponseWriter, r *http.Request) (*addressRequest, error) {
	var req addressRequest
	if err := decodeJSON(w, r, &req, maxAddressBody, false); err != nil {
		return nil, err
	}
	email, err := crier.NormalizeEmail(req.Email)
	if err != nil {
		p := crier.EmailProblem("email", err)
		p.Town = req.Town
		return nil, crier.Invalid("invalid address", []crier.Problem{p})
	}
	req.Email = email
	if req.Town != "" && s.directory.Town(req.Town) == nil {
		return nil, crier.Errorf(crier.ENOTFOUND, "no town %q", req.Town)
	}
	return &req, nil
}

// personalStore returns the store of the data protection routes, or an
// error when the server has none or no pseudonyms.
func (s *Server) personalStore() (crier.PrivacyStore, error) {
	if s.personal == nil || s.pseudonyms == nil {
		return nil, crier.Errorf(CodeNotImplemented, "this server keeps no personal data it could erase or show")
	}
	return s.personal, nil
}

// eraseAddress answers POST /api/v1/subscribers/erase: the address in the
// body is erased from the town's list, or from every list when no town is
// given, and from every delivery, attempt and capture there (see
// crier.PrivacyStore). 200 with what was changed; 404 when nothing is
// stored about the address, an answer that names neither; 422 for a
// malformed address. The log gets the counts, never the address.
func (s *Server) eraseAddress(w http.ResponseWriter, r *http.Request) {
	store, err := s.personalStore()
	if err != nil {
		s.error(w, r, err)
		return
	}
	req, err := s.readAddress(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	e, err := store.EraseAddress(r.Context(), req.Town, req.Email, s.pseudonyms, s.clock.Now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "address erased", "town", req.Town, "subscriptions", e.Subscriptions,
		"deliveries", e.Deliveries, "canceled", e.Canceled, "captures", e.Captures, "keys", e.Keys)
	s.writeJSON(w, r, http.StatusOK, e)
}

// showAddress answers POST /api/v1/subscribers/show: everything stored
// about the address in the body, in every town (crier.PersonalData). 404
// when nothing is; 422 for a malformed address.
func (s *Server) showAddress(w http.ResponseWriter, r *http.Request) {
	store, err := s.personalStore()
	if err != nil {
		s.error(w, r, err)
		return
	}
	req, err := s.readAddress(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if req.Town != "" {
		s.error(w, r, crier.Invalid("invalid request", []crier.Problem{crier.Problemf("town", "request.show_town",
			"show lists every town; leave town out")}))
		return
	}
	d, err := store.PersonalData(r.Context(), req.Email, s.pseudonyms)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// Recorded before the data leaves, by the pseudonym, never the address.
	if err := s.record(r, crier.AuditEntry{Action: crier.AuditSubscriberShow, Subject: d.Pseudonym,
		Detail: map[string]string{"subscriptions": strconv.Itoa(len(d.Subscriptions)),
			"deliveries": strconv.Itoa(len(d.Deliveries))}}); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "personal data shown", "subscriptions", len(d.Subscriptions),
		"deliveries", len(d.Deliveries), "captures", len(d.Captures))
	s.writeJSON(w, r, http.StatusOK, d)
}

// purge answers POST /api/v1/purge: the retention purge, at once, with
// what it removed. 422 when purging is off (retention 0).
func (s *Server) purge(w http.ResponseWriter, r *http.Request) {
	if s.retention == nil {
		s.error(w, r, crier.Errorf(CodeNotImplemented, "this server purges nothing"))
		return
	}
	if s.retention.Period <= 0 {
		s.error(w, r, crier.Errorf(crier.EINVALID, "the retention period is off (0): nothing is purged"))
		return
	}
	res, err := s.retention.Purge(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, res)
}
