package crier

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Principal is who a request acts for: a user, through one of their API
// tokens, or the operator, through the admin token.
type Principal struct {
	// Name is the user's name; "admin" for the admin token.
	Name string
	Role Role
	// Towns are the towns the role applies to.
	Towns []string
	// Token is the ID of the user's API token; 0 for the admin token.
	Token int64
	// Actual is the user's right to publish real notices (User.Actual).
	Actual bool
}

// AdminPrincipal is the operator holding the admin token.
var AdminPrincipal = &Principal{Name: "admin", Role: RoleAdmin}

// Action is what a request wants to do; every API route declares one.
type Action string

// Actions. Each role's column of Authorize says which it may do.
const (
	// ActionRead reads the status and the deliveries of announcements,
	// and the towns, channels and service status lists.
	ActionRead Action = "read"
	// ActionCompose drafts an announcement (the newsroom's editor).
	ActionCompose Action = "compose"
	// ActionPreview renders an announcement without publishing it.
	ActionPreview Action = "preview"
	// ActionPublish publishes a new announcement.
	ActionPublish Action = "publish"
	// ActionUpdate publishes a correction of an announcement.
	ActionUpdate Action = "update"
	// ActionCancel withdraws an announcement.
	ActionCancel Action = "cancel"
	// ActionSchedule publishes later, once or by a cron spec.
	ActionSchedule Action = "schedule"
	// ActionRetry queues failed or unknown deliveries again.
	ActionRetry Action = "retry"
	// ActionServiceStatus changes a town's service status list.
	ActionServiceStatus Action = "service_status"
	// ActionApprove approves an announcement waiting for approval.
	ActionApprove Action = "approve"
	// ActionReject rejects an announcement waiting for approval.
	ActionReject Action = "reject"
	// ActionAdmin is everything only an admin does: subscriber lists and
	// data protection requests, endpoints, accounts, and the lists not yet
	// filtered by town.
	ActionAdmin Action = "admin"
)

// Actions lists every action.
var Actions = []Action{ActionRead, ActionCompose, ActionPreview, ActionPublish, ActionUpdate, ActionCancel,
	ActionSchedule, ActionRetry, ActionServiceStatus, ActionApprove, ActionReject, ActionAdmin}

// grants says what each role but admin may do, in its towns.
var grants = map[Role][]Action{
	RoleEditor: {ActionRead, ActionCompose, ActionPreview, ActionPublish, ActionUpdate, ActionCancel,
		ActionSchedule, ActionRetry, ActionServiceStatus},
	RoleApprover: {ActionRead, ActionApprove, ActionReject},
	RoleViewer:   {ActionRead},
}

// Authorize returns nil when p may do action in every one of towns, which
// must be town IDs with groups and "all" expanded (Directory.Resolve): a
// notice for several towns needs rights in each. An admin may do
// everything; the other roles may do their actions in their own towns.
// It returns an unauthorized error when p is nil, and a forbidden error
// naming the role or the towns that lack the right otherwise.
func Authorize(p *Principal, action Action, towns []string) error {
	if p == nil {
		return Errorf(EUNAUTHORIZED, "not signed in")
	}
	if p.Role == RoleAdmin {
		return nil
	}
	if !slices.Contains(grants[p.Role], action) {
		return Errorf(EFORBIDDEN, "%s (role %s) may not %s", p.Name, p.Role, action)
	}
	var lacking []string
	for _, t := range towns {
		if !slices.Contains(p.Towns, t) && !slices.Contains(lacking, t) {
			lacking = append(lacking, t)
		}
	}
	if len(lacking) > 0 {
		return Errorf(EFORBIDDEN, "%s (role %s) may not %s for %s", p.Name, p.Role, action, strings.Join(lacking, ", "))
	}
	return nil
}

// AuthorizeMode returns nil when p may publish in mode, the mode an
// announcement will have once defaults are filled in: real notices (mode
// actual) need an admin or a user allowed to publish them (User.Actual);
// exercise and test notices anyone with the action's right may publish.
// A nil principal is crier itself (the scheduler running what a person
// scheduled, a command on the server) and may. It returns a forbidden
// error otherwise. The API, the newsroom and the scheduler all check
// through it: the engine when it publishes, the scheduler when it stores.
func AuthorizeMode(p *Principal, mode Mode) error {
	if p == nil || mode != ModeActual || p.Role == RoleAdmin || p.Actual {
		return nil
	}
	return Errorf(EFORBIDDEN, "%s may publish exercises only, not real notices (mode actual); an admin can allow it "+
		"with crier users set %s --actual=true", p.Name, p.Name)
}

// String names the principal for logs: the user, or "admin".
func (p *Principal) String() string {
	if p == nil {
		return "nobody"
	}
	return fmt.Sprintf("%s (%s)", p.Name, p.Role)
}

// principalKey is the context key of the crier.Principal a request or a
// job acts for.
type principalKey struct{}

// NewContext returns ctx carrying p: who the work done with it acts for.
// The stores record it in the audit trail with every change.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns who ctx acts for, or nil when nobody signed in:
// the scheduler, the workers, a command run on the server itself.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
