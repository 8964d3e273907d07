package schedule_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/robfig/cron/v3"

	"github.com/crierhq/crier"
)

// utc is an instant written in UTC, so that no time zone database is
// involved in what the test expects.
func utc(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

// fired steps the clock from 'from' to 'to', ticking the scheduler every
// minute from midnight to 09:00 local time, where the runs are, and every
// ten minutes otherwise (a run there would show as published or skipped),
// and returns the times each schedule published a run at, and the titles.
func (f *fixture) fired(from, to time.Time, ids ...string) (map[string][]time.Time, map[string]string) {
	f.t.Helper()
	for t := from; !t.After(to); {
		f.tick(t)
		if t.In(berlin).Hour() < 9 {
			t = t.Add(time.Minute)
		} else {
			t = t.Add(10 * time.Minute)
		}
	}
	times := map[string][]time.Time{}
	for _, id := range ids {
		times[id] = []time.Time{}
		for _, r := range f.runs(id) {
			if r.FireAt.Before(from) || r.FireAt.After(to) {
				continue
			}
			if r.State != crier.RunPublished {
				f.t.Errorf("run of %s at %v: %s (%s), want published", id, r.FireAt, r.State, r.Error)
			}
			times[id] = append(times[id], r.FireAt)
		}
	}
	titles := map[string]string{}
	for _, a := range f.announcements() {
		titles[a.ID] = a.Title
	}
	return times, titles
}

// TestDaylightSavingTime steps an injected clock minute by minute across
// both 2026 clock changes in Europe/Berlin and checks the exact instants at
// which a 02:30 and an 08:00 schedule publish.
//
// Spring forward, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST, so
// 02:30 does not exist that day. robfig/cron then fires nothing for 02:30
// on 29 March: the 02:30 schedule runs at 02:30 CET on 28 March and next at
// 02:30 CEST on 30 March. The 08:00 schedule runs at 08:00 CEST on 29 March,
// 06:00 UTC, an hour earlier in UTC than the day before.
//
// Fall back, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30
// happens twice. robfig/cron alone would fire at both (00:30 and 01:30 UTC);
// crier fires a schedule whose hour field names hours once per wall-clock
// time, at the first 02:30 (CEST). The 08:00 schedule runs at 08:00 CET,
// 07:00 UTC.
func TestDaylightSavingTime(t *testing.T) {
	f := newFixture(t, local(2026, 3, 27, 12, 0))
	night := f.create(&crier.Schedule{Spec: "CRON_TZ=Europe/Berlin 30 2 * * *", Announcement: notice()})
	morning := f.create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()}) // the default zone
	if morning.Spec != "CRON_TZ=Europe/Berlin 0 8 * * *" {
		t.Errorf("spec stored as %q; want the zone spelled out", morning.Spec)
	}

	times, titles := f.fired(local(2026, 3, 28, 0, 0), local(2026, 3, 30, 12, 0), night.ID, morning.ID)
	want := map[string][]time.Time{
		night.ID: {
			utc(2026, 3, 28, 1, 30), // 02:30 CET
			utc(2026, 3, 30, 0, 30), // 02:30 CEST; no run on 29 March
		},
		morning.ID: {
			utc(2026, 3, 28, 7, 0), // 08:00 CET
			utc(2026, 3, 29, 6, 0), // 08:00 CEST on the day of the change
			utc(2026, 3, 30, 6, 0), // 08:00 CEST
		},
	}
	if d := cmp.Diff(want, times); d != "" {
		t.Errorf("spring forward: runs (-want +got):\n%s", d)
	}
	if got := titles[morning.ID+"-202603290600"]; got != "IT-Ausfall: Stand 29.03.2026" {
		t.Errorf("title of the run on 29 March = %q", got)
	}

	// Fall back, with the same schedules.
	times, titles = f.fired(local(2026, 10, 24, 0, 0), local(2026, 10, 26, 12, 0), night.ID, morning.ID)
	want = map[string][]time.Time{
		night.ID: {
			utc(2026, 10, 24, 0, 30), // 02:30 CEST
			utc(2026, 10, 25, 0, 30), // the first 02:30, CEST; not again at 01:30 UTC (02:30 CET)
			utc(2026, 10, 26, 1, 30), // 02:30 CET
		},
		morning.ID: {
			utc(2026, 10, 24, 6, 0), // 08:00 CEST
			utc(2026, 10, 25, 7, 0), // 08:00 CET on the day of the change
			utc(2026, 10, 26, 7, 0), // 08:00 CET
		},
	}
	if d := cmp.Diff(want, times); d != "" {
		t.Errorf("fall back: runs (-want +got):\n%s", d)
	}
	if got := titles[night.ID+"-202610250030"]; got != "IT-Ausfall: Stand 25.10.2026" {
		t.Errorf("title of the run on 25 October = %q", got)
	}
	// Between the changes the scheduler slept through: those runs were
	// missed by more than the grace window and skipped, none published.
	if n := len(f.announcements()); n != 5+6 {
		t.Errorf("%d announcements, want 11: one per run above", n)
	}
}

// TestRobfigFallBack records what robfig/cron itself does on the day
// clocks go back, which is why crier filters the repeated hour.
func TestRobfigFallBack(t *testing.T) {
	s, err := cron.ParseStandard("CRON_TZ=Europe/Berlin 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	first := s.Next(utc(2026, 10, 24, 12, 0))
	second := s.Next(first)
	if !first.Equal(utc(2026, 10, 25, 0, 30)) || !second.Equal(utc(2026, 10, 25, 1, 30)) {
		t.Errorf("robfig/cron: 02:30 on 25 October at %v and %v; expected it to fire at both 02:30s (00:30 and 01:30 UTC)",
			first.UTC(), second.UTC())
	}
	if spring := s.Next(utc(2026, 3, 28, 12, 0)); !spring.Equal(utc(2026, 3, 30, 0, 30)) {
		t.Errorf("robfig/cron: the 02:30 after 28 March noon is %v; expected 30 March, none on 29 March", spring.UTC())
	}
}

// TestHourlyAcrossFallBack: a schedule with * in the hour field fires by
// the passing hours, so in both passes of the hour that repeats on
// 25 October: every real hour, none twice and none left out.
func TestHourlyAcrossFallBack(t *testing.T) {
	f := newFixture(t, local(2026, 10, 24, 12, 0))
	hourly := f.create(&crier.Schedule{Spec: "30 * * * *", Announcement: notice()})
	times, _ := f.fired(local(2026, 10, 25, 1, 0), utc(2026, 10, 25, 2, 45), hourly.ID)
	want := []time.Time{
		utc(2026, 10, 24, 23, 30), // 01:30 CEST
		utc(2026, 10, 25, 0, 30),  // 02:30 CEST
		utc(2026, 10, 25, 1, 30),  // 02:30 CET, the repeated hour
		utc(2026, 10, 25, 2, 30),  // 03:30 CET
	}
	if d := cmp.Diff(want, times[hourly.ID]); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
}
