package crier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one entry of the audit trail: who changed what, when and
// from where. The stores write one in the same transaction as every change
// they make for a person, so that a change is never without its entry nor
// an entry without its change. Entries form a hash chain (see Hash).
//
// An entry holds no subscriber's address: the trail cannot forget, and an
// erased address must leave nothing behind. It names subscribers by their
// ID and counts them.
type AuditEntry struct {
	// Seq numbers the entries from 1 without gaps.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Actor is the user name of the principal, or one of AuditSystem,
	// AuditPublic, or AuditShell with the operating system's user name
	// after a colon ("shell:alice"); these have no Role.
	Actor string `json:"actor"`
	Role  Role   `json:"role,omitempty"`
	// Token is the ID of the user's API token; 0 for the admin token, a
	// session or no principal.
	Token int64 `json:"token,omitempty"`
	// Client is the client's address as the server saw it through its
	// trusted proxies; empty for work not done for a request.
	Client string `json:"client,omitempty"`
	// Action is what happened: one of the Audit... actions.
	Action string `json:"action"`
	// Subject is the ID of what changed: an announcement, a schedule, a
	// subscriber, a user, a token, an endpoint.
	Subject string   `json:"subject,omitempty"`
	Towns   []string `json:"towns,omitempty"`
	// Detail says more, in a few short values: a revision, a count, a
	// state.
	Detail map[string]string `json:"detail,omitempty"`
	// PrevHash is the Hash of the entry before, or ZeroHash for the first.
	PrevHash string `json:"prev_hash"`
	// Hash is the SHA-256 over this entry and PrevHash, in hex; see Hash.
	Hash string `json:"hash"`
}

// Actors without a principal.
const (
	// AuditSystem is crier itself: the scheduler, the workers, the
	// retention purge.
	AuditSystem = "system"
	// AuditPublic is a person without an account, through the public
	// pages: subscribe, confirm, unsubscribe.
	AuditPublic = "public"
	// AuditShell is the operator of a shell on the server, through a
	// command that opens the database itself (crier users).
	AuditShell = "shell"
)

// Audit actions: the announcement actions are the events of their
// revisions (EventPublished, EventUpdated, EventCanceled,
// EventSubscriptionConfirm).
const (
	AuditRetry = "announcement.retry"
	// The four-eyes approval of submissions; an approval's publish has
	// an entry of its own, as every publish does.
	AuditSubmissionCreate   = "submission.create"
	AuditSubmissionApprove  = "submission.approve"
	AuditSubmissionReject   = "submission.reject"
	AuditSubmissionWithdraw = "submission.withdraw"
	AuditScheduleCreate     = "schedule.create"
	AuditScheduleChange     = "schedule.change"
	AuditSchedulePause      = "schedule.pause"
	AuditScheduleResume     = "schedule.resume"
	AuditScheduleDelete     = "schedule.delete"
	AuditSubscriberAdd      = "subscriber.add"
	AuditSubscriberRemove   = "subscriber.remove"
	AuditSubscriberConfirm  = "subscriber.confirm"
	AuditSubscriberErase    = "subscriber.erase"
	AuditSubscriberShow     = "subscriber.show"
	AuditSubscriberPurge    = "subscriber.purge"
	AuditServiceStatus      = "service_status.set"
	AuditEndpointReset      = "endpoint.reset"
	AuditUserAdd            = "user.add"
	AuditUserDisable        = "user.disable"
	AuditUserChange         = "user.change"
	AuditUserActual         = "user.actual"
	AuditUserPassword       = "user.password"
	AuditTokenAdd           = "token.add"
	AuditTokenRevoke        = "token.revoke"
	AuditLogin              = "session.login"
	AuditLogout             = "session.logout"
	AuditLoginFailed        = "session.login_failed"
)

// AuditFilter selects audit entries; empty fields match everything.
type AuditFilter struct {
	Since time.Time // entries at or after
	Until time.Time // entries before
	Actor string
	// Action matches an action, or every action under a prefix ending in
	// '.' ("schedule.").
	Action string
	Town   string
	// After is for paging: only entries with a greater Seq.
	After int64
	// Before is for paging newest first: only entries with a smaller
	// Seq; 0 bounds nothing.
	Before int64
	// Newest returns the newest entries first, rather than the oldest.
	Newest bool
	// Limit is at most MaxAuditLimit; 0 means MaxAuditLimit.
	Limit int
}

// MaxAuditLimit is the largest page of audit entries.
const MaxAuditLimit = 1000

// AuditBreak is why a hash chain is broken.
type AuditBreak string

// Breaks of the chain, as VerifyAudit finds them.
const (
	// AuditChanged: the entry's content does not give its hash.
	AuditChanged AuditBreak = "changed"
	// AuditMissing: the entry before this one is missing (a gap in Seq).
	AuditMissing AuditBreak = "missing"
	// AuditReordered: the entry does not follow the one stored before it
	// (its PrevHash is another), though its own hash is right.
	AuditReordered AuditBreak = "reordered"
	// AuditHead: the head record does not match the newest entry: the
	// newest entries were deleted, or the head was changed.
	AuditHead AuditBreak = "head"
)

// AuditReport is the result of verifying the chain.
type AuditReport struct {
	// Entries is how many entries were read.
	Entries int64 `json:"entries"`
	// HeadSeq and HeadHash are what the head record says: the newest
	// entry's Seq and Hash. Write the hash down now and then: it is what
	// lets a later verification tell that the whole chain was not rewritten.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// Broken is empty when the chain is intact; otherwise BrokenSeq is the
	// first entry found broken (for AuditHead, the head's Seq).
	Broken    AuditBreak `json:"broken,omitempty"`
	BrokenSeq int64      `json:"broken_seq,omitempty"`
}

// OK reports whether the chain is intact.
func (r *AuditReport) OK() bool { return r.Broken == "" }

// AuditStore keeps the audit trail.
type AuditStore interface {
	// Record appends e for an event that changes nothing else (a failed
	// login, an endpoint reset, an export of personal data), with the
	// actor and client taken from ctx (AuditActor) and the time from now;
	// Seq, Time, the actor's fields and the hashes of e are ignored.
	Record(ctx context.Context, e AuditEntry, now time.Time) error
	// AuditEntries returns the entries matching f, by Seq (descending
	// when f.Newest).
	AuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
	// VerifyAudit reads the whole chain and reports the first break.
	VerifyAudit(ctx context.Context) (*AuditReport, error)
}

// ZeroHash is the PrevHash of the first entry: 64 zeros.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// auditEncoding names the version of the encoding that Hash hashes.
const auditEncoding = "crier-audit-v1"

// ComputeHash returns the hash of e over PrevHash: the hex SHA-256 of
// "crier-audit-v1" followed by these fields, each as a netstring (its
// length in bytes in decimal, ':', the bytes, ','): PrevHash; Seq in
// decimal; Time in unix nanoseconds in decimal; Actor; Role; Token in
// decimal; Client; Action; Subject; Towns joined by ','; and Detail as one
// netstring holding, for each key in byte order, the netstrings of the key
// and its value. Strings are UTF-8 as stored.
func (e *AuditEntry) ComputeHash() string {
	var b strings.Builder
	b.WriteString(auditEncoding)
	for _, f := range []string{e.PrevHash, strconv.FormatInt(e.Seq, 10),
		strconv.FormatInt(e.Time.UnixNano(), 10), e.Actor, string(e.Role), strconv.FormatInt(e.Token, 10),
		e.Client, e.Action, e.Subject, strings.Join(e.Towns, ",")} {
		netstring(&b, f)
	}
	var d strings.Builder
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		netstring(&d, k)
		netstring(&d, e.Detail[k])
	}
	netstring(&b, d.String())
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func netstring(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
	b.WriteByte(',')
}

// clientKey is the context key of the client's address.
type clientKey struct{}

// WithClientAddress returns ctx carrying the address of the client a
// request came from, for the audit trail.
func WithClientAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientAddressFrom returns the client's address ctx carries, or "".
func ClientAddressFrom(ctx context.Context) string {
	a, _ := ctx.Value(clientKey{}).(string)
	return a
}

// actorKey is the context key of an actor without a principal.
type actorKey struct{}

// WithActor returns ctx acting for actor, one of the actors without a
// principal (AuditShell, "shell:alice", AuditPublic): a principal in ctx
// still comes first.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// AuditActor fills e's Actor, Role, Token and Client from ctx: the
// principal when there is one; otherwise the actor of WithActor;
// otherwise AuditPublic for a request from a client, and AuditSystem for
// the rest.
func AuditActor(ctx context.Context, e *AuditEntry) {
	e.Client = ClientAddressFrom(ctx)
	if p := PrincipalFrom(ctx); p != nil {
		e.Actor, e.Role, e.Token = p.Name, p.Role, p.Token
		return
	}
	e.Role, e.Token = "", 0
	switch a, _ := ctx.Value(actorKey{}).(string); {
	case a != "":
		e.Actor = a
	case e.Client != "":
		e.Actor = AuditPublic
	default:
		e.Actor = AuditSystem
	}
}
