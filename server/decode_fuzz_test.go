package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/store/sqlite"
)

// FuzzAPIBody sends any body, with the admin token, to every API route
// that reads one. Whatever the body, the answer is never a 5xx: a body
// that cannot be read, or that asks for something invalid, is the
// client's mistake, and the answer says so in the API's error form.
func FuzzAPIBody(f *testing.F) {
	db, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "crier.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	n := 0
	e := newEnv(f, func(o *Options) {
		o.Schedules = &schedule.Scheduler{Store: db, Engine: o.Engine, Clock: fixedClock{testNow},
			NewID: func() string { n++; return fmt.Sprintf("sched%d", n) }}
		o.Statuses = &fakeStatuses{}
	})
	id := e.mustPublish(f)
	sc, err := e.client.CreateSchedule(context.Background(), &crier.Schedule{Spec: "0 8 * * 1-5",
		ExpiresAfter: crier.Duration(4 * time.Hour), Announcement: testAnnouncement()}, "", false)
	if err != nil {
		f.Fatal(err)
	}
	routes := []struct{ method, path string }{
		{http.MethodPost, "/api/v1/announcements"},
		{http.MethodPost, "/api/v1/preview"},
		{http.MethodPost, "/api/v1/announcements/" + id + "/update"},
		{http.MethodPost, "/api/v1/announcements/" + id + "/cancel"},
		{http.MethodPost, "/api/v1/announcements/" + id + "/retry"},
		{http.MethodPost, "/api/v1/subscribers"},
		{http.MethodPost, "/api/v1/subscribers/soest/invite"},
		{http.MethodPut, "/api/v1/towns/soest/status"},
		{http.MethodPost, "/api/v1/schedules"},
		{http.MethodPatch, "/api/v1/schedules/" + sc.ID},
	}
	for _, s := range []string{
		`{"title":"Rathaus geschlossen","body":"Das Rathaus ist heute geschlossen.","towns":["kreis-soest"]}`,
		`{"title":"x","body":"y","towns":["soest"],"publish_at":"2026-11-26T09:00:00+01:00"}`,
		`{"title":"x","body":"y","towns":["soest"],"publish_at":"0001-01-01T00:00:00Z","expires":"9999-12-31T23:59:59Z"}`,
		`{"title":"x","body":"{{.Vars.missing}}","towns":["nirgends"],"channels":["mastodon-soest"],"mode":"actual"}`,
		`{"reason":"Termin verschoben","body":"neu"}`,
		`{"states":["failed","unknown","sent","lost"]}`,
		`{"subscribers":[{"town":"soest","email":"anna@example.org"},{"town":"werl","email":"keine adresse"}]}`,
		`{"services":[{"service":"Bürgerbüro","availability":"down","text":"<script>"}]}`,
		`{"spec":"*/0 * * * *","announcement":{"title":"x","body":"y","towns":["soest"]},"expires_after":"-1h"}`,
		`{"spec":"CRON_TZ=Mars/Olympus 0 8 * * *","until":"2020-01-01T00:00:00Z"}`,
		`{"title":1}`, `{"towns":"soest"}`, `{"unknown":true}`, `{} {}`, `[]`, `null`, `"x"`, ``, `{`,
		`{"title":"\ud800"}`, `{"title":"` + strings.Repeat("ä", 1000) + `"}`,
		strings.Repeat(`{"a":`, 10000), `{"expires":"2026-13-01T00:00:00Z"}`, `{"expires_after":"9999999999999h"}`,
	} {
		for i := range routes {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.server.ServeHTTP(rec, req)
		shown := body
		if len(shown) > 200 {
			shown = shown[:200] + "…"
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, shown, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var r errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || r.Error.Code == "" {
				t.Fatalf("%s %s %q: %d without an error code: %s", rt.method, rt.path, shown, rec.Code, rec.Body)
			}
		}
	})
}
