package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without zone data

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/store/sqlite"
)

// newScheduleEnv is a server whose scheduler keeps its schedules in a real
// SQLite file; announcements stay in the fake store.
func newScheduleEnv(t *testing.T, edit ...func(*Options)) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := 0
	return newEnv(t, append([]func(*Options){func(o *Options) {
		o.Schedules = &schedule.Scheduler{Store: db, Engine: o.Engine, Clock: fixedClock{testNow},
			NewID: func() string { n++; return fmt.Sprintf("sched%d", n) }}
	}}, edit...)...)
}

func TestScheduleAPI(t *testing.T) {
	e := newScheduleEnv(t)
	ctx := context.Background()
	a := testAnnouncement()
	a.Title = "IT-Ausfall: Stand {{date}}"
	sc, err := e.client.CreateSchedule(ctx, &crier.Schedule{Spec: "0 8 * * 1-5", ExpiresAfter: crier.Duration(4 * time.Hour),
		Announcement: a}, "req-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if status, header := e.seen.last(); status != http.StatusCreated || header.Get("Location") != "/api/v1/schedules/sched1" {
		t.Errorf("create: status %d, Location %q", status, header.Get("Location"))
	}
	// The schedule records who made it: its runs are theirs.
	authored := *a
	authored.Author = "admin"
	want := &crier.Schedule{ID: "sched1", Spec: "CRON_TZ=Europe/Berlin 0 8 * * 1-5", ExpiresAfter: crier.Duration(4 * time.Hour),
		Announcement: &authored, State: crier.ScheduleActive, NextRun: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC),
		CreatedAt: testNow, UpdatedAt: testNow}
	if d := cmp.Diff(want, sc); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	if again, err := e.client.CreateSchedule(ctx, &crier.Schedule{Spec: "0 9 * * *", Announcement: a}, "req-1", false); err != nil || again.ID != "sched1" {
		t.Errorf("repeated key: %+v, %v", again, err)
	}
	if status, _ := e.seen.last(); status != http.StatusOK {
		t.Errorf("repeated key: status %d, want 200", status)
	}

	// The JSON shape of the API.
	status, body := rawRequest(t, e, http.MethodGet, "/api/v1/schedules/sched1", testToken, "")
	for _, s := range []string{`"spec":"CRON_TZ=Europe/Berlin 0 8 * * 1-5"`, `"expires_after":"4h0m0s"`,
		`"next_run":"2026-11-27T07:00:00Z"`, `"state":"active"`, `"runs":[]`} {
		if status != http.StatusOK || !strings.Contains(string(body), s) {
			t.Errorf("GET schedule: %d, body lacks %s:\n%s", status, s, body)
		}
	}
	list, err := e.client.Schedules(ctx, "")
	if err != nil || len(list) != 1 || list[0].ID != "sched1" {
		t.Errorf("Schedules: %v, %v", list, err)
	}
	if list, err := e.client.Schedules(ctx, crier.SchedulePaused); err != nil || len(list) != 0 {
		t.Errorf("Schedules(paused): %v, %v", list, err)
	}
	if _, err := e.client.Schedules(ctx, "sleeping"); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("Schedules(sleeping): %v, want invalid", err)
	}

	spec := "0 9 * * *"
	changed, err := e.client.UpdateSchedule(ctx, "sched1", &schedule.Patch{Spec: &spec})
	if err != nil || changed.Spec != "CRON_TZ=Europe/Berlin 0 9 * * *" || !changed.NextRun.Equal(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("UpdateSchedule: %+v, %v", changed, err)
	}
	bad := "0 8 * *"
	if _, err := e.client.UpdateSchedule(ctx, "sched1", &schedule.Patch{Spec: &bad}); crier.ErrorCode(err) != crier.EINVALID ||
		!strings.Contains(err.Error(), "expected exactly 5 fields") {
		t.Errorf("UpdateSchedule with a bad spec: %v", err)
	}
	if status, _ := rawRequest(t, e, http.MethodPatch, "/api/v1/schedules/sched1", testToken, `{"cron":"0 8 * * *"}`); status != http.StatusBadRequest {
		t.Errorf("PATCH with an unknown field: %d, want 400", status)
	}
	if _, err := e.client.UpdateSchedule(ctx, "nope", &schedule.Patch{Spec: &spec}); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("UpdateSchedule of an unknown id: %v", err)
	}

	for _, step := range []struct {
		op    func(context.Context, string) (*crier.Schedule, error)
		state crier.ScheduleState
	}{
		{e.client.PauseSchedule, crier.SchedulePaused},
		{e.client.ResumeSchedule, crier.ScheduleActive},
		{e.client.CancelSchedule, crier.ScheduleCanceled},
		{e.client.CancelSchedule, crier.ScheduleCanceled},
	} {
		got, err := step.op(ctx, "sched1")
		if err != nil || got.State != step.state {
			t.Errorf("want %s: %+v, %v", step.state, got, err)
		}
	}
	if _, err := e.client.PauseSchedule(ctx, "sched1"); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("pause of a removed schedule: %v, want conflict", err)
	}
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/schedules", "", ""); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", status)
	}
}

func TestCreateScheduleProblems(t *testing.T) {
	e := newScheduleEnv(t)
	body := `{"id":"mine","state":"done","spec":"0 25 * * *","until":"2026-01-01T00:00:00Z",
		"announcement":{"id":"x","title":"","body":"b","towns":["soest"]}}`
	status, b := rawRequest(t, e, http.MethodPost, "/api/v1/schedules", testToken, body)
	var er errorResponse
	decodeBody(t, b, &er)
	if status != http.StatusUnprocessableEntity || !strings.Contains(er.Error.Message, "nothing was scheduled") {
		t.Fatalf("status %d: %s", status, b)
	}
	if d := cmp.Diff([]string{"id", "state", "announcement.id"}, problemPlaces(er.Error.Details)); d != "" {
		t.Errorf("assigned fields (-want +got):\n%s", d)
	}
	body = `{"spec":"0 25 * * *","until":"2026-01-01T00:00:00Z","announcement":{"title":"","body":"b","towns":["soest"]}}`
	_, b = rawRequest(t, e, http.MethodPost, "/api/v1/schedules", testToken, body)
	decodeBody(t, b, &er)
	if d := cmp.Diff([]string{"until", "spec", "title"}, problemPlaces(er.Error.Details)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if status, _ := rawRequest(t, e, http.MethodPost, "/api/v1/schedules", testToken, `{"spec":"@daily","expires_after":"soon"}`); status != http.StatusBadRequest {
		t.Errorf("expires_after that is no duration: %d, want 400", status)
	}
}

// TestPublishAt: a publish_at in the future is rendered and checked now
// and kept as a one-off schedule with the announcement's id; one just past
// publishes at once; one long past is refused with every other problem.
func TestPublishAt(t *testing.T) {
	e := newScheduleEnv(t)
	ctx := context.Background()
	at := testNow.Add(2 * time.Hour)
	res, err := e.client.PublishAt(ctx, testAnnouncement(), at, "req-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if status, header := e.seen.last(); status != http.StatusAccepted || header.Get("Location") != "/api/v1/schedules/sched1" {
		t.Errorf("status %d, Location %q", status, header.Get("Location"))
	}
	if res.Announcement.ID != "sched1" || res.Schedule.ID != "sched1" || res.Deliveries != 0 || !res.Schedule.At.Equal(at) ||
		res.Schedule.State != crier.ScheduleActive {
		t.Errorf("result %+v, schedule %+v", res, res.Schedule)
	}
	if a, _ := e.store.size(); a != 0 {
		t.Errorf("%d announcements published, want none yet", a)
	}
	if again, err := e.client.PublishAt(ctx, testAnnouncement(), at, "req-1", false); err != nil || again.Schedule.ID != "sched1" {
		t.Errorf("repeated key: %+v, %v", again, err)
	}
	// The key answers with its schedule whatever the repeated request says
	// about the time, and nothing is published for it.
	if again, err := e.client.PublishAt(ctx, testAnnouncement(), testNow.Add(-30*time.Second), "req-1", false); err != nil ||
		again.Schedule == nil || again.Schedule.ID != "sched1" {
		t.Errorf("repeated key with a time now due: %+v, %v; want schedule sched1", again, err)
	}

	res, err = e.client.PublishAt(ctx, testAnnouncement(), testNow.Add(-30*time.Second), "", false)
	if err != nil || res.Schedule != nil || res.Deliveries != 4 {
		t.Errorf("publish_at 30 seconds ago: %+v, %v; want published at once", res, err)
	}
	if a, _ := e.store.size(); a != 1 {
		t.Errorf("%d announcements, want 1", a)
	}

	bad := testAnnouncement()
	bad.Towns = []string{"dortmund"}
	_, err = e.client.PublishAt(ctx, bad, testNow.Add(-2*time.Minute), "", false)
	if d := cmp.Diff([]string{"publish_at", "towns[0]"}, problemPlaces(crier.ErrorDetails(err))); d != "" || crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("publish_at 2 minutes ago: %v (-want +got):\n%s", err, d)
	}
	_, err = e.client.PublishAt(ctx, bad, at, "", false)
	if d := cmp.Diff([]string{"towns[0]"}, problemPlaces(crier.ErrorDetails(err))); d != "" {
		t.Errorf("publish_at with an unknown town: %v (-want +got):\n%s", err, d)
	}
	if ss, _ := e.client.Schedules(ctx, ""); len(ss) != 1 {
		t.Errorf("%d schedules, want only the first", len(ss))
	}
	// Without publish_at the route is what it was.
	if status, _ := rawRequest(t, e, http.MethodPost, "/api/v1/announcements", testToken, `{"title":"x","bogus":1}`); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", status)
	}
	// With it, a mistake elsewhere in the body is the one reported.
	for body, want := range map[string]string{
		`{"publish_at":"2026-11-26T12:00:00Z","titel":"x"}`: `"field":"titel"`,
		`{"publish_at":"morgen","title":"x"}`:               "morgen",
		`{"publish_at":"2026-11-26T12:00:00Z","towns":7}`:   `"field":"towns"`,
	} {
		status, b := rawRequest(t, e, http.MethodPost, "/api/v1/announcements", testToken, body)
		if status != http.StatusBadRequest || !strings.Contains(string(b), want) || strings.Contains(string(b), `"field":"publish_at","message":"unknown field"`) {
			t.Errorf("%s: %d %s; want 400 naming %s", body, status, b, want)
		}
	}
}

func TestNoScheduler(t *testing.T) {
	e := newEnv(t)
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/schedules", testToken, ""); status != http.StatusNotFound {
		t.Errorf("schedules without a scheduler: %d, want 404", status)
	}
	c := *e.client
	c.Language = "en"
	_, err := c.PublishAt(context.Background(), testAnnouncement(), testNow.Add(time.Hour), "", false)
	if crier.ErrorCode(err) != crier.EINVALID || !strings.Contains(err.Error(), "does not schedule") {
		t.Errorf("publish_at without a scheduler: %v", err)
	}
}

// TestScheduleRepeat: a schedule or publish_at that says what a pending
// schedule says at the same time is answered 409 naming that schedule,
// unless the query says again=true; a repeated Idempotency-Key still gets
// its first answer.
func TestScheduleRepeat(t *testing.T) {
	e := newScheduleEnv(t)
	ctx := context.Background()
	at := testNow.Add(2 * time.Hour)
	first, err := e.client.PublishAt(ctx, testAnnouncement(), at, "req-1", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PublishAt(ctx, testAnnouncement(), at, "req-2", false)
	ps := crier.ErrorDetails(err)
	if status, _ := e.seen.last(); status != http.StatusConflict || len(ps) != 1 || ps[0].Code != schedule.CodeRepeat ||
		ps[0].Args[0] != first.Schedule.ID || !strings.Contains(crier.ErrorMessage(err), "schedule "+first.Schedule.ID+" already publishes") ||
		!strings.Contains(crier.ErrorMessage(err), "again=true") {
		t.Errorf("repeated publish_at: %d %v %+v; want 409 naming %s", status, err, ps, first.Schedule.ID)
	}
	if again, err := e.client.PublishAt(ctx, testAnnouncement(), at, "req-1", false); err != nil || again.Schedule.ID != first.Schedule.ID {
		t.Errorf("repeated key: %+v, %v; want the first schedule", again, err)
	}
	body := `{"at":"` + at.Format(time.RFC3339) + `","announcement":{"title":"` + testAnnouncement().Title + `","body":` +
		strconv.Quote(testAnnouncement().Body) + `,"towns":["` + strings.Join(testAnnouncement().Towns, `","`) + `"]}}`
	if status, b := rawRequest(t, e, http.MethodPost, "/api/v1/schedules", testToken, body); status != http.StatusConflict ||
		!strings.Contains(string(b), `"code":"schedule.repeat"`) {
		t.Errorf("repeated schedule: %d %s; want 409", status, b)
	}
	if status, b := rawRequest(t, e, http.MethodPost, "/api/v1/schedules?again=maybe", testToken, body); status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(b), `"field":"again"`) {
		t.Errorf("again=maybe: %d %s; want 422", status, b)
	}
	if status, b := rawRequest(t, e, http.MethodPost, "/api/v1/schedules?again=true", testToken, body); status != http.StatusCreated {
		t.Errorf("schedule with again=true: %d %s; want 201", status, b)
	}
	if _, err := e.client.PublishAt(ctx, testAnnouncement(), at, "", true); err != nil {
		t.Errorf("publish_at with again: %v", err)
	}
	if ss, _ := e.client.Schedules(ctx, ""); len(ss) != 3 {
		t.Errorf("%d schedules, want 3", len(ss))
	}
}
