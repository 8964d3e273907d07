package crier

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PublishOptions are a publisher's choices about four-eyes approval.
type PublishOptions struct {
	// Submit asks for approval where it is optional, or off.
	Submit bool
	// SkipApproval lets an admin publish what needs approval without it:
	// an emergency publish, recorded as such. Only an admin may.
	SkipApproval bool
	// PublishAt is when a submission, once approved, is published; zero
	// publishes it when it is approved.
	PublishAt time.Time
}

// MaxRejectReason bounds the reason of a rejection, in characters.
const MaxRejectReason = 1000

// SetAuthor records who ctx acts for as a's author and clears its approval,
// which only Approve sets. Without a principal (the scheduler), a keeps an
// author it has, and is AuthorSystem's otherwise.
func SetAuthor(ctx context.Context, a *Announcement) {
	if who := PrincipalFrom(ctx); who != nil {
		a.Author, a.Approver, a.Approval = who.Name, "", ""
	} else if a.Author == "" {
		a.Author = AuthorSystem
	}
}

// skipAllowed refuses o.SkipApproval from anyone but an admin.
func skipAllowed(who *Principal, o PublishOptions) error {
	if o.SkipApproval && who != nil && who.Role != RoleAdmin {
		return Errorf(EFORBIDDEN, "%s (role %s) may not publish without approval; only an admin may", who.Name, who.Role)
	}
	return nil
}

// submits reports whether a, for towns, waits for approval rather than
// being published, and marks an admin's publish that skips a required
// approval as EmergencyPublish. A cancel never waits, nor does work
// without a principal.
func (e *Engine) submits(who *Principal, a *Announcement, towns []string, o PublishOptions) bool {
	if who == nil || a.Event == EventCanceled {
		return false
	}
	if o.Submit {
		return true
	}
	if e.Approval.Mode(towns, a.Severity) != ApprovalRequired {
		return false
	}
	if who.Role == RoleAdmin && o.SkipApproval {
		a.Approval = EmergencyPublish
		return false
	}
	return true
}

// Submits reports whether publishing a with o as the principal of ctx
// would store it for approval rather than publish it; an error when o is
// not allowed. It does not check a otherwise.
func (e *Engine) Submits(ctx context.Context, a *Announcement, o PublishOptions) (bool, error) {
	who := PrincipalFrom(ctx)
	if err := skipAllowed(who, o); err != nil {
		return false, err
	}
	c := *a
	c.SetDefaults(e.Mode)
	towns, _ := e.Directory.Resolve(c.Towns)
	return e.submits(who, &c, towns, o), nil
}

// submit stores the checked announcement a as a pending submission.
func (e *Engine) submit(ctx context.Context, a *Announcement, idempotencyKey string, publishAt time.Time) (*PublishResult, error) {
	if e.Submissions == nil {
		return nil, Errorf(ECONFLICT, "this announcement needs approval, but this server keeps no submissions")
	}
	s := &Submission{
		Announcement: a, PublishAt: publishAt, State: SubmissionPending, Author: a.Author, CreatedAt: e.Clock.Now(),
	}
	stored, existing, err := e.Submissions.CreateSubmission(ctx, s, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("submit announcement: %w", err)
	}
	return &PublishResult{Announcement: stored.Announcement, Existing: existing, State: stored.State}, nil
}

// Approve publishes the submission waiting for the announcement id, as
// the principal of ctx approves it: checked and rendered again, then
// committed with its deliveries, author and approver, and the submission
// marked approved, in one transaction; or, when it has a PublishAt still
// to come, stored as a schedule that publishes it then. The approver must
// have the approve right in every town it targets (forbidden otherwise)
// and must not be its author (forbidden). Nothing waiting, or a
// submission decided already, is a not_found or conflict error. When the
// announcement no longer passes its checks, the EINVALID error lists
// every problem and it stays pending.
func (e *Engine) Approve(ctx context.Context, id string) (*PublishResult, error) {
	who := PrincipalFrom(ctx)
	s, err := e.pending(ctx, id, who, ActionApprove)
	if err != nil {
		return nil, err
	}
	if who.Name == s.Author {
		return nil, Errorf(EFORBIDDEN, "%s may not approve their own announcement; another approver must", who.Name)
	}
	a := *s.Announcement
	a.Towns, a.Channels = slices.Clone(a.Towns), slices.Clone(a.Channels)
	if a.Revision > 1 {
		// Based on the revision that is latest now: an update may have
		// been published since it was submitted.
		prev, err := e.revisable(ctx, id)
		if err != nil {
			return nil, err
		}
		if unchanged(prev, &a) {
			return nil, Errorf(ECONFLICT, "nothing changed: the update says what revision %d of %s says", prev.Revision, id)
		}
		a.Revision = prev.Revision + 1
	}
	a.CreatedAt, a.Approver, a.Approval = time.Time{}, who.Name, Approved
	now := e.Clock.Now()
	if s.PublishAt.After(now) && a.Revision == 1 {
		return e.approveLater(ctx, s, &a, now)
	}
	p, err := e.Preview(ctx, &a)
	if err != nil {
		return nil, err
	}
	if err := Invalid(fmt.Sprintf("approval refused: %d problem(s); the announcement still waits for approval", len(p.Problems)), p.Problems); err != nil {
		return nil, err
	}
	res, err := e.Submissions.ApproveSubmission(ctx, s.Seq, p, who.Name, now)
	if err != nil {
		return nil, err
	}
	if e.Notify != nil {
		e.Notify()
	}
	return res, nil
}

// approveLater schedules the approved announcement a of s at its
// PublishAt and marks s approved. The schedule's idempotency key is the
// submission's, so that an approval repeated after a failure in between
// finds the schedule it made.
func (e *Engine) approveLater(ctx context.Context, s *Submission, a *Announcement, now time.Time) (*PublishResult, error) {
	if e.Schedules == nil {
		return nil, Errorf(ECONFLICT, "announcement %s is to be published at %s, but this server does not schedule announcements",
			a.ID, s.PublishAt.Format(time.RFC3339))
	}
	sc, _, err := e.Schedules.Create(ctx, &Schedule{At: s.PublishAt, Announcement: a}, "submission-"+strconv.FormatInt(s.Seq, 10), true)
	if err != nil {
		return nil, err
	}
	if _, err := e.Submissions.DecideSubmission(ctx, s.Seq, SubmissionApproved, a.Approver, "", now); err != nil {
		return nil, err
	}
	return &PublishResult{Announcement: a, State: SubmissionApproved, Schedule: sc}, nil
}

// Reject refuses the submission waiting for the announcement id, as the
// principal of ctx, with a reason its author sees: it is never published.
// The reason is required (invalid); the rights and states are those of
// Approve. The author withdraws their own (Withdraw) rather than
// rejecting it.
func (e *Engine) Reject(ctx context.Context, id, reason string) (*Submission, error) {
	reason = strings.TrimSpace(reason)
	switch n := len([]rune(reason)); {
	case n == 0:
		return nil, Invalid("nothing was rejected", []Problem{Problemf("reason", "approval.reason_required", "must say why the announcement is rejected")})
	case n > MaxRejectReason:
		return nil, Invalid("nothing was rejected", []Problem{Problemf("reason", "too_long", "is %v characters long, at most %v are allowed", n, MaxRejectReason)})
	}
	who := PrincipalFrom(ctx)
	s, err := e.pending(ctx, id, who, ActionReject)
	if err != nil {
		return nil, err
	}
	if who.Name == s.Author {
		return nil, Errorf(EFORBIDDEN, "%s may not reject their own announcement; withdraw it instead", who.Name)
	}
	return e.Submissions.DecideSubmission(ctx, s.Seq, SubmissionRejected, who.Name, reason, e.Clock.Now())
}

// Withdraw takes back the submission waiting for the announcement id: only
// its author, or an admin, may (forbidden otherwise).
func (e *Engine) Withdraw(ctx context.Context, id string) (*Submission, error) {
	who := PrincipalFrom(ctx)
	if who == nil {
		return nil, Errorf(EUNAUTHORIZED, "not signed in")
	}
	s, err := e.submission(ctx, id)
	if err != nil {
		return nil, err
	}
	if who.Name != s.Author && who.Role != RoleAdmin {
		return nil, Errorf(EFORBIDDEN, "%s may not withdraw the announcement of %s", who.Name, s.Author)
	}
	if err := decided(s); err != nil {
		return nil, err
	}
	return e.Submissions.DecideSubmission(ctx, s.Seq, SubmissionWithdrawn, who.Name, "", e.Clock.Now())
}

// pending returns the submission waiting for id once who may do action in
// every town it targets: forbidden before a conflict, so that nobody
// learns the state of another town's submissions.
func (e *Engine) pending(ctx context.Context, id string, who *Principal, action Action) (*Submission, error) {
	if who == nil {
		return nil, Errorf(EUNAUTHORIZED, "not signed in")
	}
	s, err := e.submission(ctx, id)
	if err != nil {
		return nil, err
	}
	towns, _ := e.Directory.Resolve(s.Announcement.Towns)
	if err := Authorize(who, action, towns); err != nil {
		return nil, err
	}
	return s, decided(s)
}

// submission returns the latest submission for id.
func (e *Engine) submission(ctx context.Context, id string) (*Submission, error) {
	if e.Submissions == nil {
		return nil, Errorf(ENOTFOUND, "nothing of announcement %s waits for approval", id)
	}
	return e.Submissions.Submission(ctx, id)
}

// decided returns a conflict error naming the decision on s, or nil while
// it is pending.
func decided(s *Submission) error {
	id := s.Announcement.ID
	switch s.State {
	case SubmissionPending:
		return nil
	case SubmissionApproved:
		return Errorf(ECONFLICT, "announcement %s was approved by %s already", id, s.DecidedBy)
	case SubmissionRejected:
		return Errorf(ECONFLICT, "announcement %s was rejected by %s: %s", id, s.DecidedBy, s.Reason)
	default:
		return Errorf(ECONFLICT, "announcement %s was withdrawn by %s", id, s.DecidedBy)
	}
}
