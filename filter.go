package crier

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// AnnouncementFilter selects announcements for a list, newest first (by
// the time of their latest revision, then by id). Empty fields match
// everything.
type AnnouncementFilter struct {
	// Scope, when not nil, keeps the announcements whose latest revision
	// targets one of these names: town ids, groups or "all", as
	// Directory.Targeting gives them for the towns a person may read. An
	// empty, non-nil Scope keeps none.
	Scope []string
	// Town, when not nil, keeps those that target one of these names too,
	// as Scope: the Targeting of the one town asked for.
	Town []string
	// State keeps those in one of AnnouncementStates at Now.
	State string
	Now   time.Time
	Mode  Mode
	// Before keeps those older than the cursor, After those newer; the
	// page is still newest first, and After pages are the ones next to the
	// cursor.
	Before, After Cursor
	// Limit is the page size; 0 means a default page.
	Limit int
}

// What became of an announcement, as AnnouncementFilter.State selects it:
// its latest revision's event, or expired once it is past its expiry (a
// canceled one stays canceled).
const (
	AnnouncementPublished = "published"
	AnnouncementUpdated   = "updated"
	AnnouncementCanceled  = "canceled"
	AnnouncementExpired   = "expired"
)

// AnnouncementStates lists the states of AnnouncementFilter.State.
var AnnouncementStates = []string{AnnouncementPublished, AnnouncementUpdated, AnnouncementCanceled, AnnouncementExpired}

// AnnouncementState returns what became of a at now: one of
// AnnouncementStates.
func AnnouncementState(a *Announcement, now time.Time) string {
	switch {
	case a.Event == EventCanceled:
		return AnnouncementCanceled
	case !a.Expires.IsZero() && !now.Before(a.Expires):
		return AnnouncementExpired
	case a.Event == EventUpdated:
		return AnnouncementUpdated
	}
	return AnnouncementPublished
}

// Cursor is a position in a list of announcements: the creation time of
// an announcement's latest revision and its id. Its text form is opaque to
// clients.
type Cursor struct {
	At time.Time
	ID string
}

// CursorOf returns the position of a in a list.
func CursorOf(a *Announcement) Cursor { return Cursor{At: a.CreatedAt, ID: a.ID} }

// IsZero reports whether c is no position.
func (c Cursor) IsZero() bool { return c.ID == "" }

// String returns c's text form, "" for the zero cursor.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.At.UnixNano(), 36) + "." + c.ID
}

// ParseCursor reads a cursor that String wrote; "" is the zero cursor.
// Anything else is an invalid error.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	at, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(at, 36, 64)
	if !ok || err != nil || id == "" || len(s) > 300 {
		return Cursor{}, Errorf(EINVALID, "%q is not a cursor of this list", s)
	}
	return Cursor{At: time.Unix(0, n).UTC(), ID: id}, nil
}

// CaptureFilter selects captures; empty fields match everything.
type CaptureFilter struct {
	Announcement string
	// Towns, when not nil, keeps the captures of these towns; an empty,
	// non-nil Towns keeps none.
	Towns []string
	// Personal, when false, leaves out the captures sent to one recipient
	// (an email): they hold the address and its own unsubscribe link.
	// Only an admin reads those, as the subscriber lists.
	Personal bool
	// Newest lists the newest first, so that the limit keeps the latest;
	// otherwise the oldest come first.
	Newest bool
	// Before, when not 0, keeps the captures with a smaller ID: the next
	// page of a list newest first.
	Before int64
	// Limit is the page size; 0 means a default page.
	Limit int
}

// Match reports whether f selects c, apart from the order and the limit:
// for stores that filter in memory.
func (f CaptureFilter) Match(c *Capture) bool {
	return (f.Announcement == "" || c.Announcement == f.Announcement) &&
		(f.Personal || c.Recipient == "") &&
		(f.Towns == nil || slices.Contains(f.Towns, c.Town)) &&
		(f.Before == 0 || c.ID < f.Before)
}
