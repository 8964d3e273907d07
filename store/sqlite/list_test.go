package sqlite_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
)

// publishFor commits revision rev of announcement id for targets, with
// one webhook message per town, at t.
func publishFor(tb testing.TB, db interface {
	CreateAnnouncement(context.Context, *crier.Plan, string, time.Time) (*crier.PublishResult, error)
}, id string, rev int, event string, mode crier.Mode, expires time.Time, t time.Time, targets []string, towns ...string) {
	tb.Helper()
	a := &crier.Announcement{ID: id, Revision: rev, Title: id, Body: "x", Towns: targets, Mode: mode,
		Event: event, Expires: expires}
	p := &crier.Plan{Announcement: a}
	for _, town := range towns {
		p.Messages = append(p.Messages, &crier.Message{Town: town, Channel: "radio-" + town, Type: "webhook", Text: "x"})
	}
	if _, err := db.CreateAnnouncement(context.Background(), p, "", t); err != nil {
		tb.Fatal(err)
	}
}

func announcementIDs(as []*crier.Announcement) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// TestFindAnnouncements: the store filters by the targets a person's towns
// are reached by, by town, mode and state, and pages with cursors both
// ways without repeats or gaps.
func TestFindAnnouncements(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	pub, upd, canc := crier.EventPublished, crier.EventUpdated, crier.EventCanceled
	publishFor(t, db, "a-soest", 1, pub, crier.ModeActual, time.Time{}, t0, []string{"soest"}, "soest")
	publishFor(t, db, "b-werl", 1, pub, crier.ModeActual, time.Time{}, t0.Add(1*time.Minute), []string{"werl"}, "werl")
	publishFor(t, db, "c-both", 1, pub, crier.ModeExercise, time.Time{}, t0.Add(2*time.Minute), []string{"soest", "werl"}, "soest", "werl")
	publishFor(t, db, "d-kreis", 1, pub, crier.ModeActual, t0.Add(time.Hour), t0.Add(3*time.Minute), []string{"kreis-soest"}, "soest", "werl")
	publishFor(t, db, "e-all", 1, pub, crier.ModeActual, time.Time{}, t0.Add(4*time.Minute), []string{"all"}, "soest", "werl")
	publishFor(t, db, "f-werl", 1, pub, crier.ModeActual, time.Time{}, t0.Add(5*time.Minute), []string{"werl"}, "werl")
	// A revision moves b to the top; a cancel of f, too.
	publishFor(t, db, "b-werl", 2, upd, crier.ModeActual, time.Time{}, t0.Add(6*time.Minute), []string{"werl"}, "werl")
	publishFor(t, db, "f-werl", 2, canc, crier.ModeActual, time.Time{}, t0.Add(7*time.Minute), []string{"werl"}, "werl")
	// Two at the same moment are ordered by id.
	publishFor(t, db, "g-werl", 1, pub, crier.ModeActual, time.Time{}, t0.Add(7*time.Minute), []string{"werl"}, "werl")

	soest := []string{"all", "soest", "kreis-soest"}
	now := t0.Add(2 * time.Hour)
	for _, tc := range []struct {
		name string
		f    crier.AnnouncementFilter
		want []string
	}{
		{"all", crier.AnnouncementFilter{}, []string{"g-werl", "f-werl", "b-werl", "e-all", "d-kreis", "c-both", "a-soest"}},
		{"soest's", crier.AnnouncementFilter{Scope: soest}, []string{"e-all", "d-kreis", "c-both", "a-soest"}},
		{"nobody's", crier.AnnouncementFilter{Scope: []string{}}, []string{}},
		{"soest's werl", crier.AnnouncementFilter{Scope: soest, Town: []string{"all", "werl", "kreis-soest"}}, []string{"e-all", "d-kreis", "c-both"}},
		{"werl only by name", crier.AnnouncementFilter{Town: []string{"werl"}}, []string{"g-werl", "f-werl", "b-werl", "c-both"}},
		{"exercise", crier.AnnouncementFilter{Mode: crier.ModeExercise}, []string{"c-both"}},
		{"canceled", crier.AnnouncementFilter{State: crier.AnnouncementCanceled, Now: now}, []string{"f-werl"}},
		{"updated", crier.AnnouncementFilter{State: crier.AnnouncementUpdated, Now: now}, []string{"b-werl"}},
		{"expired", crier.AnnouncementFilter{State: crier.AnnouncementExpired, Now: now}, []string{"d-kreis"}},
		{"published", crier.AnnouncementFilter{State: crier.AnnouncementPublished, Now: now}, []string{"g-werl", "e-all", "c-both", "a-soest"}},
		{"published before expiry", crier.AnnouncementFilter{Scope: soest, State: crier.AnnouncementPublished, Now: t0}, []string{"e-all", "d-kreis", "c-both", "a-soest"}},
		{"limit", crier.AnnouncementFilter{Scope: soest, Limit: 2}, []string{"e-all", "d-kreis"}},
	} {
		as, err := db.FindAnnouncements(ctx, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, announcementIDs(as)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}

	// Paging older and then newer again visits every one once.
	var (
		seen   []string
		before crier.Cursor
	)
	for range 10 {
		as, err := db.FindAnnouncements(ctx, crier.AnnouncementFilter{Before: before, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) == 0 {
			break
		}
		seen = append(seen, announcementIDs(as)...)
		before = crier.CursorOf(as[len(as)-1])
	}
	if d := cmp.Diff([]string{"g-werl", "f-werl", "b-werl", "e-all", "d-kreis", "c-both", "a-soest"}, seen); d != "" {
		t.Errorf("paging older (-want +got):\n%s", d)
	}
	as, err := db.FindAnnouncements(ctx, crier.AnnouncementFilter{After: crier.CursorOf(&crier.Announcement{ID: "c-both", CreatedAt: t0.Add(2 * time.Minute)}), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"e-all", "d-kreis"}, announcementIDs(as)); d != "" {
		t.Errorf("the page after c-both, newest first (-want +got):\n%s", d)
	}

	for _, f := range []crier.AnnouncementFilter{{State: "gone"}, {Mode: "drill"}} {
		if _, err := db.FindAnnouncements(ctx, f); crier.ErrorCode(err) != crier.EINVALID {
			t.Errorf("%+v: err = %v, want invalid", f, err)
		}
	}
}

func TestCursorText(t *testing.T) {
	c := crier.Cursor{At: t0.Add(123 * time.Nanosecond), ID: "k7xq.2m"}
	got, err := crier.ParseCursor(c.String())
	if err != nil || !got.At.Equal(c.At) || got.ID != c.ID {
		t.Errorf("ParseCursor(%q) = %+v, %v", c.String(), got, err)
	}
	for _, bad := range []string{"x", ".id", "zz!.id", "12."} {
		if _, err := crier.ParseCursor(bad); crier.ErrorCode(err) != crier.EINVALID {
			t.Errorf("ParseCursor(%q): err = %v, want invalid", bad, err)
		}
	}
}

// TestDeliveriesAndCapturesOfTowns: a town list keeps only those towns'
// deliveries and captures; an empty one keeps none. Captures sent to one
// recipient are listed only when asked for.
func TestDeliveriesAndCapturesOfTowns(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	publishFor(t, db, "c-both", 1, crier.EventPublished, crier.ModeExercise, time.Time{}, t0, []string{"soest", "werl", "ense"}, "soest", "werl", "ense")
	for _, town := range []string{"soest", "werl", "ense"} {
		if err := db.SaveCapture(ctx, &crier.Capture{Key: "c-both.1." + town, Announcement: "c-both", Revision: 1,
			Town: town, Channel: "radio-" + town, Type: "webhook", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	mail := &crier.Capture{Key: "c-both.1.soest.mail.1", Announcement: "c-both", Revision: 1, Town: "soest",
		Channel: "mail-soest", Type: "email", Recipient: "anna@example.org", At: t0}
	if err := db.SaveCapture(ctx, mail); err != nil {
		t.Fatal(err)
	}
	townsOf := func(towns []string, personal bool) (deliveries, captures []string) {
		ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "c-both", Towns: towns})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			deliveries = append(deliveries, d.Town)
		}
		cs, err := db.FindCaptures(ctx, crier.CaptureFilter{Towns: towns, Personal: personal})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			captures = append(captures, c.Town+":"+c.Recipient)
		}
		return deliveries, captures
	}
	for _, tc := range []struct {
		towns                []string
		personal             bool
		deliveries, captures []string
	}{
		{nil, true, []string{"soest", "werl", "ense"}, []string{"soest:", "werl:", "ense:", "soest:anna@example.org"}},
		{nil, false, []string{"soest", "werl", "ense"}, []string{"soest:", "werl:", "ense:"}},
		{[]string{"soest"}, true, []string{"soest"}, []string{"soest:", "soest:anna@example.org"}},
		{[]string{"soest", "ense"}, false, []string{"soest", "ense"}, []string{"soest:", "ense:"}},
		{[]string{}, true, nil, nil},
	} {
		ds, cs := townsOf(tc.towns, tc.personal)
		if !slices.Equal(ds, tc.deliveries) || !slices.Equal(cs, tc.captures) {
			t.Errorf("towns %q, personal %v: deliveries %v, captures %v; want %v, %v", tc.towns, tc.personal, ds, cs, tc.deliveries, tc.captures)
		}
	}
}

// TestSchedulesTargeting: a schedule is listed for the targets its
// announcement names, in the states asked for; no targets list none.
func TestSchedulesTargeting(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	for id, towns := range map[string][]string{"s-soest": {"soest"}, "s-werl": {"werl"}, "s-kreis": {"kreis-soest"}} {
		sc := testSchedule(id)
		sc.Announcement.Towns = towns
		mustCreateSchedule(t, db, sc)
	}
	if _, err := db.UpdateSchedule(ctx, "s-kreis", t0, func(s *crier.Schedule) error {
		s.State = crier.SchedulePaused
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ids := func(ss []*crier.Schedule) []string {
		out := []string{}
		for _, s := range ss {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		targets []string
		states  []crier.ScheduleState
		want    []string
	}{
		{[]string{"all", "soest", "kreis-soest"}, nil, []string{"s-kreis", "s-soest"}},
		{[]string{"all", "soest", "kreis-soest"}, []crier.ScheduleState{crier.ScheduleActive}, []string{"s-soest"}},
		{[]string{"werl"}, nil, []string{"s-werl"}},
		{[]string{}, nil, []string{}},
	} {
		ss, err := db.SchedulesTargeting(ctx, tc.targets, tc.states...)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, ids(ss)); d != "" {
			t.Errorf("%v %v (-want +got):\n%s", tc.targets, tc.states, d)
		}
	}
}
