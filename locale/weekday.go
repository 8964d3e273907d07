package locale

import "time"

// Weekday returns the name of t's weekday in t's location: "Donnerstag"
// or "Thursday".
func Weekday(lang string, t time.Time) string {
	if Match(lang) == "en" {
		return t.Weekday().String()
	}
	return weekdaysDE[t.Weekday()]
}
