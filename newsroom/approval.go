package newsroom

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// maxListedSubmissions bounds the submissions the approvals page reads.
const maxListedSubmissions = 500

// approvalRoutes adds the pages of four-eyes approval: what waits in the
// person's towns and their own submissions, one submission with its
// preview matrix, and the decisions on it.
func (n *Newsroom) approvalRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/approvals", n.signedIn(n.approvals))
	mux.Handle("GET /admin/approvals/{id}", n.signedIn(n.submissionPage))
	mux.Handle("POST /admin/approvals/{id}/approve", n.signedIn(n.approveSubmission))
	mux.Handle("POST /admin/approvals/{id}/reject", n.signedIn(n.rejectSubmission))
	mux.Handle("POST /admin/approvals/{id}/withdraw", n.signedIn(n.withdrawSubmission))
}

// approvalsAllowed reports whether p's role may approve or publish at
// all: the roles the approvals pages are for.
func approvalsAllowed(p *crier.Principal) bool {
	return crier.Authorize(p, crier.ActionApprove, nil) == nil || crier.Authorize(p, crier.ActionPublish, nil) == nil
}

// submissionItem is one submission as the lists show it.
type submissionItem struct {
	ID, Title, Author, State, Created string
	Towns                             []townRef
	// Reason is a rejection's.
	Reason string
}

// approvalsData is what the approvals page shows.
type approvalsData struct {
	// Waiting is what the person may approve; Mine are their own
	// submissions in every state.
	Waiting, Mine []submissionItem
	CanApprove    bool
}

// approvals lists what waits in the person's towns and their own
// submissions.
func (n *Newsroom) approvals(w http.ResponseWriter, r *http.Request, v *visit) {
	if !approvalsAllowed(v.p) {
		n.fail(w, r, v, crier.Errorf(crier.EFORBIDDEN, "%s may neither approve nor publish", v.p.Name))
		return
	}
	d := &approvalsData{CanApprove: crier.Authorize(v.p, crier.ActionApprove, nil) == nil}
	if n.engine.Submissions != nil {
		all, err := n.engine.Submissions.Submissions(r.Context(), "", maxListedSubmissions)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		for _, s := range all {
			towns := n.townsOf(s.Announcement)
			switch {
			case s.Author == v.p.Name && crier.Authorize(v.p, crier.ActionRead, towns) == nil:
				d.Mine = append(d.Mine, n.submissionItem(v, s, towns))
			case s.State == crier.SubmissionPending && crier.Authorize(v.p, crier.ActionApprove, towns) == nil:
				d.Waiting = append(d.Waiting, n.submissionItem(v, s, towns))
			}
		}
	}
	p := v.page("approvals")
	p.Title = p.T("review.approvals_title")
	p.Data = d
	n.render(w, http.StatusOK, "approvals", p)
}

func (n *Newsroom) submissionItem(v *visit, s *crier.Submission, towns []string) submissionItem {
	return submissionItem{ID: s.Announcement.ID, Title: s.Announcement.Title, Author: s.Author,
		State: stateText(v.lang, s), Created: s.CreatedAt.In(n.location(towns)).Format("02.01.2006 15:04"),
		Towns: n.townRefs(towns), Reason: s.Reason}
}

// stateText says where s stands, in lang.
func stateText(lang string, s *crier.Submission) string {
	key := "approval.state." + string(s.State)
	switch s.State {
	case crier.SubmissionPending:
		return locale.T(lang, key)
	case crier.SubmissionRejected:
		return locale.T(lang, key, s.DecidedBy, s.Reason)
	}
	return locale.T(lang, key, s.DecidedBy)
}

// submissionData is what a submission's page shows.
type submissionData struct {
	S       *crier.Submission
	Towns   []townRef
	State   string
	Preview *preview
	// Decided names the decision just taken, for the status message.
	Decided, Submitted bool
	// The forms offered.
	CanApprove, CanReject, CanWithdraw bool
	// Reason is a refused rejection's, kept; ReasonProblem says why.
	Reason, ReasonProblem string
	// Refused is the message of an approval refused for its problems.
	Refused string
	// Live links to the published announcement.
	Live bool
	// UpdateOf is the revision a correction was written after; 0 for a
	// new announcement.
	UpdateOf int
	// PublishAt is when an approved one is published, in its towns' zone.
	PublishAt string
}

// submission returns the latest submission for the page's {id} and its
// towns, once v may read in every one of them: forbidden otherwise, so
// that nobody learns of another town's submissions.
func (n *Newsroom) submission(r *http.Request, v *visit) (*crier.Submission, []string, error) {
	if !approvalsAllowed(v.p) {
		return nil, nil, crier.Errorf(crier.EFORBIDDEN, "%s may neither approve nor publish", v.p.Name)
	}
	if n.engine.Submissions == nil {
		return nil, nil, crier.Errorf(crier.ENOTFOUND, "no submissions")
	}
	s, err := n.engine.Submissions.Submission(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	towns := n.townsOf(s.Announcement)
	if err := crier.Authorize(v.p, crier.ActionRead, towns); err != nil {
		return nil, nil, err
	}
	return s, towns, nil
}

func (n *Newsroom) submissionPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s, towns, err := n.submission(r, v)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	d := n.submissionData(r, v, s, towns)
	q := r.URL.Query()
	d.Decided = q.Get("decided") != "" && q.Get("decided") == string(s.State)
	d.Submitted = q.Has("submitted") && s.State == crier.SubmissionPending
	n.renderSubmission(w, http.StatusOK, v, d)
}

// submissionData gathers a submission's page: its preview matrix
// rendered now, with every problem it would have if approved now.
func (n *Newsroom) submissionData(r *http.Request, v *visit, s *crier.Submission, towns []string) *submissionData {
	d := &submissionData{S: s, Towns: n.townRefs(towns), State: stateText(v.lang, s)}
	pending := s.State == crier.SubmissionPending
	own := s.Author == v.p.Name
	d.CanApprove = pending && !own && crier.Authorize(v.p, crier.ActionApprove, towns) == nil
	d.CanReject = pending && !own && crier.Authorize(v.p, crier.ActionReject, towns) == nil
	d.CanWithdraw = pending && (own || v.p.Role == crier.RoleAdmin) && crier.Authorize(v.p, crier.ActionPublish, towns) == nil
	if s.State == crier.SubmissionApproved {
		if _, err := n.store.Announcement(r.Context(), s.Announcement.ID); err == nil {
			d.Live = true
		}
	}
	d.UpdateOf = s.Announcement.Revision - 1
	if !s.PublishAt.IsZero() {
		d.PublishAt = s.PublishAt.In(n.location(towns)).Format("02.01.2006 15:04")
	}
	a := *s.Announcement
	a.Towns, a.Channels = slices.Clone(a.Towns), slices.Clone(a.Channels)
	plan, err := n.engine.Preview(r.Context(), &a)
	if err != nil {
		n.log.Error("newsroom: preview a submission", "announcement", a.ID, "err", err)
		d.Preview = n.newPreview(v.lang, nil, nil)
	} else {
		d.Preview = n.newPreview(v.lang, plan, plan.Problems)
	}
	d.Preview.Done = true
	return d
}

func (n *Newsroom) renderSubmission(w http.ResponseWriter, status int, v *visit, d *submissionData) {
	p := v.page("approvals")
	p.Title = p.T("review.submission_title", d.S.Announcement.Title)
	p.Data = d
	n.render(w, status, "approval", p)
}

// decision checks that v may take action on the submission {id} in every
// one of its towns, before anything is done: forbidden otherwise.
func (n *Newsroom) decision(w http.ResponseWriter, r *http.Request, v *visit, action crier.Action) (*crier.Submission, []string, bool) {
	s, towns, err := n.submission(r, v)
	if err == nil {
		err = crier.Authorize(v.p, action, towns)
	}
	if err != nil {
		n.fail(w, r, v, err)
		return nil, nil, false
	}
	return s, towns, true
}

// decided redirects to the submission's page with the decision taken.
func decided(w http.ResponseWriter, r *http.Request, id string, state crier.SubmissionState) {
	http.Redirect(w, r, "/admin/approvals/"+url.PathEscape(id)+"?decided="+url.QueryEscape(string(state)), http.StatusSeeOther)
}

// approveSubmission publishes the submission, or shows its page again
// with every problem it no longer passes.
func (n *Newsroom) approveSubmission(w http.ResponseWriter, r *http.Request, v *visit) {
	s, towns, ok := n.decision(w, r, v, crier.ActionApprove)
	if !ok {
		return
	}
	if _, err := n.engine.Approve(r.Context(), s.Announcement.ID); err != nil {
		if crier.ErrorCode(err) != crier.EINVALID {
			n.fail(w, r, v, err)
			return
		}
		d := n.submissionData(r, v, s, towns)
		d.Refused = locale.T(v.lang, "review.approve_refused")
		n.renderSubmission(w, http.StatusUnprocessableEntity, v, d)
		return
	}
	decided(w, r, s.Announcement.ID, crier.SubmissionApproved)
}

// rejectSubmission refuses the submission with the form's reason.
func (n *Newsroom) rejectSubmission(w http.ResponseWriter, r *http.Request, v *visit) {
	s, towns, ok := n.decision(w, r, v, crier.ActionReject)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := n.engine.Reject(r.Context(), s.Announcement.ID, reason); err != nil {
		ps := crier.ErrorDetails(err)
		if crier.ErrorCode(err) != crier.EINVALID || len(ps) == 0 {
			n.fail(w, r, v, err)
			return
		}
		d := n.submissionData(r, v, s, towns)
		d.Reason = clip(reason, crier.MaxRejectReason+100)
		d.ReasonProblem, _ = locale.Problem(v.lang, ps[0].Code, ps[0].Args, ps[0].Message)
		n.renderSubmission(w, http.StatusUnprocessableEntity, v, d)
		return
	}
	decided(w, r, s.Announcement.ID, crier.SubmissionRejected)
}

// withdrawSubmission takes the submission back, for its author or an
// admin.
func (n *Newsroom) withdrawSubmission(w http.ResponseWriter, r *http.Request, v *visit) {
	s, _, ok := n.decision(w, r, v, crier.ActionPublish)
	if !ok {
		return
	}
	if _, err := n.engine.Withdraw(r.Context(), s.Announcement.ID); err != nil {
		n.fail(w, r, v, err)
		return
	}
	decided(w, r, s.Announcement.ID, crier.SubmissionWithdrawn)
}

// byline names a's author, and its approver or that an admin published it
// without approval, in lang; empty for an announcement older than
// authors.
func byline(lang string, a *crier.Announcement) string {
	switch {
	case a.Author == "":
		return ""
	case a.Approval == crier.Approved:
		return locale.T(lang, "approval.by_approved", a.Author, a.Approver)
	case a.Approval == crier.EmergencyPublish:
		return locale.T(lang, "approval.by_emergency", a.Author)
	}
	return a.Author
}
