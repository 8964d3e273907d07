package schedule_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
)

// problemFields lists where each problem is, as "field" or
// "town/channel:field".
func problemFields(err error) []string {
	var out []string
	for _, p := range crier.ErrorDetails(err) {
		place := p.Field
		if p.Town != "" || p.Channel != "" {
			place = p.Town + "/" + p.Channel + ":" + p.Field
		}
		out = append(out, place)
	}
	return out
}

// TestCreateProblems: a schedule is checked and its first run rendered for
// every town and channel; every problem is listed at once and nothing is
// stored.
func TestCreateProblems(t *testing.T) {
	now := local(2026, 11, 26, 12, 0)
	bad := notice()
	bad.Towns = []string{"kreis-soest", "dortmund"}
	bad.Body = "Fax: {{.Vars.fax}}"
	bad.Expires = now.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		sc       *crier.Schedule
		fields   []string
		messages []string
	}{
		{"everything at once",
			&crier.Schedule{Spec: "0 25 * * *", Until: now.Add(-time.Hour), Announcement: bad},
			[]string{"until", "expires", "spec", "towns[1]", "soest/radio:body", "werl/radio:body"},
			[]string{"end of range (25) above maximum (23): 25", "is in the past", "use expires_after", `unknown town or group "dortmund"`}},
		{"unknown zone",
			&crier.Schedule{Spec: "CRON_TZ=Europe/Soest 0 8 * * *", Announcement: notice()},
			[]string{"spec"}, []string{`unknown time zone "Europe/Soest"`}},
		{"unknown zone and bad times",
			&crier.Schedule{Spec: "CRON_TZ=Europe/Soest 0 8 * *", Announcement: notice()},
			[]string{"spec", "spec"}, []string{`unknown time zone "Europe/Soest"`, "expected exactly 5 fields, found 4: [0 8 * *]"}},
		{"zone without times",
			&crier.Schedule{Spec: "CRON_TZ=Europe/Berlin", Announcement: notice()},
			[]string{"spec"}, []string{"names a time zone but no times"}},
		{"spec and time",
			&crier.Schedule{Spec: "0 8 * * *", At: now.Add(time.Hour), Announcement: notice()},
			[]string{"at"}, []string{"a cron spec or a time, not both"}},
		{"neither",
			&crier.Schedule{Announcement: notice()}, []string{"spec"}, []string{"needs a cron spec or a time"}},
		{"one-off in the past, with an end",
			&crier.Schedule{At: now.Add(-time.Minute), Until: now.Add(time.Hour), Announcement: notice()},
			[]string{"at", "until"}, []string{"is in the past", "only a recurring schedule has an end"}},
		{"too often",
			&crier.Schedule{Spec: "@every 30s", Announcement: notice()}, []string{"spec"}, []string{"runs less than 1m0s apart"}},
		{"never",
			&crier.Schedule{Spec: "0 8 30 2 *", Announcement: notice()}, []string{"spec"}, []string{"has no time in the next five years"}},
		{"ends before it starts",
			&crier.Schedule{Spec: "0 8 * * *", Until: local(2026, 11, 27, 7, 0), Announcement: notice()},
			[]string{"spec"}, []string{"has no time before until"}},
		{"one-off expiring before it is published",
			&crier.Schedule{At: now.Add(2 * time.Hour), Announcement: bad},
			[]string{"expires", "towns[1]", "soest/radio:body", "werl/radio:body"}, []string{"is not after the time"}},
		{"no announcement",
			&crier.Schedule{Spec: "0 8 * * *", ExpiresAfter: crier.Duration(-time.Hour)},
			[]string{"expires_after", "announcement"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, now)
			_, _, err := f.sched.Create(context.Background(), tc.sc, "", false)
			if crier.ErrorCode(err) != crier.EINVALID {
				t.Fatalf("Create: %v, want invalid", err)
			}
			if d := cmp.Diff(tc.fields, problemFields(err)); d != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", d, err)
			}
			for _, m := range tc.messages {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error lacks %q:\n%v", m, err)
				}
			}
			if ss, _ := f.db.Schedules(context.Background()); len(ss) != 0 {
				t.Errorf("a rejected schedule was stored")
			}
		})
	}
}

// TestOneOff is publish_at: the announcement keeps the id it was given
// when it was scheduled, fires once at its time, and the schedule is done.
func TestOneOff(t *testing.T) {
	f := newFixture(t, local(2026, 11, 26, 9, 0))
	a := notice()
	a.Title = "Bürgerbüro öffnet um {{time}} Uhr"
	sc := f.create(&crier.Schedule{At: local(2026, 11, 26, 10, 0), Announcement: a})
	if sc.State != crier.ScheduleActive || !sc.NextRun.Equal(sc.At) || sc.Announcement.ID != "" {
		t.Errorf("created %+v", sc)
	}
	if next := f.tick(local(2026, 11, 26, 9, 59)); !next.Equal(sc.At) || len(f.announcements()) != 0 {
		t.Fatalf("before its time: next %v, %d announcements", next, len(f.announcements()))
	}
	if next := f.tick(local(2026, 11, 26, 10, 0)); !next.IsZero() {
		t.Errorf("after its only run, next = %v, want none", next)
	}
	as := f.announcements()
	if len(as) != 1 || as[0].ID != sc.ID || as[0].Title != "Bürgerbüro öffnet um 10:00 Uhr" {
		t.Fatalf("announcements %+v; want one with the schedule's id %s", as, sc.ID)
	}
	done := f.schedule(sc.ID)
	if done.State != crier.ScheduleDone || !done.NextRun.IsZero() || !done.LastRun.Equal(sc.At) {
		t.Errorf("after firing: %+v; want done, last run at 10:00", done)
	}
	f.tick(local(2026, 11, 27, 10, 0))
	if n := len(f.announcements()); n != 1 {
		t.Errorf("%d announcements a day later, want still 1", n)
	}
	ctx := context.Background()
	if _, err := f.sched.Cancel(ctx, sc.ID); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("Cancel of a done schedule: %v, want conflict", err)
	}
	if _, err := f.sched.Update(ctx, sc.ID, &schedule.Patch{Announcement: notice()}); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("Update of a done schedule: %v, want conflict", err)
	}
}

// TestPauseResumeCancel: a paused schedule fires nothing; resumed, it
// fires from its next time on; canceled, never again.
func TestPauseResumeCancel(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, local(2026, 11, 25, 12, 0))
	sc := f.create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()})
	if got, err := f.sched.Pause(ctx, sc.ID); err != nil || got.State != crier.SchedulePaused {
		t.Fatalf("Pause: %+v, %v", got, err)
	}
	if _, err := f.sched.Pause(ctx, sc.ID); err != nil {
		t.Errorf("pausing again: %v", err)
	}
	f.tick(local(2026, 11, 26, 8, 0))
	if len(f.announcements()) != 0 || len(f.runs(sc.ID)) != 0 {
		t.Fatal("a paused schedule fired")
	}
	got, err := f.sched.Resume(ctx, sc.ID)
	if err != nil || got.State != crier.ScheduleActive || !got.NextRun.Equal(local(2026, 11, 27, 8, 0)) {
		t.Fatalf("Resume at 08:00: %+v, %v; want active, next tomorrow (today's run was paused)", got, err)
	}
	f.tick(local(2026, 11, 27, 8, 0))
	if as := f.announcements(); len(as) != 1 || as[0].Title != "IT-Ausfall: Stand 27.11.2026" {
		t.Fatalf("after resume: %d announcements", len(as))
	}
	if got, err := f.sched.Cancel(ctx, sc.ID); err != nil || got.State != crier.ScheduleCanceled || !got.NextRun.IsZero() {
		t.Fatalf("Cancel: %+v, %v", got, err)
	}
	if _, err := f.sched.Cancel(ctx, sc.ID); err != nil {
		t.Errorf("canceling again: %v", err)
	}
	for name, op := range map[string]func(context.Context, string) (*crier.Schedule, error){
		"Pause": f.sched.Pause, "Resume": f.sched.Resume,
	} {
		if _, err := op(ctx, sc.ID); crier.ErrorCode(err) != crier.ECONFLICT {
			t.Errorf("%s of a canceled schedule: %v, want conflict", name, err)
		}
	}
	f.tick(local(2026, 11, 28, 8, 0))
	if n := len(f.announcements()); n != 1 {
		t.Errorf("%d announcements after cancel, want still 1", n)
	}
	if _, err := f.sched.Pause(ctx, "nope"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Pause of an unknown schedule: %v, want not_found", err)
	}
}

// TestCanceledOneOffNeverFires and a paused one-off resumed too late is
// refused rather than skipped silently.
func TestCanceledOneOffNeverFires(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, local(2026, 11, 26, 9, 0))
	canceled := f.create(&crier.Schedule{At: local(2026, 11, 26, 10, 0), Announcement: notice()})
	paused := f.create(&crier.Schedule{At: local(2026, 11, 26, 10, 0), Announcement: notice()})
	if _, err := f.sched.Cancel(ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sched.Pause(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	f.tick(local(2026, 11, 26, 10, 0))
	if n := len(f.announcements()); n != 0 {
		t.Fatalf("%d announcements, want none", n)
	}
	f.clock.Set(local(2026, 11, 26, 10, 30))
	if _, err := f.sched.Resume(ctx, paused.ID); crier.ErrorCode(err) != crier.EINVALID ||
		!strings.Contains(err.Error(), "passed while the schedule was paused") {
		t.Errorf("Resume 30 minutes after its time: %v, want refused", err)
	}
	at := local(2026, 11, 26, 11, 0)
	if _, err := f.sched.Update(ctx, paused.ID, &schedule.Patch{At: &at}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sched.Resume(ctx, paused.ID); err != nil {
		t.Fatal(err)
	}
	f.tick(at)
	if as := f.announcements(); len(as) != 1 || as[0].ID != paused.ID {
		t.Errorf("announcements %v, want the rescheduled one", as)
	}
}

// TestUntilAndExpiresAfter: a recurring schedule publishes before its end
// and is then done; each run expires relative to its own time.
func TestUntilAndExpiresAfter(t *testing.T) {
	f := newFixture(t, local(2026, 11, 25, 12, 0))
	sc := f.create(&crier.Schedule{Spec: "0 8 * * *", Until: local(2026, 11, 27, 8, 0),
		ExpiresAfter: crier.Duration(4 * time.Hour), Announcement: notice()})
	f.tick(local(2026, 11, 26, 8, 0))
	if next := f.schedule(sc.ID).NextRun; !next.IsZero() || f.schedule(sc.ID).State != crier.ScheduleDone {
		t.Errorf("after the last run before until: next %v, state %s; want done", next, f.schedule(sc.ID).State)
	}
	as := f.announcements()
	if len(as) != 1 || !as[0].Expires.Equal(local(2026, 11, 26, 12, 0)) {
		t.Fatalf("announcements %+v; want one expiring at 12:00", as)
	}
	f.tick(local(2026, 11, 27, 8, 0))
	if n := len(f.announcements()); n != 1 {
		t.Errorf("%d announcements, want 1: until is exclusive", n)
	}
}

// TestUpdate: a change is checked like a new schedule and takes effect
// from the next run.
func TestUpdate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, local(2026, 11, 25, 12, 0))
	sc := f.create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()})

	bad := notice()
	bad.Body = "{{.Vars.fax}}"
	spec := "0 9 * * 1-5"
	_, err := f.sched.Update(ctx, sc.ID, &schedule.Patch{Spec: &spec, Announcement: bad})
	if d := cmp.Diff([]string{"soest/radio:body", "werl/radio:body"}, problemFields(err)); d != "" {
		t.Errorf("invalid change: (-want +got)\n%s", d)
	}
	if got := f.schedule(sc.ID); got.Spec != sc.Spec || got.Announcement.Body != sc.Announcement.Body {
		t.Errorf("an invalid change was stored: %+v", got)
	}
	at := local(2026, 11, 30, 8, 0)
	if _, err := f.sched.Update(ctx, sc.ID, &schedule.Patch{At: &at}); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("recurring to one-off: %v, want invalid", err)
	}

	better := notice()
	better.Title = "Stand {{weekday}}"
	got, err := f.sched.Update(ctx, sc.ID, &schedule.Patch{Spec: &spec, Announcement: better})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec != "CRON_TZ=Europe/Berlin 0 9 * * 1-5" || !got.NextRun.Equal(local(2026, 11, 26, 9, 0)) ||
		got.Announcement.Title != "Stand {{weekday}}" || !got.UpdatedAt.Equal(local(2026, 11, 25, 12, 0)) {
		t.Errorf("updated: %+v", got)
	}
	f.tick(local(2026, 11, 26, 9, 0))
	if as := f.announcements(); len(as) != 1 || as[0].Title != "Stand Donnerstag" {
		t.Errorf("announcements %+v, want Thursday's at 09:00", as)
	}
}

// TestCreateIdempotent: a repeated request key returns the first schedule.
func TestCreateIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, local(2026, 11, 25, 12, 0))
	first, existing, err := f.sched.Create(ctx, &crier.Schedule{Spec: "0 8 * * *", Announcement: notice()}, "req-1", false)
	if err != nil || existing {
		t.Fatal(err, existing)
	}
	again, existing, err := f.sched.Create(ctx, &crier.Schedule{Spec: "0 8 * * *", Announcement: notice()}, "req-1", false)
	if err != nil || !existing || again.ID != first.ID {
		t.Errorf("repeated key: %v, existing %v, id %s; want %s", err, existing, again.ID, first.ID)
	}
	if ss, _ := f.db.Schedules(ctx); len(ss) != 1 {
		t.Errorf("%d schedules, want 1", len(ss))
	}

	// A one-off repeated after its time, as after an answer lost for a
	// while, still gets its schedule, not "in the past".
	at := local(2026, 11, 25, 13, 0)
	once, _, err := f.sched.Create(ctx, &crier.Schedule{At: at, Announcement: notice()}, "req-2", false)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(at.Add(time.Hour))
	again, existing, err = f.sched.Create(ctx, &crier.Schedule{At: at, Announcement: notice()}, "req-2", false)
	if err != nil || !existing || again.ID != once.ID {
		t.Errorf("repeated after its time: %v, existing %v; want the schedule %s", err, existing, once.ID)
	}
}

// TestCreateRefusesRepeat: a schedule that publishes what a pending one
// publishes at the same times is refused as a conflict naming that one,
// unless again is set. Another time, another text, or a schedule that is
// no longer pending lets it through; a repeated request key still gets
// its first answer.
func TestCreateRefusesRepeat(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, local(2026, 11, 25, 12, 0))
	at := local(2026, 11, 26, 8, 0)
	create := func(sc *crier.Schedule, key string, again bool) (*crier.Schedule, bool, error) {
		t.Helper()
		return f.sched.Create(ctx, sc, key, again)
	}
	first, _, err := create(&crier.Schedule{At: at, Announcement: notice()}, "req-1", false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, _, err := create(&crier.Schedule{At: at, Announcement: notice()}, "", false)
		ps := crier.ErrorDetails(err)
		if crier.ErrorCode(err) != crier.ECONFLICT || len(ps) != 1 || ps[0].Code != schedule.CodeRepeat ||
			!slices.Equal(ps[0].Args, []string{first.ID, at.UTC().Format(time.RFC3339)}) ||
			!strings.Contains(crier.ErrorMessage(err), "schedule "+first.ID+" already publishes") {
			t.Fatalf("repeat %d: %v %+v, want a conflict naming %s", i+1, err, ps, first.ID)
		}
	}
	if again, existing, err := create(&crier.Schedule{At: at, Announcement: notice()}, "req-1", false); err != nil || !existing || again.ID != first.ID {
		t.Errorf("repeated request key: %v, existing %v; want the first schedule", err, existing)
	}
	if ss, _ := f.db.Schedules(ctx); len(ss) != 1 {
		t.Fatalf("%d schedules after the refused repeats, want 1", len(ss))
	}

	second, _, err := create(&crier.Schedule{At: at, Announcement: notice()}, "", true)
	if err != nil || second.ID == first.ID {
		t.Fatalf("with again: %v", err)
	}
	other := notice()
	other.Title = "IT-Ausfall behoben"
	exercise := notice()
	exercise.Mode = crier.ModeExercise
	for name, sc := range map[string]*crier.Schedule{
		"another time":  {At: at.Add(time.Hour), Announcement: notice()},
		"another title": {At: at, Announcement: other},
		"another mode":  {At: at, Announcement: exercise},
		"an expiry":     {At: at, ExpiresAfter: crier.Duration(4 * time.Hour), Announcement: notice()},
		"recurring":     {Spec: "0 8 * * *", Announcement: notice()},
	} {
		if _, _, err := create(sc, "", false); err != nil {
			t.Errorf("%s: %v, want it created", name, err)
		}
	}
	if _, _, err := create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()}, "", false); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("the same recurring schedule again: %v, want a conflict", err)
	}

	// Removed schedules are not pending: the notice may be scheduled anew.
	for _, sc := range []*crier.Schedule{first, second} {
		if _, err := f.sched.Cancel(ctx, sc.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := create(&crier.Schedule{At: at, Announcement: notice()}, "", false); err != nil {
		t.Errorf("after the pending ones were removed: %v", err)
	}
}

// signaling is an engine that reports every publish.
type signaling struct {
	schedule.Engine
	published chan string
}

func (s signaling) Publish(ctx context.Context, a *crier.Announcement, key string) (*crier.PublishResult, error) {
	res, err := s.Engine.Publish(ctx, a, key)
	if err == nil {
		s.published <- res.Announcement.ID
	}
	return res, err
}

// TestRun: Run sleeps until the next run on the scheduler's clock, and a
// schedule created meanwhile wakes it.
func TestRun(t *testing.T) {
	f := newFixture(t, local(2026, 11, 26, 9, 0))
	published := make(chan string, 10)
	f.sched.Engine = signaling{Engine: f.engine, published: published}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		f.sched.Run(ctx)
		close(stopped)
	}()
	defer func() {
		cancel()
		<-stopped
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-f.clock.waiting:
		case <-time.After(10 * time.Second):
			t.Fatalf("Run did not wait %s", what)
		}
	}
	wait("with nothing scheduled") // for MaxWait: nothing is active

	sc := f.create(&crier.Schedule{At: local(2026, 11, 26, 9, 10), Announcement: notice()})
	wait("after Notify") // until 09:10
	f.clock.Set(local(2026, 11, 26, 9, 10))
	select {
	case id := <-published:
		if id != sc.ID {
			t.Errorf("published %s, want %s", id, sc.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not publish when its clock reached the run's time")
	}
}
