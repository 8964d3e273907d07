package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/crierhq/crier"
)

// cancelRequest is the body of a cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

// updateAnnouncement publishes the announcement in the body as the next
// revision of {id}: 202 with the result, 200 when the Idempotency-Key was
// seen before, 404 for an unknown id, 409 when it was canceled, 422
// listing every problem (nothing is queued then).
func (s *Server) updateAnnouncement(w http.ResponseWriter, r *http.Request) {
	var req updateRequest
	if err := decodeJSON(w, r, &req, s.maxBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	a := req.Announcement
	// The stored announcement's towns are checked by the route; an update
	// may name others.
	if err := s.authorize(r, crier.ActionUpdate, a.Towns); err != nil {
		s.error(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	problems := revisionProblems(&a)
	problems = append(problems, idempotencyKeyProblems(key)...)
	if len(problems) > 0 {
		s.error(w, r, crier.Invalid(rejected(len(problems)), problems))
		return
	}
	o := crier.PublishOptions{Submit: req.Submit, SkipApproval: req.SkipApproval}
	res, err := s.engine.UpdateWith(r.Context(), r.PathValue("id"), &a, key, o)
	s.revised(w, r, res, err)
}

// cancelAnnouncement withdraws {id} with a new revision carrying the
// reason in the body; answers as updateAnnouncement.
func (s *Server) cancelAnnouncement(w http.ResponseWriter, r *http.Request) {
	var req cancelRequest
	if err := decodeJSON(w, r, &req, s.maxBody, true); err != nil {
		s.error(w, r, err)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if ps := idempotencyKeyProblems(key); len(ps) > 0 {
		s.error(w, r, crier.Invalid(rejected(len(ps)), ps))
		return
	}
	res, err := s.engine.Cancel(r.Context(), r.PathValue("id"), req.Reason, key)
	s.revised(w, r, res, err)
}

func (s *Server) revised(w http.ResponseWriter, r *http.Request, res *crier.PublishResult, err error) {
	if err != nil {
		s.error(w, r, err)
		return
	}
	status := http.StatusAccepted
	if res.Existing {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/announcements/"+url.PathEscape(res.Announcement.ID))
	s.writeJSON(w, r, status, res)
}

// revisionProblems reports fields of an update that the server assigns.
func revisionProblems(a *crier.Announcement) []crier.Problem {
	var ps []crier.Problem
	if a.ID != "" {
		ps = append(ps, crier.Problemf("id", "request.id_from_url", "is taken from the URL; leave it out"))
	}
	if a.Revision != 0 {
		ps = append(ps, crier.Problemf("revision", "request.revision", "is %v; the server numbers revisions", a.Revision))
	}
	if a.Event != "" {
		ps = append(ps, crier.Problemf("event", "request.server_set", "is set by the server; leave it out"))
	}
	if !a.CreatedAt.IsZero() {
		ps = append(ps, crier.Problemf("created_at", "request.server_set", "is set by the server; leave it out"))
	}
	return append(ps, authorshipProblems(a)...)
}

// Update publishes a as the next revision of the announcement id, which
// corrects it on every channel. idempotencyKey works as for Publish.
func (c *Client) Update(ctx context.Context, id string, a *crier.Announcement, idempotencyKey string) (*crier.PublishResult, error) {
	return c.revise(ctx, id, "update", a, idempotencyKey)
}

// Cancel withdraws the announcement id on every channel, with reason as
// the text people get. idempotencyKey works as for Publish.
func (c *Client) Cancel(ctx context.Context, id, reason, idempotencyKey string) (*crier.PublishResult, error) {
	return c.revise(ctx, id, "cancel", cancelRequest{Reason: reason}, idempotencyKey)
}

func (c *Client) revise(ctx context.Context, id, action string, body any, idempotencyKey string) (*crier.PublishResult, error) {
	var res crier.PublishResult
	path := "/api/v1/announcements/" + url.PathEscape(id) + "/" + action
	if err := c.create(ctx, path, body, idempotencyKey, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
