package site

import (
	"context"
	"slices"
	"time"

	"github.com/crierhq/crier"
)

// Source is what the site reads. Every method may be called concurrently.
// A method that fails for another reason than a missing object makes the
// page answer 500; the site never caches such a failure.
type Source interface {
	// Towns returns the towns the site shows, in display order.
	Towns(ctx context.Context) ([]*crier.Town, error)
	// Notices returns up to limit announcements that concern the town, each
	// with every revision as published for that town. The order does not
	// matter: the site sorts by the latest revision's time, newest first.
	// A town without announcements has none; an unknown town may answer
	// none or a not_found error.
	Notices(ctx context.Context, town string, limit int) ([]*Notice, error)
	// Notice returns the announcement id with every revision as published
	// for the town, or a crier.ENOTFOUND error when there is no such
	// announcement or it does not concern the town.
	Notice(ctx context.Context, town, id string) (*Notice, error)
	// Status returns the town's service status list in display order; an
	// empty list shows no status section.
	Status(ctx context.Context, town string) ([]ServiceStatus, error)
}

// Notice is one announcement as published for one town.
type Notice struct {
	// Town is the town's id.
	Town string
	// Revisions holds every revision, oldest first: revision 1 is the
	// publication, later ones are updates and at most one cancel, which is
	// the last.
	Revisions []*Revision
}

// Revision is one revision of an announcement with its text for one town.
type Revision struct {
	// Announcement is the revision as stored: Revision, Event, Reason,
	// Title, the CAP fields, Mode, Expires and CreatedAt are used; the
	// unrendered Body is not.
	Announcement *crier.Announcement
	// Body is the revision's text as rendered for the town.
	Body Body
}

// Body is an announcement's text as rendered for one town: the body
// template executed over the town's variables and its Markdown converted,
// as the templates package does for every message (for a cancel: its
// reason). The site does not trust HTML: it keeps only a small set of
// text elements, links to http, https, mailto and tel, and no attributes
// else; see sanitize. Either form may be empty: the site derives the
// missing one from the other.
type Body struct {
	HTML string
	Text string
}

// Availability is how well a town's service can be used; see
// crier.Availability.
type Availability = crier.Availability

// Availabilities, shown as a word next to the service so that nothing
// depends on colour.
const (
	Available   = crier.ServiceUp      // working as usual
	Limited     = crier.ServiceLimited // working with restrictions
	Unavailable = crier.ServiceDown    // not working, closed
)

// ServiceStatus is one line of a town's status list, e.g. "Bürgerbüro:
// geschlossen" or "Telefon: erreichbar unter 02921 103-0"; see
// crier.ServiceStatus.
type ServiceStatus = crier.ServiceStatus

// ID returns the announcement's id, "" for a notice without revisions.
func (n *Notice) ID() string {
	if r := n.Latest(); r != nil {
		return r.Announcement.ID
	}
	return ""
}

// Latest returns the newest revision, or nil.
func (n *Notice) Latest() *Revision {
	if len(n.Revisions) == 0 {
		return nil
	}
	return n.Revisions[len(n.Revisions)-1]
}

// First returns the first revision, or nil.
func (n *Notice) First() *Revision {
	if len(n.Revisions) == 0 {
		return nil
	}
	return n.Revisions[0]
}

// Canceled reports whether the latest revision withdraws the announcement.
func (n *Notice) Canceled() bool {
	l := n.Latest()
	return l != nil && l.Announcement.Event == crier.EventCanceled
}

// Expired reports whether the latest revision has expired at now.
func (n *Notice) Expired(now time.Time) bool {
	l := n.Latest()
	return l != nil && !l.Announcement.Expires.IsZero() && !l.Announcement.Expires.After(now)
}

// Current reports whether the notice still holds at now: neither canceled
// nor expired.
func (n *Notice) Current(now time.Time) bool {
	return len(n.Revisions) > 0 && !n.Canceled() && !n.Expired(now)
}

// valid reports whether n has revisions, each with its announcement.
func (n *Notice) valid() bool {
	return n != nil && len(n.Revisions) > 0 &&
		!slices.ContainsFunc(n.Revisions, func(r *Revision) bool { return r == nil || r.Announcement == nil })
}

// modified returns when the notice last changed as seen at now: its latest
// revision, or its expiry when that has passed since.
func (n *Notice) modified(now time.Time) time.Time {
	l := n.Latest()
	if l == nil {
		return time.Time{}
	}
	t := l.Announcement.CreatedAt
	if e := l.Announcement.Expires; !e.IsZero() && !e.After(now) && e.After(t) {
		t = e
	}
	return t
}
