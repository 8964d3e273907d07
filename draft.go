package crier

import (
	"context"
	"time"
)

// Bounds of a person's drafts: what one may hold and how many one may
// keep, so that the drafts table cannot grow without end.
const (
	MaxDraftSize = 64 << 10
	MaxDrafts    = 50
)

// Draft is a compose form a person saved to finish later. Only its owner
// sees it.
type Draft struct {
	ID   int64
	User string
	// Title is the form's title, to tell the drafts apart in a list.
	Title string
	// Form holds the form's fields, URL-encoded; at most MaxDraftSize bytes.
	Form      string
	UpdatedAt time.Time
}

// DraftStore keeps the newsroom's drafts.
type DraftStore interface {
	// SaveDraft stores d as a new draft of d.User when d.ID is 0 and sets
	// d.ID, or replaces d.User's draft d.ID. not_found when the user has
	// no draft d.ID; conflict when they have MaxDrafts already; invalid
	// when d.Form is larger than MaxDraftSize.
	SaveDraft(ctx context.Context, d *Draft) error
	// Drafts returns user's drafts, the latest first, without their forms.
	Drafts(ctx context.Context, user string) ([]*Draft, error)
	// Draft returns user's draft id; not_found when user has none of that
	// id, whoever else may have.
	Draft(ctx context.Context, user string, id int64) (*Draft, error)
	// DeleteDraft deletes user's draft id; not_found as Draft.
	DeleteDraft(ctx context.Context, user string, id int64) error
}
