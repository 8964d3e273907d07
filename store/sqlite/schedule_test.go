package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// testSchedule is a recurring schedule created at t0, next due at 08:00.
func testSchedule(id string) *crier.Schedule {
	return &crier.Schedule{
		ID: id, Spec: "CRON_TZ=Europe/Berlin 0 8 * * 1-5", Until: t0.Add(30 * 24 * time.Hour),
		ExpiresAfter: crier.Duration(4 * time.Hour),
		Announcement: &crier.Announcement{Title: "IT-Ausfall: Stand {{date}}", Body: "Heute {{weekday}}.",
			Towns: []string{"kreis-soest"}, Channels: []string{"radio"}},
		State: crier.ScheduleActive, NextRun: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC), CreatedAt: t0,
	}
}

func mustCreateSchedule(t *testing.T, db *sqlite.DB, sc *crier.Schedule) *crier.Schedule {
	t.Helper()
	stored, existing, err := db.CreateSchedule(context.Background(), sc, "")
	if err != nil || existing {
		t.Fatalf("CreateSchedule = %v, existing %v", err, existing)
	}
	return stored
}

func TestSchedulesCreateAndRead(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	first := testSchedule("sched-1")
	stored, existing, err := db.CreateSchedule(ctx, first, "request-1")
	if err != nil || existing {
		t.Fatalf("CreateSchedule = %v, existing %v", err, existing)
	}
	want := *first
	want.UpdatedAt = t0
	if d := cmp.Diff(&want, stored); d != "" {
		t.Errorf("stored schedule (-want +got):\n%s", d)
	}
	oneOff := &crier.Schedule{ID: "ann-7", At: t0.Add(time.Hour), Announcement: &crier.Announcement{Title: "x"},
		State: crier.ScheduleActive, NextRun: t0.Add(time.Hour), CreatedAt: t0.Add(time.Second)}
	mustCreateSchedule(t, db, oneOff)

	again, existing, err := db.CreateSchedule(ctx, testSchedule("sched-other"), "request-1")
	if err != nil || !existing || again.ID != "sched-1" {
		t.Errorf("repeated key = %+v, existing %v, %v; want sched-1 again", again, existing, err)
	}
	if _, _, err := db.CreateSchedule(ctx, testSchedule("sched-1"), ""); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("repeated id: err = %v, want conflict", err)
	}
	if _, _, err := db.CreateSchedule(ctx, &crier.Schedule{}, ""); crier.ErrorCode(err) != crier.EINVALID ||
		len(crier.ErrorDetails(err)) != 3 {
		t.Errorf("empty schedule: err = %v, want invalid with 3 problems", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = MustOpen(t, path)
	got, err := db.Schedule(ctx, "sched-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(&want, got); d != "" {
		t.Errorf("schedule after reopen (-want +got):\n%s", d)
	}
	if _, err := db.Schedule(ctx, "nope"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("unknown schedule: err = %v, want not_found", err)
	}
	all, err := db.Schedules(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "sched-1" || all[1].ID != "ann-7" {
		t.Errorf("Schedules() = %v, %v; want sched-1, ann-7", ids(all), err)
	}
	if _, err := db.UpdateSchedule(ctx, "ann-7", t0, func(s *crier.Schedule) error {
		s.State = crier.SchedulePaused
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	active, err := db.Schedules(ctx, crier.ScheduleActive)
	if err != nil || len(active) != 1 || active[0].ID != "sched-1" {
		t.Errorf("Schedules(active) = %v, %v", ids(active), err)
	}
	both, err := db.Schedules(ctx, crier.ScheduleActive, crier.SchedulePaused)
	if err != nil || len(both) != 2 {
		t.Errorf("Schedules(active, paused) = %v, %v", ids(both), err)
	}
}

func ids(ss []*crier.Schedule) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestUpdateSchedule(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	sc := mustCreateSchedule(t, db, testSchedule("sched-1"))
	later := t0.Add(time.Hour)
	got, err := db.UpdateSchedule(ctx, "sched-1", later, func(s *crier.Schedule) error {
		s.Spec = "CRON_TZ=Europe/Berlin 0 9 * * *"
		s.Announcement.Title = "Neu"
		s.NextRun = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
		s.LastRun, s.CreatedAt, s.ID = later, later, "hijacked" // kept as they were
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := *sc
	want.Spec, want.UpdatedAt, want.NextRun = "CRON_TZ=Europe/Berlin 0 9 * * *", later, time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	ann := *sc.Announcement
	ann.Title = "Neu"
	want.Announcement = &ann
	if d := cmp.Diff(&want, got); d != "" {
		t.Errorf("updated (-want +got):\n%s", d)
	}
	if stored, _ := db.Schedule(ctx, "sched-1"); !cmp.Equal(&want, stored) {
		t.Errorf("stored after update: %s", cmp.Diff(&want, stored))
	}

	refuse := crier.Errorf(crier.ECONFLICT, "no")
	if _, err := db.UpdateSchedule(ctx, "sched-1", later, func(s *crier.Schedule) error {
		s.Spec = "changed"
		return refuse
	}); !errors.Is(err, refuse) {
		t.Errorf("change that fails: err = %v, want it returned", err)
	}
	if stored, _ := db.Schedule(ctx, "sched-1"); stored.Spec != want.Spec {
		t.Errorf("a failed change was written: spec %q", stored.Spec)
	}
	if _, err := db.UpdateSchedule(ctx, "nope", later, func(*crier.Schedule) error { return nil }); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("unknown schedule: err = %v, want not_found", err)
	}
}

func TestClaimRun(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	sc := mustCreateSchedule(t, db, testSchedule("sched-1"))
	fire := sc.NextRun
	run := func() *crier.ScheduleRun {
		return &crier.ScheduleRun{Schedule: "sched-1", FireAt: fire, Announcement: "sched-1-202611270700"}
	}
	claim := func(owner string, now time.Time) (*crier.ScheduleRun, bool) {
		t.Helper()
		stored, mine, err := db.ClaimRun(ctx, run(), owner, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return stored, mine
	}

	stored, mine := claim("a", fire)
	want := &crier.ScheduleRun{Schedule: "sched-1", FireAt: fire, Announcement: "sched-1-202611270700",
		State: crier.RunClaimed, LeaseUntil: fire.Add(time.Minute), ClaimedAt: fire}
	if d := cmp.Diff(want, stored); d != "" || !mine {
		t.Errorf("first claim: mine %v (-want +got):\n%s", mine, d)
	}
	if _, mine := claim("a", fire.Add(time.Second)); !mine {
		t.Error("the owner could not claim its own run again")
	}
	if stored, mine := claim("b", fire.Add(30*time.Second)); mine || stored.LeaseUntil != fire.Add(61*time.Second) {
		t.Errorf("another owner within the lease: mine %v, lease until %v", mine, stored.LeaseUntil)
	}
	if _, mine := claim("b", fire.Add(61*time.Second)); !mine {
		t.Error("another owner could not take over an expired lease")
	}
	// a lost its claim and may not finish the run.
	r := run()
	r.State = crier.RunPublished
	if err := db.FinishRun(ctx, r, "a", fire.Add(24*time.Hour), fire.Add(time.Minute)); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("FinishRun by the owner that lost the claim: err = %v, want conflict", err)
	}
	r.Deliveries = 15
	if err := db.FinishRun(ctx, r, "b", fire.Add(24*time.Hour), fire.Add(62*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"a", "b", "c"} {
		if stored, mine := claim(owner, fire.Add(time.Hour)); mine || stored.State != crier.RunPublished {
			t.Errorf("claim of a published run by %s: mine %v, state %s", owner, mine, stored.State)
		}
	}
	got, err := db.Schedule(ctx, "sched-1")
	if err != nil || !got.NextRun.Equal(fire.Add(24*time.Hour)) || !got.LastRun.Equal(fire) || got.State != crier.ScheduleActive {
		t.Errorf("after the run: next %v, last %v, state %s, %v", got.NextRun, got.LastRun, got.State, err)
	}
	runs, err := db.Runs(ctx, "sched-1", 0)
	want = &crier.ScheduleRun{Schedule: "sched-1", FireAt: fire, Announcement: "sched-1-202611270700",
		State: crier.RunPublished, Deliveries: 15, ClaimedAt: fire.Add(61 * time.Second), FinishedAt: fire.Add(62 * time.Second)}
	if d := cmp.Diff([]*crier.ScheduleRun{want}, runs); d != "" || err != nil {
		t.Errorf("Runs: %v (-want +got):\n%s", err, d)
	}
	if _, _, err := db.ClaimRun(ctx, run(), "", fire, time.Minute); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("claim without owner: err = %v, want invalid", err)
	}
}

func TestFinishRunMovesOnlyFromTheRun(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	sc := mustCreateSchedule(t, db, testSchedule("sched-1"))
	fire := sc.NextRun
	r := &crier.ScheduleRun{Schedule: "sched-1", FireAt: fire, Announcement: "sched-1-x"}
	if _, _, err := db.ClaimRun(ctx, r, "a", fire, time.Minute); err != nil {
		t.Fatal(err)
	}
	// A person edits the schedule while the run is being published: the
	// new next run stands.
	edited := fire.Add(48 * time.Hour)
	if _, err := db.UpdateSchedule(ctx, "sched-1", fire, func(s *crier.Schedule) error {
		s.NextRun = edited
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.State = crier.RunPublished
	if err := db.FinishRun(ctx, r, "a", fire.Add(24*time.Hour), fire); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Schedule(ctx, "sched-1"); !got.NextRun.Equal(edited) || !got.LastRun.IsZero() {
		t.Errorf("next %v, last %v; want the edited next run, and no last run as the cursor had moved", got.NextRun, got.LastRun)
	}

	// The last run of a one-off makes it done; a canceled one stays canceled.
	for _, state := range []crier.ScheduleState{crier.ScheduleActive, crier.ScheduleCanceled} {
		id := "one-" + string(state)
		mustCreateSchedule(t, db, &crier.Schedule{ID: id, At: fire, Announcement: &crier.Announcement{Title: "x"},
			State: state, NextRun: fire, CreatedAt: t0})
		r := &crier.ScheduleRun{Schedule: id, FireAt: fire, Announcement: id}
		if _, _, err := db.ClaimRun(ctx, r, "a", fire, time.Minute); err != nil {
			t.Fatal(err)
		}
		r.State = crier.RunFailed
		r.Error = "rejected"
		if err := db.FinishRun(ctx, r, "a", time.Time{}, fire); err != nil {
			t.Fatal(err)
		}
		want := crier.ScheduleDone
		if state == crier.ScheduleCanceled {
			want = crier.ScheduleCanceled
		}
		if got, _ := db.Schedule(ctx, id); got.State != want || !got.NextRun.IsZero() || !got.LastRun.IsZero() {
			t.Errorf("%s after its failed run: state %s, next %v, last %v; want %s", id, got.State, got.NextRun, got.LastRun, want)
		}
	}
	r.State = crier.RunClaimed
	if err := db.FinishRun(ctx, r, "a", time.Time{}, fire); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("finishing as claimed: err = %v, want invalid", err)
	}
}

func TestSkipRuns(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	sc := mustCreateSchedule(t, db, testSchedule("sched-1"))
	day := 24 * time.Hour
	fire := sc.NextRun
	// The first run was claimed by a scheduler that died.
	if _, _, err := db.ClaimRun(ctx, &crier.ScheduleRun{Schedule: "sched-1", FireAt: fire, Announcement: "a0"}, "dead", fire, time.Minute); err != nil {
		t.Fatal(err)
	}
	var runs []*crier.ScheduleRun
	for i := range 3 {
		runs = append(runs, &crier.ScheduleRun{Schedule: "sched-1", FireAt: fire.Add(time.Duration(i) * day),
			Announcement: "a" + string(rune('0'+i)), Error: "missed"})
	}
	now := fire.Add(3 * day)
	if moved, err := db.SkipRuns(ctx, runs[1:], fire.Add(3*day), now); err != nil || moved {
		t.Errorf("SkipRuns from a run that is not next: moved %v, %v; want nothing done", moved, err)
	}
	if moved, err := db.SkipRuns(ctx, runs, fire.Add(3*day), now); err != nil || !moved {
		t.Fatalf("SkipRuns: moved %v, %v", moved, err)
	}
	got, err := db.Runs(ctx, "sched-1", 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("Runs = %d, %v", len(got), err)
	}
	if got[2].State != crier.RunClaimed || got[1].State != crier.RunSkipped || got[1].Error != "missed" ||
		!got[1].FinishedAt.Equal(now) || got[0].Announcement != "a2" {
		t.Errorf("runs after skipping: %+v %+v %+v; the claimed one kept, the others skipped", got[2], got[1], got[0])
	}
	if limited, _ := db.Runs(ctx, "sched-1", 1); len(limited) != 1 || !limited[0].FireAt.Equal(fire.Add(2*day)) {
		t.Errorf("Runs(limit 1) = %+v; want the newest", limited)
	}
	if s, _ := db.Schedule(ctx, "sched-1"); !s.NextRun.Equal(fire.Add(3*day)) || s.State != crier.ScheduleActive {
		t.Errorf("after skipping: next %v, state %s", s.NextRun, s.State)
	}
	last := []*crier.ScheduleRun{{Schedule: "sched-1", FireAt: fire.Add(3 * day), Announcement: "a3"}}
	if moved, err := db.SkipRuns(ctx, last, time.Time{}, now); err != nil || !moved {
		t.Fatalf("SkipRuns of the last run: %v, %v", moved, err)
	}
	if s, _ := db.Schedule(ctx, "sched-1"); s.State != crier.ScheduleDone {
		t.Errorf("after skipping the last run: state %s, want done", s.State)
	}
}
