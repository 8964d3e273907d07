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
		ps = append(ps, Problem{Field: "status",
			Message: fmt.Sprintf("has %d lines, at most %d", len(lines), MaxServiceStatusLines)})
	}
	seen := map[string]int{}
	for i, l := range lines {
		field := fmt.Sprintf("status[%d].", i)
		if p := checkStatusText(l.Service, MaxServiceRunes); p != "" {
			ps = append(ps, Problem{Field: field + "service", Message: p})
		} else if first, dup := seen[l.Service]; dup {
			ps = append(ps, Problem{Field: field + "service",
				Message: fmt.Sprintf("%q repeats status[%d]", l.Service, first)})
		} else {
			seen[l.Service] = i
		}
		if !l.Availability.Valid() {
			ps = append(ps, Problem{Field: field + "availability",
				Message: fmt.Sprintf("%q is not up, limited or down", l.Availability)})
		}
		if p := checkStatusText(l.Text, MaxServiceTextRunes); p != "" {
			ps = append(ps, Problem{Field: field + "text", Message: p})
		}
	}
	return ps
}

// checkStatusText explains what is wrong with a service name or text, or
// returns "".
func checkStatusText(s string, limit int) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "is required"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must be a single line without control characters"
	case strings.TrimSpace(s) != s:
		return "must not start or end with spaces"
	case utf8.RuneCountInString(s) > limit:
		return fmt.Sprintf("is %d characters, at most %d", utf8.RuneCountInString(s), limit)
	}
	return ""
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
