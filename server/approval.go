package server

import (
	"context"
	"net/http"
	"net/url"

	"github.com/crierhq/crier"
)

// Bodies of the approval routes, shared with the Client.
type (
	// updateRequest is a correction with the publisher's choices about
	// approval.
	updateRequest struct {
		crier.Announcement
		Submit       bool `json:"submit,omitempty"`
		SkipApproval bool `json:"skip_approval,omitempty"`
	}
	rejectRequest struct {
		Reason string `json:"reason"`
	}
	submissionList struct {
		Submissions []*crier.Submission `json:"submissions"`
	}
)

// approvalRoutes are the routes of four-eyes approval:
//
//	POST /api/v1/announcements/{id}/approve    202 with the PublishResult (a Schedule when it has a
//	                                           publish_at still to come); 403 for its author or
//	                                           without the approve right in every town it targets,
//	                                           409 when it was decided already, 422 listing the
//	                                           problems when it no longer passes (it still waits)
//	POST /api/v1/announcements/{id}/reject     {"reason": "..."} required; 200 with the submission
//	POST /api/v1/announcements/{id}/withdraw   by its author or an admin; 200 with the submission
//	GET  /api/v1/submissions?state=            newest first, pending_approval unless state is given
//	                                           (or "all"), only those whose towns the caller may read
//
// The engine checks the author and the towns of what was submitted; the
// route checks the towns of the stored announcement, or of the submission
// when nothing of it is published yet.
func (s *Server) approvalRoutes() []route {
	return []route{
		{"POST /api/v1/announcements/{id}/approve", crier.ActionApprove, storedAnnouncement, s.approve},
		{"POST /api/v1/announcements/{id}/reject", crier.ActionReject, storedAnnouncement, s.reject},
		{"POST /api/v1/announcements/{id}/withdraw", crier.ActionPublish, storedAnnouncement, s.withdraw},
		// Filtered by the caller's towns in the handler.
		{"GET /api/v1/submissions", crier.ActionRead, noTowns, s.listSubmissions},
	}
}

// approve publishes the submission waiting for {id}.
func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	if err := decodeJSON(w, r, &struct{}{}, s.maxBody, true); err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.engine.Approve(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "announcement approved", "announcement", res.Announcement.ID,
		"author", res.Announcement.Author, "approver", res.Announcement.Approver, "deliveries", res.Deliveries)
	w.Header().Set("Location", "/api/v1/announcements/"+url.PathEscape(res.Announcement.ID))
	s.writeJSON(w, r, http.StatusAccepted, res)
}

// reject refuses the submission waiting for {id} with the body's reason.
func (s *Server) reject(w http.ResponseWriter, r *http.Request) {
	var req rejectRequest
	if err := decodeJSON(w, r, &req, s.maxBody, true); err != nil {
		s.error(w, r, err)
		return
	}
	sub, err := s.engine.Reject(r.Context(), r.PathValue("id"), req.Reason)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "announcement rejected", "announcement", sub.Announcement.ID,
		"author", sub.Author, "by", sub.DecidedBy)
	s.writeJSON(w, r, http.StatusOK, sub)
}

// withdraw takes back the submission waiting for {id}.
func (s *Server) withdraw(w http.ResponseWriter, r *http.Request) {
	if err := decodeJSON(w, r, &struct{}{}, s.maxBody, true); err != nil {
		s.error(w, r, err)
		return
	}
	sub, err := s.engine.Withdraw(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, sub)
}

// listSubmissions answers the submissions in ?state= (pending_approval
// by default, "all" for every state) whose towns the caller may read.
func (s *Server) listSubmissions(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	limit := q.limit()
	state := crier.SubmissionState(q.str("state"))
	switch state {
	case "":
		state = crier.SubmissionPending
	case "all":
		state = ""
	default:
		if !state.Valid() {
			q.add(crier.Problemf("state", "not_one_of", "%q is not one of %v", state, "pending_approval, approved, rejected, withdrawn, all"))
		}
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	list := []*crier.Submission{}
	if s.engine.Submissions != nil {
		all, err := s.engine.Submissions.Submissions(r.Context(), state, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, sub := range all {
			if s.authorize(r, crier.ActionRead, sub.Announcement.Towns) == nil {
				list = append(list, sub)
			}
		}
	}
	s.writeJSON(w, r, http.StatusOK, submissionList{Submissions: list})
}

// submission returns the latest submission for the announcement id, or
// nil when it had none.
func (s *Server) submission(r *http.Request, id string) (*crier.Submission, error) {
	if s.engine.Submissions == nil {
		return nil, nil
	}
	sub, err := s.engine.Submissions.Submission(r.Context(), id)
	if crier.ErrorCode(err) == crier.ENOTFOUND {
		return nil, nil
	}
	return sub, err
}

// scheduleApproval refuses a schedule of an announcement that would wait
// for approval if someone other than an admin published it now: a
// schedule publishes without a person, so it cannot wait. publish_at
// submits a one-off instead. An admin's schedules publish as the admin's.
func (s *Server) scheduleApproval(r *http.Request, a *crier.Announcement) error {
	p := crier.PrincipalFrom(r.Context())
	if p != nil && p.Role == crier.RoleAdmin {
		return nil
	}
	submits, err := s.engine.Submits(r.Context(), a, crier.PublishOptions{})
	if err != nil || !submits {
		return err
	}
	return crier.Errorf(crier.EFORBIDDEN, "%s may not schedule this announcement: it needs approval, and a schedule "+
		"publishes without one; publish it with publish_at instead, which an approver then schedules", p.Name)
}

// authorshipProblems reports the fields of approval that the server
// records: who wrote and who approved a revision.
func authorshipProblems(a *crier.Announcement) []crier.Problem {
	var ps []crier.Problem
	for _, f := range []struct {
		name string
		set  bool
	}{{"author", a.Author != ""}, {"approver", a.Approver != ""}, {"approval", a.Approval != ""}} {
		if f.set {
			ps = append(ps, crier.Problemf(f.name, "request.server_set", "is set by the server; leave it out"))
		}
	}
	return ps
}

// PublishWith publishes a with the publisher's choices about approval
// (o.Submit, o.SkipApproval) and, when o.PublishAt is set, at that time,
// as PublishAt does. The result's State is pending_approval when a waits
// for an approver.
func (c *Client) PublishWith(ctx context.Context, a *crier.Announcement, idempotencyKey string, again bool, o crier.PublishOptions) (*crier.PublishResult, error) {
	var res crier.PublishResult
	in := publishAtRequest{Announcement: *a, PublishAt: o.PublishAt, Submit: o.Submit, SkipApproval: o.SkipApproval}
	if err := c.createQuery(ctx, "/api/v1/announcements", againQuery(again), in, idempotencyKey, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UpdateWith is Update with the publisher's choices about approval.
func (c *Client) UpdateWith(ctx context.Context, id string, a *crier.Announcement, idempotencyKey string, o crier.PublishOptions) (*crier.PublishResult, error) {
	return c.revise(ctx, id, "update", updateRequest{Announcement: *a, Submit: o.Submit, SkipApproval: o.SkipApproval}, idempotencyKey)
}

// Approve approves the submission waiting for the announcement id: it is
// published, or scheduled when it has a publish_at still to come.
func (c *Client) Approve(ctx context.Context, id string) (*crier.PublishResult, error) {
	var res crier.PublishResult
	if err := c.call(ctx, http.MethodPost, "/api/v1/announcements/"+url.PathEscape(id)+"/approve", nil, struct{}{}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Reject rejects the submission waiting for the announcement id, with a
// reason its author sees.
func (c *Client) Reject(ctx context.Context, id, reason string) (*crier.Submission, error) {
	var sub crier.Submission
	if err := c.call(ctx, http.MethodPost, "/api/v1/announcements/"+url.PathEscape(id)+"/reject", nil, rejectRequest{Reason: reason}, &sub); err != nil {
		return nil, err
	}
	return &sub, nil
}

// Withdraw takes back one's own submission waiting for the announcement id.
func (c *Client) Withdraw(ctx context.Context, id string) (*crier.Submission, error) {
	var sub crier.Submission
	if err := c.call(ctx, http.MethodPost, "/api/v1/announcements/"+url.PathEscape(id)+"/withdraw", nil, struct{}{}, &sub); err != nil {
		return nil, err
	}
	return &sub, nil
}

// Submissions returns the submissions in state whose towns the caller may
// read, newest first: pending_approval when state is empty, every state
// for "all".
func (c *Client) Submissions(ctx context.Context, state crier.SubmissionState) ([]*crier.Submission, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", string(state))
	}
	var out submissionList
	if err := c.call(ctx, http.MethodGet, "/api/v1/submissions", q, nil, &out); err != nil {
		return nil, err
	}
	return out.Submissions, nil
}
