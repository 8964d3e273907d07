package crier

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Availability is how well a town's service can be used.
type Availability string

// Availabilities. The empty Availability says nothing about it.
const (
	ServiceUp      Availability = "up"      // working as usual
	ServiceLimited Availability = "limited" // working with restrictions
	ServiceDown    Availability = "down"    // not working, closed
)

// Valid reports whether a is empty or one of the known availabilities.
func (a Availability) Valid() bool {
	switch a {
	case "", ServiceUp, ServiceLimited, ServiceDown:
		return true
	}
	return false
}

// ServiceStatus is one line of a town's service status list, e.g.
// "Bürgerbüro: geschlossen" or "Telefon: erreichbar unter 02921 103-0".
// The emergency website shows the list on the town's page.
type ServiceStatus struct {
	// Service names the service: "Bürgerbüro", "Telefon", "Kfz-Zulassung".
	Service string `json:"service"`
	// Availability is optional; it adds a word ("nicht verfügbar") and a
	// marker to the line.
	Availability Availability `json:"availability,omitempty"`
	// Text says what holds: "geschlossen", "erreichbar unter 02921 103-0".
	Text string `json:"text"`
	// Updated is when the line was last changed; zero when unknown.
	Updated time.Time `json:"updated,omitzero"`
}

// Limits of a service status list set through the API or the CLI.
const (
	MaxServiceStatusLines = 20  // lines per town
	MaxServiceRunes       = 80  // characters of a service name
	MaxServiceTextRunes   = 300 // characters of a line's text
)

// CheckServiceStatus returns every problem of a status list as set through
// the API: at most MaxServiceStatusLines lines; each with a service name
// and a text, both a single line without control characters and at most
// MaxServiceRunes and MaxServiceTextRunes characters; an availability that
// is empty, up, limited or down; and no service named twice. Fields are
// named "status[i].service" and so on.
func CheckServiceStatus(lines []ServiceStatus) []Problem {
	var ps []Problem
	if len(lines) > MaxServiceStatusLines {
		ps = append(ps, Problemf("status", "status.too_many", "has %v lines, at most %v", len(lines), MaxServiceStatusLines))
	}
	seen := map[string]int{}
	for i, l := range lines {
		field := fmt.Sprintf("status[%d].", i)
		if p, bad := checkStatusText(field+"service", l.Service, MaxServiceRunes); bad {
			ps = append(ps, p)
		} else if first, dup := seen[l.Service]; dup {
			ps = append(ps, Problemf(field+"service", "status.repeats", "%q repeats status[%v]", l.Service, first))
		} else {
			seen[l.Service] = i
		}
		if !l.Availability.Valid() {
			ps = append(ps, Problemf(field+"availability", "status.availability", "%q is not up, limited or down", l.Availability))
		}
		if p, bad := checkStatusText(field+"text", l.Text, MaxServiceTextRunes); bad {
			ps = append(ps, p)
		}
	}
	return ps
}

// checkStatusText returns what is wrong with a service name or text at
// field, and whether anything is.
func checkStatusText(field, s string, limit int) (Problem, bool) {
	switch {
	case strings.TrimSpace(s) == "":
		return Problemf(field, "required", "is required"), true
	case !utf8.ValidString(s):
		return Problemf(field, "utf8", "is not valid UTF-8"), true
	case strings.ContainsFunc(s, unicode.IsControl):
		return Problemf(field, "control_characters", "must be a single line without control characters"), true
	case strings.TrimSpace(s) != s:
		return Problemf(field, "spaces", "must not start or end with spaces"), true
	case utf8.RuneCountInString(s) > limit:
		return Problemf(field, "too_long_short", "is %v characters, at most %v", utf8.RuneCountInString(s), limit), true
	}
	return Problem{}, false
}

// ServiceStatusStore keeps the service status lists that people set
// through the API. A town without a stored list shows the list of its
// configuration.
type ServiceStatusStore interface {
	// ServiceStatus returns the town's stored list in display order, or
	// none when no list is stored for it.
	ServiceStatus(ctx context.Context, town string) ([]ServiceStatus, error)
	// SetServiceStatus replaces the town's whole list in one transaction;
	// an empty list removes it. A line whose service, availability and
	// text are unchanged keeps its Updated time; every other line is
	// updated at now. An invalid list (CheckServiceStatus) changes
	// nothing.
	SetServiceStatus(ctx context.Context, town string, lines []ServiceStatus, now time.Time) error
}
