package crier

import (
	"context"
	"time"
)

// Plan is a validated, fully rendered announcement ready to be committed:
// one message per town × channel. Nothing in a plan has been sent.
type Plan struct {
	Announcement *Announcement `json:"announcement"`
	Towns        []string      `json:"towns"`
	// Messages become deliveries, one per message (or per subscriber).
	Messages []*Message `json:"messages"`
	// Pages are the rendered pages of the emergency website, one per
	// targeted town (channel and type PageType): stored with the
	// announcement like Messages, but never delivered. A page that cannot
	// be rendered is a problem of the plan like any other.
	Pages    []*Message `json:"pages,omitempty"`
	Problems []Problem  `json:"problems,omitempty"`
	// Notes say what the checks of a channel rested on where a person
	// should know it (a default standing in for an unknown limit), once
	// per channel. They do not stop a publish.
	Notes []Note `json:"notes,omitempty"`
}

// PageType is the channel id and type of the pages in Plan.Pages: the
// town's rendered text as the emergency website shows it.
const PageType = "site"

// PublishResult is what committing a plan produced.
type PublishResult struct {
	Announcement *Announcement `json:"announcement"`
	Deliveries   int           `json:"deliveries"`
	// Existing is true when the idempotency key had been seen and the
	// result is that of the earlier request.
	Existing bool `json:"existing,omitempty"`
	// State is SubmissionPending when the announcement waits for an
	// approver (nothing is queued), another SubmissionState when a
	// repeated request finds its submission decided since, and
	// SubmissionApproved when an approval scheduled it (Schedule); empty
	// when it was published.
	State SubmissionState `json:"state,omitempty"`
	// Schedule is the schedule that publishes an approved submission at
	// its PublishAt.
	Schedule *Schedule `json:"schedule,omitempty"`
}

// AnnouncementStore persists announcements and their deliveries.
type AnnouncementStore interface {
	// CreateAnnouncement commits the plan's announcement, its messages and
	// all deliveries in one transaction: one per message, or, for
	// PerSubscriber messages, one per confirmed subscriber of the message's
	// town at this moment. A non-empty idempotencyKey that was used before
	// returns the earlier result with Existing set and writes nothing.
	//
	// A revision after the first (an update or a cancel) must follow the
	// latest one (conflict otherwise). Each of its deliveries is linked to
	// the previous revision's delivery on the same town × channel (×
	// subscriber): one still queued or waiting is canceled, since the
	// revision replaces or withdraws it before it was sent, unless an
	// earlier attempt may have delivered it (ambiguous); one being sent, or
	// ambiguous and due again, makes the new delivery wait until it is
	// final. A cancel with nothing sent before it to withdraw is canceled
	// at once.
	CreateAnnouncement(ctx context.Context, p *Plan, idempotencyKey string, now time.Time) (*PublishResult, error)
	// EarlierResult returns the result that a request with idempotencyKey
	// produced, with Existing set, or nil when the key is new.
	EarlierResult(ctx context.Context, idempotencyKey string) (*PublishResult, error)
	// Announcement returns the latest revision of an announcement, or a
	// not_found error.
	Announcement(ctx context.Context, id string) (*Announcement, error)
	// Announcements returns the newest announcements first: those for
	// people (events announcement.*), not the confirmation mails of the
	// subscribe form (EventSubscriptionConfirm).
	Announcements(ctx context.Context, limit int) ([]*Announcement, error)
	// FindAnnouncements returns the announcements matching f, each in its
	// latest revision, newest first, as Announcements does.
	FindAnnouncements(ctx context.Context, f AnnouncementFilter) ([]*Announcement, error)
	// Messages returns the rendered messages of an announcement.
	Messages(ctx context.Context, id string) ([]*Message, error)
	// Deliveries returns deliveries matching f, ordered by id.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// Counts returns the number of deliveries per town × channel × state.
	Counts(ctx context.Context, announcement string) ([]Count, error)
	// Attempts returns the attempts of one delivery, oldest first.
	Attempts(ctx context.Context, delivery int64) ([]*Attempt, error)
	// Retry puts the deliveries of the announcement's latest revision in
	// the given final states back in the queue, due now, and returns how
	// many. Earlier revisions' deliveries are not retried: a later
	// revision replaced what they would say, nor are deliveries to a
	// pseudonym (IsPseudonym): their address was erased or purged.
	Retry(ctx context.Context, announcement string, states []State, now time.Time) (int, error)
}

// DeliveryFilter selects deliveries; empty fields match everything.
type DeliveryFilter struct {
	Announcement string
	Town         string
	Channel      string
	State        State
	// Towns, when not nil, keeps the deliveries to these towns; an empty,
	// non-nil Towns keeps none.
	Towns   []string
	AfterID int64 // for paging: only ids greater than this
	Limit   int   // 0 means a default page size
}

// SubscriberStore persists the towns' email lists.
type SubscriberStore interface {
	// AddSubscribers inserts or updates subscribers by (town, email) in one
	// transaction and returns how many rows were new.
	AddSubscribers(ctx context.Context, subs []*Subscriber, now time.Time) (int, error)
	// RemoveSubscriber marks an address unsubscribed; not_found if unknown.
	RemoveSubscriber(ctx context.Context, town, email string, now time.Time) error
	// ConfirmSubscriber sets a pending address confirmed, with source
	// recording the consent, only while its subscription is still the
	// version (UpdatedAt) the confirmation link was made for: a conflict
	// error when it changed in between, e.g. by an unsubscribe; nil for an
	// address confirmed already; not_found for an unknown one.
	ConfirmSubscriber(ctx context.Context, town, email string, version time.Time, source string, now time.Time) error
	// Subscribers returns a town's subscribers, optionally in one state.
	Subscribers(ctx context.Context, town string, state SubscriberState) ([]*Subscriber, error)
}

// CaptureStore keeps what the exercise sink received.
type CaptureStore interface {
	// SaveCapture stores c; saving the same Key twice keeps the first.
	SaveCapture(ctx context.Context, c *Capture) error
	// FindCaptures returns the captures f selects.
	FindCaptures(ctx context.Context, f CaptureFilter) ([]*Capture, error)
}

// Job is a claimed delivery together with its rendered message.
type Job struct {
	// Delivery is the claimed delivery, in state sending. The error and
	// remote references of its last attempt may be left out.
	Delivery *Delivery
	Message  *Message
	// Lease identifies this claim; completing a job whose lease was taken
	// over by another claim is refused.
	Lease string
	// Reclaimed is true when the job was claimed before by a worker whose
	// lease expired: that worker may have sent it.
	Reclaimed bool
	// Previous is the previous revision's delivery on the same town ×
	// channel (× recipient), final by now; nil for a first revision or
	// where the previous one had none.
	Previous *Delivery
}

// Outcome is the result of working on a claimed job.
type Outcome struct {
	Delivery int64
	Lease    string
	State    State     // the new state; StateQueued means retry at NextAt
	NextAt   time.Time // when a retry is due
	Attempt  *Attempt  // nil when nothing was tried (expired, released)
}

// Queue is the durable delivery queue.
type Queue interface {
	// Claim leases up to n due deliveries of the given channel types (all
	// when empty) until now+lease and marks them sending. A delivery is due
	// when it is queued with NextAt <= now, or sending with an expired lease.
	Claim(ctx context.Context, types []string, n int, now time.Time, lease time.Duration) ([]*Job, error)
	// Complete records outcomes and their attempts in one transaction.
	// Outcomes whose lease is no longer held are skipped and reported in
	// the returned count of stale outcomes.
	Complete(ctx context.Context, outcomes []*Outcome, now time.Time) (stale int, err error)
	// Exchange records outcomes as Complete does and then claims up to n
	// due deliveries as Claim does, in one transaction, so that a worker
	// handing back finished jobs and taking new ones pays for one commit.
	Exchange(ctx context.Context, outcomes []*Outcome, types []string, n int, now time.Time, lease time.Duration) (jobs []*Job, stale int, err error)
	// Release puts claimed jobs back to queued without counting an attempt.
	Release(ctx context.Context, jobs []*Job) error
	// Hurry makes the queued deliveries of channel that wait for a later
	// time due at now, and returns how many: an endpoint they waited for
	// takes sends again. Deliveries in other states are left alone.
	Hurry(ctx context.Context, channel string, now time.Time) (int, error)
	// Recover expires every lease at once. Only a process that knows no
	// other worker shares the queue (the single-process SQLite store holds a
	// lock on its data dir) may call it at start.
	Recover(ctx context.Context) (int, error)
	// Depth returns the number of deliveries still to be sent per channel
	// type: queued, sending, and waiting for an earlier revision's.
	Depth(ctx context.Context) (map[string]int, error)
}
