package crier

import (
	"context"
	"slices"
	"time"
)

// ApprovalMode says whether an editor's announcement waits for a second
// person before it goes out (four-eyes approval).
type ApprovalMode string

// Approval modes. The zero ApprovalMode is ApprovalOff.
const (
	// ApprovalOff publishes at once, as crier always did.
	ApprovalOff ApprovalMode = "off"
	// ApprovalOptional lets an editor choose: publish, or submit for approval.
	ApprovalOptional ApprovalMode = "optional"
	// ApprovalRequired makes every editor's announcement wait for an approver.
	ApprovalRequired ApprovalMode = "required"
)

// ApprovalModes lists the modes, weakest first.
var ApprovalModes = []ApprovalMode{ApprovalOff, ApprovalOptional, ApprovalRequired}

// ApprovalRule is the approval of one town, or of every town without a
// rule of its own.
type ApprovalRule struct {
	Mode ApprovalMode
	// FromSeverity, when set, limits Mode to announcements of this CAP
	// severity or a higher one (Severe: Severe and Extreme); below it,
	// approval is off.
	FromSeverity string
}

// modeFor returns the rule's mode for an announcement of severity.
func (r ApprovalRule) modeFor(severity string) ApprovalMode {
	if r.Mode == "" || r.FromSeverity != "" && !SeverityAtLeast(severity, r.FromSeverity) {
		return ApprovalOff
	}
	return r.Mode
}

// SeverityAtLeast reports whether the CAP severity s is min or higher, in
// the order Unknown < Minor < Moderate < Severe < Extreme. A severity that
// is none of these counts as Unknown.
func SeverityAtLeast(s, min string) bool {
	rank := func(v string) int {
		i := slices.Index(Severities, v) // Extreme first, Unknown last
		if i < 0 {
			i = len(Severities) - 1
		}
		return i
	}
	return rank(s) <= rank(min)
}

// ApprovalPolicy says which announcements need approval.
type ApprovalPolicy struct {
	// Default is the rule of every town without one of its own.
	Default ApprovalRule
	// Towns holds the towns' own rules by town ID; a town's rule replaces
	// Default for it.
	Towns map[string]ApprovalRule
}

// Mode returns the approval mode of an announcement of severity for the
// towns (IDs, groups expanded): the strictest of its towns' modes, since a
// notice for several towns needs approval when any of them requires it.
// A nil policy is off.
func (p *ApprovalPolicy) Mode(towns []string, severity string) ApprovalMode {
	if p == nil {
		return ApprovalOff
	}
	strictest := ApprovalOff
	for _, t := range towns {
		rule, ok := p.Towns[t]
		if !ok {
			rule = p.Default
		}
		if m := rule.modeFor(severity); slices.Index(ApprovalModes, m) > slices.Index(ApprovalModes, strictest) {
			strictest = m
		}
	}
	return strictest
}

// How an announcement's revision passed four-eyes approval
// (Announcement.Approval).
const (
	// Approved: an approver other than the author approved it.
	Approved = "approved"
	// EmergencyPublish: an admin published it without the approval its
	// towns require.
	EmergencyPublish = "emergency"
)

// Authors recorded for announcements published without a person behind
// the request.
const (
	// AuthorSystem is the author of what the scheduler publishes from a
	// schedule without an author, and of work done on the server itself.
	AuthorSystem = "system"
)

// SubmissionState is where a submission for approval stands.
type SubmissionState string

// Submission states. Only a pending submission can change, once.
const (
	SubmissionPending   SubmissionState = "pending_approval"
	SubmissionApproved  SubmissionState = "approved"
	SubmissionRejected  SubmissionState = "rejected"
	SubmissionWithdrawn SubmissionState = "withdrawn"
)

// Valid reports whether s is one of the known states.
func (s SubmissionState) Valid() bool {
	switch s {
	case SubmissionPending, SubmissionApproved, SubmissionRejected, SubmissionWithdrawn:
		return true
	}
	return false
}

// Submission is a checked announcement, or a correction of one, that waits
// for an approver: nothing of it is queued, and the website does not show
// it, until it is approved.
type Submission struct {
	// Seq numbers submissions in the order they were made.
	Seq int64 `json:"seq"`
	// Announcement is what was submitted, with the id it will have and
	// the revision it was written after (+1), and its Author.
	Announcement *Announcement `json:"announcement"`
	// PublishAt, when set, is when the approved announcement is published:
	// approving it schedules it then.
	PublishAt time.Time       `json:"publish_at,omitzero"`
	State     SubmissionState `json:"state"`
	Author    string          `json:"author"`
	// DecidedBy is who approved, rejected or withdrew it.
	DecidedBy string `json:"decided_by,omitempty"`
	// Reason is why it was rejected.
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// SubmissionStore keeps submissions for approval apart from published
// announcements, so that the queue and the website see nothing of them.
type SubmissionStore interface {
	// CreateSubmission stores s pending, with a new Seq. A non-empty
	// idempotencyKey used before returns the submission it stored with
	// existing set and stores nothing. A pending submission for the same
	// announcement is a conflict.
	CreateSubmission(ctx context.Context, s *Submission, idempotencyKey string) (stored *Submission, existing bool, err error)
	// SubmissionByKey returns the submission stored with idempotencyKey,
	// or nil when the key is new.
	SubmissionByKey(ctx context.Context, idempotencyKey string) (*Submission, error)
	// Submission returns the latest submission for the announcement id, or
	// a not_found error.
	Submission(ctx context.Context, id string) (*Submission, error)
	// Submissions returns up to limit submissions in state (any when
	// empty), newest first.
	Submissions(ctx context.Context, state SubmissionState, limit int) ([]*Submission, error)
	// ApproveSubmission commits the plan as CreateAnnouncement does and
	// marks the submission seq approved by approver, in one transaction; a
	// conflict error, and nothing written, when it is no longer pending.
	ApproveSubmission(ctx context.Context, seq int64, p *Plan, approver string, now time.Time) (*PublishResult, error)
	// DecideSubmission moves the pending submission seq to state, decided
	// by by for reason; a conflict error when it is no longer pending.
	DecideSubmission(ctx context.Context, seq int64, state SubmissionState, by, reason string, now time.Time) (*Submission, error)
}

// ScheduleCreator stores a schedule (package schedule's Scheduler): the
// engine schedules an approved submission that has a PublishAt.
type ScheduleCreator interface {
	Create(ctx context.Context, sc *Schedule, idempotencyKey string, again bool) (*Schedule, bool, error)
}
