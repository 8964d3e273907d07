package schedule_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
)

// TestMisfire: crier is down over a run's time. Restarted within the grace
// window, it publishes the run once; restarted after it, it publishes
// nothing, logs the skipped run and records it, and goes on with the next.
func TestMisfire(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart time.Time
		want    int // announcements
	}{
		{"inside the grace window", local(2026, 11, 26, 8, 14), 1},
		{"outside the grace window", local(2026, 11, 26, 8, 16), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, local(2026, 11, 25, 12, 0))
			sc := f.create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()})
			fire := local(2026, 11, 26, 8, 0)
			if next := f.tick(local(2026, 11, 26, 7, 59)); !next.Equal(fire) {
				t.Fatalf("Tick at 07:59 says the next run is at %v, want %v", next, fire)
			}
			f.restart() // down from 07:59 until the restart
			next := f.tick(tc.restart)
			f.tick(tc.restart.Add(time.Minute)) // and again: nothing more

			if as := f.announcements(); len(as) != tc.want {
				t.Fatalf("%d announcements, want %d", len(as), tc.want)
			}
			runs := f.runs(sc.ID)
			if len(runs) != 1 || !runs[0].FireAt.Equal(fire) {
				t.Fatalf("runs = %+v, want the one at 08:00", runs)
			}
			tomorrow := local(2026, 11, 27, 8, 0)
			if !next.Equal(tomorrow) || !f.schedule(sc.ID).NextRun.Equal(tomorrow) {
				t.Errorf("next run %v (stored %v), want %v", next, f.schedule(sc.ID).NextRun, tomorrow)
			}
			logs := f.logs.String()
			if tc.want == 1 {
				as := f.announcements()
				if runs[0].State != crier.RunPublished || runs[0].Deliveries != 2 || as[0].ID != sc.ID+"-202611260700" ||
					as[0].Title != "IT-Ausfall: Stand 26.11.2026" {
					t.Errorf("run %+v, announcement %s %q; want published with 2 deliveries", runs[0], as[0].ID, as[0].Title)
				}
				if strings.Contains(logs, "level=WARN") {
					t.Errorf("a run within the grace window logged a warning:\n%s", logs)
				}
				return
			}
			if runs[0].State != crier.RunSkipped || !strings.Contains(runs[0].Error, "missed by 16m0s") {
				t.Errorf("run %+v, want skipped, missed by 16m", runs[0])
			}
			want := `level=WARN msg="scheduled run skipped: missed by more than the grace window" schedule=` + sc.ID +
				` fire_at=2026-11-26T07:00:00.000Z announcement=` + sc.ID + `-202611260700 missed_by=16m0s grace=15m0s`
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks\n%s\nlog:\n%s", want, logs)
			}
		})
	}
}

// TestMisfireLongDowntime: after days down, every missed run but the one
// within the grace window is skipped, in one go.
func TestMisfireLongDowntime(t *testing.T) {
	f := newFixture(t, local(2026, 11, 20, 12, 0)) // Friday
	sc := f.create(&crier.Schedule{Spec: "CRON_TZ=Europe/Berlin 0 8 * * 1-5", Announcement: notice()})
	f.restart()
	f.tick(local(2026, 11, 26, 8, 5)) // Thursday: Monday to Wednesday were missed

	var got []string
	for _, r := range f.runs(sc.ID) {
		got = append(got, r.FireAt.In(berlin).Format("Mon 15:04 ")+string(r.State))
	}
	want := []string{"Mon 08:00 skipped", "Tue 08:00 skipped", "Wed 08:00 skipped", "Thu 08:00 published"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
	if as := f.announcements(); len(as) != 1 || as[0].Title != "IT-Ausfall: Stand 26.11.2026" {
		t.Errorf("announcements: %d; want only Thursday's", len(as))
	}
	if n := strings.Count(f.logs.String(), "scheduled run skipped"); n != 3 {
		t.Errorf("%d skipped runs logged, want 3", n)
	}
}

// crashing is an engine that dies around the commit of an announcement:
// before it (nothing committed) or after it (committed, but the scheduler
// never hears so). It stands for a process killed at that moment.
type crashing struct {
	schedule.Engine
	afterCommit bool
}

var errCrash = errors.New("process killed")

func (c crashing) Publish(ctx context.Context, a *crier.Announcement, key string) (*crier.PublishResult, error) {
	if c.afterCommit {
		if _, err := c.Engine.Publish(ctx, a, key); err != nil {
			return nil, err
		}
	}
	return nil, errCrash
}

// TestRestartWhileFiring: crier dies while it publishes a run and starts
// again. However the crash and the restart fall, the run ends with exactly
// one announcement, or none when it was never committed and the restart is
// past the grace window.
func TestRestartWhileFiring(t *testing.T) {
	fire := local(2026, 11, 26, 8, 0)
	for _, tc := range []struct {
		name        string
		afterCommit bool
		restart     time.Time
		want        int
		state       crier.RunState
	}{
		{"killed before the commit, restarted within grace", false, fire.Add(2 * time.Minute), 1, crier.RunPublished},
		{"killed after the commit, restarted within grace", true, fire.Add(2 * time.Minute), 1, crier.RunPublished},
		{"killed before the commit, restarted after grace", false, fire.Add(20 * time.Minute), 0, crier.RunSkipped},
		{"killed after the commit, restarted after grace", true, fire.Add(20 * time.Minute), 1, crier.RunPublished},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, local(2026, 11, 25, 12, 0))
			sc := f.create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()})
			f.sched.Engine = crashing{Engine: f.engine, afterCommit: tc.afterCommit}
			f.clock.Set(fire)
			if _, err := f.sched.Tick(context.Background()); !errors.Is(err, errCrash) {
				t.Fatalf("Tick with a crashing engine: %v", err)
			}
			f.restart()
			f.tick(tc.restart)
			f.tick(tc.restart.Add(time.Minute))

			as := f.announcements()
			if len(as) != tc.want {
				t.Fatalf("%d announcements, want %d", len(as), tc.want)
			}
			runs := f.runs(sc.ID)
			if len(runs) != 1 || runs[0].State != tc.state {
				t.Fatalf("runs = %+v, want one %s", runs, tc.state)
			}
			if tc.want == 1 {
				if as[0].ID != runs[0].Announcement {
					t.Errorf("announcement %s, run says %s", as[0].ID, runs[0].Announcement)
				}
				ds, err := f.db.Deliveries(context.Background(), crier.DeliveryFilter{Announcement: as[0].ID})
				if err != nil || len(ds) != 2 {
					t.Errorf("%d deliveries, %v; want 2 (one per town), queued once", len(ds), err)
				}
				if runs[0].Deliveries != 2 {
					t.Errorf("the run records %d deliveries, want the announcement's 2", runs[0].Deliveries)
				}
			}
			if next := f.schedule(sc.ID).NextRun; !next.Equal(local(2026, 11, 27, 8, 0)) {
				t.Errorf("next run %v, want tomorrow 08:00", next)
			}
		})
	}
}

// TestClaimKeepsOthersOff: a scheduler that starts while the claim of
// another (that may still be publishing) holds, leaves the run alone until
// the claim's lease has passed.
func TestClaimKeepsOthersOff(t *testing.T) {
	f := newFixture(t, local(2026, 11, 25, 12, 0))
	sc := f.create(&crier.Schedule{Spec: "0 8 * * *", Announcement: notice()})
	fire := local(2026, 11, 26, 8, 0)
	f.sched.Engine = crashing{Engine: f.engine, afterCommit: true}
	f.clock.Set(fire)
	if _, err := f.sched.Tick(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("Tick: %v", err)
	}
	f.restart()
	if next := f.tick(fire.Add(30 * time.Second)); !next.Equal(fire.Add(schedule.DefaultLease)) {
		t.Errorf("within the lease, Tick says to come back at %v, want when the lease ends, %v", next, fire.Add(schedule.DefaultLease))
	}
	if runs := f.runs(sc.ID); runs[0].State != crier.RunClaimed {
		t.Errorf("within the lease the run is %s, want still claimed", runs[0].State)
	}
	f.tick(fire.Add(schedule.DefaultLease))
	runs := f.runs(sc.ID)
	if runs[0].State != crier.RunPublished || runs[0].Deliveries != 2 || len(f.announcements()) != 1 {
		t.Errorf("after the lease: run %+v, %d announcements; want published once, with its deliveries", runs[0], len(f.announcements()))
	}
	if !strings.Contains(f.logs.String(), "repeated=true") {
		t.Errorf("the second publish should have been answered from the idempotency key:\n%s", f.logs)
	}
}
