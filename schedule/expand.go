package schedule

import (
	"slices"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Expand returns a copy of a whose Title and Body have {{date}}, {{time}}
// and {{weekday}} replaced by t in t's location, in German: "26.11.2026",
// "08:00", "Donnerstag". Only these exact tokens are replaced; the rest of
// the body stays a template for the renderer.
func Expand(a *crier.Announcement, t time.Time) *crier.Announcement {
	r := strings.NewReplacer(
		"{{date}}", t.Format("02.01.2006"),
		"{{time}}", t.Format("15:04"),
		"{{weekday}}", locale.Weekday("de", t),
	)
	out := *a
	out.Title, out.Body = r.Replace(a.Title), r.Replace(a.Body)
	out.Towns, out.Channels = slices.Clone(a.Towns), slices.Clone(a.Channels)
	return &out
}

// Announcement returns the announcement the run of sc at fireAt publishes:
// the schedule's template with the tokens expanded in the schedule's zone,
// the run's id (RunID), and, when sc has ExpiresAfter, expiring that long
// after fireAt.
func Announcement(sc *crier.Schedule, fireAt time.Time) *crier.Announcement {
	loc, err := sc.Location()
	if err != nil {
		// Validate reports the zone; render the rest in the default one.
		loc, _ = time.LoadLocation(crier.DefaultScheduleZone)
	}
	a := Expand(sc.Announcement, fireAt.In(loc))
	a.ID, a.Revision, a.CreatedAt = RunID(sc, fireAt), 1, time.Time{}
	if sc.ExpiresAfter > 0 {
		a.Expires = fireAt.Add(time.Duration(sc.ExpiresAfter))
	}
	return a
}
