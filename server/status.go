package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/crierhq/crier"
)

// ServiceStatusList is the body of GET and PUT
// /api/v1/towns/{town}/status: the town's service status list as the
// emergency website shows it.
type ServiceStatusList struct {
	Town string `json:"town"`
	// Status is the list in display order; empty when there is none.
	Status []crier.ServiceStatus `json:"status"`
	// Configured is true when no list is stored for the town and Status is
	// the one of the configuration.
	Configured bool `json:"configured,omitempty"`
}

// serviceStatusRequest is the body of PUT /api/v1/towns/{town}/status.
type serviceStatusRequest struct {
	// Status replaces the whole list; an empty list removes the stored
	// one, so that the configured list shows again. Required, so that an
	// empty body never clears a list by mistake.
	Status *[]crier.ServiceStatus `json:"status"`
}

// statusTown returns the town of a status route, or answers 404 or 501
// and returns "".
func (s *Server) statusTown(w http.ResponseWriter, r *http.Request) string {
	town := r.PathValue("town")
	if s.directory.Town(town) == nil {
		s.error(w, r, crier.Errorf(crier.ENOTFOUND, "town %s not found", town))
		return ""
	}
	if s.statuses == nil {
		s.error(w, r, crier.Errorf(CodeNotImplemented, "this server keeps no service status lists"))
		return ""
	}
	return town
}

// serviceStatus returns the town's list as the website shows it: the
// stored one, or the configured one while none is stored.
func (s *Server) serviceStatus(ctx context.Context, town string) (*ServiceStatusList, error) {
	lines, err := s.statuses.ServiceStatus(ctx, town)
	if err != nil {
		return nil, err
	}
	out := &ServiceStatusList{Town: town, Status: lines}
	if len(lines) == 0 {
		out.Status, out.Configured = s.defaults[town], len(s.defaults[town]) > 0
	}
	out.Status = orEmpty(out.Status)
	return out, nil
}

// getServiceStatus answers a town's service status list.
func (s *Server) getServiceStatus(w http.ResponseWriter, r *http.Request) {
	town := s.statusTown(w, r)
	if town == "" {
		return
	}
	out, err := s.serviceStatus(r.Context(), town)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// putServiceStatus replaces a town's service status list at once, without
// an announcement. Service names and texts are trimmed; every problem of
// the list is answered in one 422 (crier.CheckServiceStatus).
func (s *Server) putServiceStatus(w http.ResponseWriter, r *http.Request) {
	town := s.statusTown(w, r)
	if town == "" {
		return
	}
	var req serviceStatusRequest
	if err := decodeJSON(w, r, &req, s.maxBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	if req.Status == nil {
		s.error(w, r, crier.Invalid("invalid service status", []crier.Problem{crier.Problemf("status", "status.required",
			"is required; an empty list restores the configured one")}))
		return
	}
	lines := make([]crier.ServiceStatus, len(*req.Status))
	for i, l := range *req.Status {
		lines[i] = crier.ServiceStatus{Service: strings.TrimSpace(l.Service), Availability: l.Availability,
			Text: strings.TrimSpace(l.Text)}
	}
	if err := crier.Invalid("invalid service status", crier.CheckServiceStatus(lines)); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.statuses.SetServiceStatus(r.Context(), town, lines, s.clock.Now()); err != nil {
		s.error(w, r, err)
		return
	}
	out, err := s.serviceStatus(r.Context(), town)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// ServiceStatus returns a town's service status list as the emergency
// website shows it: the stored one, or the configured one (Configured set)
// while none is stored.
func (c *Client) ServiceStatus(ctx context.Context, town string) (*ServiceStatusList, error) {
	var out ServiceStatusList
	if err := c.call(ctx, http.MethodGet, "/api/v1/towns/"+url.PathEscape(town)+"/status", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetServiceStatus replaces a town's whole service status list and returns
// it as the website now shows it; an empty list restores the configured
// one. An invalid list is refused with an EINVALID error listing every
// problem; an unknown town is not_found.
func (c *Client) SetServiceStatus(ctx context.Context, town string, lines []crier.ServiceStatus) (*ServiceStatusList, error) {
	if lines == nil {
		lines = []crier.ServiceStatus{}
	}
	var out ServiceStatusList
	in := serviceStatusRequest{Status: &lines}
	if err := c.call(ctx, http.MethodPut, "/api/v1/towns/"+url.PathEscape(town)+"/status", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
