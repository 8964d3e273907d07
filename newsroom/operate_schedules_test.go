package newsroom_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// addSchedule stores a one-off schedule for towns straight in the store.
func (o *operateEnv) addSchedule(id, title string, towns ...string) {
	o.t.Helper()
	now := o.clock.Now()
	_, _, err := o.db.CreateSchedule(context.Background(), &crier.Schedule{ID: id, At: now.Add(24 * time.Hour),
		State: crier.ScheduleActive, NextRun: now.Add(24 * time.Hour), CreatedAt: now, UpdatedAt: now,
		Announcement: &crier.Announcement{Title: title, Body: "Text", Towns: towns, Mode: crier.ModeExercise}}, "")
	if err != nil {
		o.t.Fatal(err)
	}
}

func (o *operateEnv) scheduleState(id string) crier.ScheduleState {
	o.t.Helper()
	sc, err := o.db.Schedule(context.Background(), id)
	if err != nil {
		o.t.Fatal(err)
	}
	return sc.State
}

func TestSchedules(t *testing.T) {
	o := newOperateEnv(t)
	o.addSchedule("s-soest", `Bürgerbüro <em>zu</em>`, "soest")
	o.addSchedule("s-werl", "Werl geschlossen", "werl")
	o.addSchedule("s-kreis", "Kreisweit", "kreis-soest")
	anna, admin := o.browser(), o.browser()
	anna.login("anna")
	admin.login("root")

	res, body := anna.get("/admin/operate/schedules")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("anna: %s", res.Status)
	}
	mustContain(t, "anna's schedules", body, `id="schedule-s-soest"`, "Bürgerbüro &lt;em&gt;zu&lt;/em&gt;",
		`action="/admin/operate/schedules/s-soest/pause"`)
	mustNotContain(t, "anna's schedules", body, "s-werl", "Werl geschlossen", "s-kreis", "<em>zu")
	_, body = admin.get("/admin/operate/schedules")
	mustContain(t, "admin's schedules", body, `id="schedule-s-soest"`, `id="schedule-s-werl"`, `id="schedule-s-kreis"`)

	// Forged posts for Werl's and the county's schedules change nothing.
	csrf := anna.csrf("/admin/operate/schedules")
	for _, id := range []string{"s-werl", "s-kreis"} {
		for _, op := range []string{"pause", "resume", "delete"} {
			if res, _ := anna.post("/admin/operate/schedules/"+id+"/"+op, url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusForbidden {
				t.Errorf("anna %s %s: %s, want 403", op, id, res.Status)
			}
		}
		if st := o.scheduleState(id); st != crier.ScheduleActive {
			t.Errorf("%s after anna's forged posts: %s", id, st)
		}
	}

	// Anna pauses, resumes and deletes her town's schedule.
	for _, step := range []struct {
		op   string
		want crier.ScheduleState
	}{{"pause", crier.SchedulePaused}, {"resume", crier.ScheduleActive}, {"delete", crier.ScheduleCanceled}} {
		res, _ := anna.post("/admin/operate/schedules/s-soest/"+step.op, url.Values{"csrf": {csrf}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %s", step.op, res.Status)
		}
		if st := o.scheduleState("s-soest"); st != step.want {
			t.Fatalf("after %s: %s, want %s", step.op, st, step.want)
		}
	}
	_, body = anna.get("/admin/operate/schedules?done=schedule_delete&what=s-soest")
	mustContain(t, "after delete", body, `role="status"`, "Zeitplan s-soest gelöscht", `id="no-schedules"`)
	_, body = anna.get("/admin/operate/schedules?all=1")
	mustContain(t, "every schedule", body, `id="schedule-s-soest"`, "gelöscht")
	// A deleted schedule is final.
	if res, _ := anna.post("/admin/operate/schedules/s-soest/pause", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusConflict {
		t.Errorf("pause a deleted schedule: %s", res.Status)
	}
	if res, _ := anna.post("/admin/operate/schedules/nope/pause", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("pause an unknown schedule: %s", res.Status)
	}

	// A viewer of Soest reads, but has no buttons and may not post.
	o.addUser("vera", crier.RoleViewer, "soest")
	o.addSchedule("s-soest-2", "Wieder Soest", "soest")
	vera := o.browser()
	vera.login("vera")
	_, body = vera.get("/admin/operate/schedules")
	mustContain(t, "vera's schedules", body, `id="schedule-s-soest-2"`)
	mustNotContain(t, "vera's schedules", body, "/pause")
	if res, _ := vera.post("/admin/operate/schedules/s-soest-2/pause", url.Values{"csrf": {vera.csrf("/admin/operate/schedules")}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("vera pauses: %s", res.Status)
	}
}
