package crier

import (
	"slices"
	"strings"
	"time"
)

// Mode says whether an announcement is real. Anything but ModeActual is
// delivered to the capture sink instead of the channel's real transport.
type Mode string

// Modes, named as in CAP 1.2 status (Actual, Exercise, Test).
const (
	ModeActual   Mode = "actual"
	ModeExercise Mode = "exercise"
	ModeTest     Mode = "test"
)

// Valid reports whether m is one of the known modes.
func (m Mode) Valid() bool { return m == ModeActual || m == ModeExercise || m == ModeTest }

// CAP 1.2 vocabularies for an announcement's classification.
var (
	Categories    = []string{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	Urgencies     = []string{"Immediate", "Expected", "Future", "Past", "Unknown"}
	Severities    = []string{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	Certainties   = []string{"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
	defaultCAPSet = [4]string{"Infra", "Expected", "Minor", "Observed"}
)

// Announcement is authored once and rendered for every town it targets.
// Corrections and cancellations are later revisions of the same ID.
type Announcement struct {
	ID       string `json:"id"`
	Revision int    `json:"revision"`
	Title    string `json:"title"`
	// Body is Markdown and itself a template over the town's variables.
	Body string `json:"body"`
	// Towns lists town ids, group names, or "all".
	Towns []string `json:"towns"`
	// Channels optionally restricts delivery to these channel ids; empty
	// means every channel of every targeted town.
	Channels []string `json:"channels,omitempty"`

	Category  string `json:"category"`
	Urgency   string `json:"urgency"`
	Severity  string `json:"severity"`
	Certainty string `json:"certainty"`

	// SpoilerText is a content warning shown before a social post (Mastodon
	// spoiler_text); Sensitive marks the post's media sensitive.
	SpoilerText string `json:"spoiler_text,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`

	Mode Mode `json:"mode"`
	// Event says what this revision does: EventPublished for the first,
	// EventUpdated for a correction, EventCanceled for a withdrawal.
	Event string `json:"event,omitempty"`
	// Reason explains a cancellation or an update to the people it reaches.
	Reason string `json:"reason,omitempty"`
	// Expires is when the notice becomes stale; deliveries not sent by then
	// are expired, never sent late. Zero means it does not expire.
	Expires   time.Time `json:"expires,omitzero"`
	CreatedAt time.Time `json:"created_at,omitzero"`

	// Author is who wrote this revision: a user's name, "admin" for the
	// admin token, AuthorSystem for the scheduler. The engine sets it from
	// the request's Principal; what a request says is not believed.
	Author string `json:"author,omitempty"`
	// Approver is who approved this revision; empty when nobody did.
	Approver string `json:"approver,omitempty"`
	// Approval says how the revision passed four-eyes approval: Approved,
	// EmergencyPublish, or empty when its towns required none.
	Approval string `json:"approval,omitempty"`
}

// SetDefaults fills the CAP classification and the mode where they are empty.
// Outage notices are information, not official warnings: Infra, Expected,
// Minor, Observed.
func (a *Announcement) SetDefaults(mode Mode) {
	fill := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	fill(&a.Category, defaultCAPSet[0])
	fill(&a.Urgency, defaultCAPSet[1])
	fill(&a.Severity, defaultCAPSet[2])
	fill(&a.Certainty, defaultCAPSet[3])
	if a.Mode == "" {
		a.Mode = mode
	}
	if a.Revision == 0 {
		a.Revision = 1
	}
	if a.Event == "" {
		a.Event = EventPublished
	}
}

// SameContent reports whether a and b say the same thing to the same
// readers: title, body, towns, channels, classification, content warning,
// reason, expiry and mode, with defaults filled in alike (a mode left out
// takes the other's). Ids, revisions and times of creation do not count.
func SameContent(a, b *Announcement) bool {
	x, y := *a, *b
	x.SetDefaults(b.Mode)
	y.SetDefaults(x.Mode)
	return x.Title == y.Title && x.Body == y.Body && slices.Equal(x.Towns, y.Towns) &&
		slices.Equal(x.Channels, y.Channels) && x.Category == y.Category && x.Urgency == y.Urgency &&
		x.Severity == y.Severity && x.Certainty == y.Certainty && x.SpoilerText == y.SpoilerText &&
		x.Sensitive == y.Sensitive && x.Reason == y.Reason && x.Expires.Equal(y.Expires) && x.Mode == y.Mode
}

// Validate checks the announcement's own fields against now and returns
// every problem. It does not resolve towns or render templates.
func (a *Announcement) Validate(now time.Time) []Problem {
	var ps []Problem
	switch {
	case strings.TrimSpace(a.Title) == "":
		ps = append(ps, Problemf("title", "empty", "must not be empty"))
	case strings.ContainsAny(a.Title, "\r\n"):
		ps = append(ps, Problemf("title", "single_line", "must be a single line (contains a line break)"))
	case len([]rune(a.Title)) > 200:
		ps = append(ps, Problemf("title", "too_long", "is %v characters long, at most %v are allowed", len([]rune(a.Title)), 200))
	}
	if strings.ContainsAny(a.SpoilerText, "\r\n") {
		ps = append(ps, Problemf("spoiler_text", "single_line", "must be a single line (contains a line break)"))
	} else if n := len([]rune(a.SpoilerText)); n > 200 {
		ps = append(ps, Problemf("spoiler_text", "too_long", "is %v characters long, at most %v are allowed", n, 200))
	}
	if strings.TrimSpace(a.Body) == "" && a.Event != EventCanceled {
		ps = append(ps, Problemf("body", "empty", "must not be empty"))
	}
	switch a.Event {
	case EventPublished, EventUpdated, EventCanceled, "":
	default:
		ps = append(ps, Problemf("event", "not_one_of", "%q is not one of %v", a.Event, strings.Join([]string{EventPublished, EventUpdated, EventCanceled}, ", ")))
	}
	if n := len([]rune(a.Reason)); n > 1000 {
		ps = append(ps, Problemf("reason", "too_long", "is %v characters long, at most %v are allowed", n, 1000))
	}
	if len(a.Towns) == 0 {
		ps = append(ps, Problemf("towns", "towns.missing", "must name at least one town, group, or \"all\""))
	}
	check := func(field, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			ps = append(ps, Problemf(field, "not_one_of", "%q is not one of %v", v, strings.Join(allowed, ", ")))
		}
	}
	check("category", a.Category, Categories)
	check("urgency", a.Urgency, Urgencies)
	check("severity", a.Severity, Severities)
	check("certainty", a.Certainty, Certainties)
	if !a.Mode.Valid() {
		ps = append(ps, Problemf("mode", "not_one_of", "%q is not one of %v", a.Mode, "actual, exercise, test"))
	}
	if !a.Expires.IsZero() && !a.Expires.After(now) {
		ps = append(ps, Problemf("expires", "in_past", "%v is in the past", a.Expires.Format(time.RFC3339)))
	}
	return ps
}
