package locale

import (
	"fmt"
	"time"
)

var (
	monthsDE = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
		"August", "September", "Oktober", "November", "Dezember"}
	weekdaysDE = [...]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
)

// Date formats the calendar day of t in t's location for people:
// "Mittwoch, 25. November 2026" or "Wednesday, 25 November 2026".
func Date(lang string, t time.Time) string {
	if Match(lang) == "en" {
		return t.Format("Monday, 2 January 2006")
	}
	return fmt.Sprintf("%s, %d. %s %d", weekdaysDE[t.Weekday()], t.Day(), monthsDE[t.Month()-1], t.Year())
}

// DateTime formats t in t's location for people:
// "Mittwoch, 25. November 2026, 18:00 Uhr" or "Wednesday, 25 November 2026, 18:00".
func DateTime(lang string, t time.Time) string {
	if Match(lang) == "en" {
		return Date(lang, t) + t.Format(", 15:04")
	}
	return Date(lang, t) + t.Format(", 15:04 Uhr")
}
