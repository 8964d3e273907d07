package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/store/sqlite"
)

// fakeAccounts holds users' tokens by hash.
type fakeAccounts struct {
	mu     sync.Mutex
	tokens map[[sha256.Size]byte]*crier.Principal
}

func (f *fakeAccounts) TokenPrincipal(_ context.Context, hash [sha256.Size]byte, _ time.Time) (*crier.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.tokens[hash]; p != nil {
		return p, nil
	}
	return nil, crier.Errorf(crier.EUNAUTHORIZED, "invalid token")
}

func (f *fakeAccounts) revoke(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tokens, crier.TokenHash(secret))
}

const (
	viewerWerl  = "crier_viewer_werl"
	editorSoest = "crier_editor_soest"
)

func newAccountsEnv(t *testing.T) (*env, *fakeAccounts) {
	accounts := &fakeAccounts{tokens: map[[sha256.Size]byte]*crier.Principal{
		crier.TokenHash(viewerWerl):  {Name: "vera", Role: crier.RoleViewer, Towns: []string{"werl"}, Token: 1},
		crier.TokenHash(editorSoest): {Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"}, Token: 2},
	}}
	db := mustOpenSQLite(t)
	e := newScheduleEnv(t, func(o *Options) { o.Accounts, o.Captures = accounts, db })
	return e, accounts
}

func mustOpenSQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestEveryRouteAuthorized walks the route table: every API route has a
// known action, and a viewer of werl gets 403 from every route but the
// ones that read what every role may read and the lists, which show them
// only werl's, whatever the route's towns come from.
func TestEveryRouteAuthorized(t *testing.T) {
	e, _ := newAccountsEnv(t)
	res, err := e.client.Publish(context.Background(), &crier.Announcement{Title: "Wasser", Body: "Abkochen.", Towns: []string{"soest"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := e.client.CreateSchedule(context.Background(), &crier.Schedule{Spec: "0 8 * * *",
		Announcement: &crier.Announcement{Title: "Sprechstunde", Body: "Heute.", Towns: []string{"soest"}}}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	routes := e.server.apiRoutes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	seen := map[string]bool{}
	for _, rt := range routes {
		if !slices.Contains(crier.Actions, rt.action) || rt.towns < noTowns || rt.towns > lastScope || rt.handler == nil {
			t.Errorf("%s has no authorization rule: action %q, towns %d", rt.pattern, rt.action, rt.towns)
		}
		if seen[rt.pattern] {
			t.Errorf("%s twice in the table", rt.pattern)
		}
		seen[rt.pattern] = true
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok {
			method, path = http.MethodGet, "/api/v1/nothing"
		}
		id := res.Announcement.ID
		switch {
		case strings.HasPrefix(path, "/api/v1/schedules/"):
			id = sc.ID
		case strings.HasPrefix(path, "/api/v1/deliveries/"):
			id = "1"
		}
		path = strings.NewReplacer("{id}", id, "{town}", "soest", "{email}", "a@example.org",
			"{channel}", "mastodon-soest", "{endpoint}", "x").Replace(path)
		status, body := rawRequest(t, e, method, path, viewerWerl, "{}")
		// The lists answer with what of werl there is: nothing here.
		readable := rt.action == crier.ActionRead && (rt.towns == noTowns || rt.towns == principalTowns) || rt.towns == public
		if readable && status == http.StatusForbidden || !readable && status != http.StatusForbidden {
			t.Errorf("%s as viewer of werl: status %d (%s)", rt.pattern, status, body)
		}
	}
}

// TestPublicRoutes: the routes without a bearer token are the ones
// named here, and they answer a request without one themselves.
func TestPublicRoutes(t *testing.T) {
	e := newEnv(t)
	var got []string
	for _, rt := range e.server.apiRoutes() {
		if rt.towns == public {
			got = append(got, rt.pattern)
		}
	}
	if want := []string{"POST /api/v1/login"}; !slices.Equal(got, want) {
		t.Errorf("public routes %q, want %q", got, want)
	}
	for _, rt := range e.server.apiRoutes() {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || rt.towns == public {
			continue
		}
		path = strings.NewReplacer("{id}", "x", "{town}", "soest", "{email}", "a@example.org",
			"{channel}", "c", "{endpoint}", "x").Replace(path)
		if status, body := rawRequest(t, e, method, path, "", "{}"); status != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d %s", rt.pattern, status, body)
		}
	}
}

// TestEditorTowns: an editor of soest publishes for soest, but not for
// werl or a group with werl; the 403 names werl. A revoked token is
// refused with its next request.
func TestEditorTowns(t *testing.T) {
	e, accounts := newAccountsEnv(t)
	publish := func(towns ...string) (int, string) {
		b, _ := json.Marshal(crier.Announcement{Title: "Wasser", Body: "Abkochen.", Towns: towns})
		status, body := rawRequest(t, e, http.MethodPost, "/api/v1/announcements", editorSoest, string(b))
		return status, string(body)
	}
	for _, towns := range [][]string{{"werl"}, {"kreis-soest"}, {"all"}, {"soest", "werl"}} {
		if status, body := publish(towns...); status != http.StatusForbidden || !strings.Contains(body, `may not publish for werl"`) {
			t.Errorf("publish for %v: %d %s", towns, status, body)
		}
	}
	b, _ := json.Marshal(crier.Announcement{Title: "Wasser", Body: "Abkochen.", Towns: []string{"werl"}})
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/preview", editorSoest, string(b)); status != http.StatusForbidden {
		t.Errorf("preview for werl: %d %s", status, body)
	}
	if n, _ := e.store.size(); n != 0 {
		t.Fatalf("%d announcements stored after refusals", n)
	}
	status, body := publish("soest")
	if status != http.StatusAccepted {
		t.Fatalf("publish for soest: %d %s", status, body)
	}
	var res crier.PublishResult
	decodeBody(t, []byte(body), &res)
	// An update of its own announcement may not reach into werl.
	b, _ = json.Marshal(crier.Announcement{Title: "Wasser", Body: "Abkochen, auch in Werl.", Towns: []string{"soest", "werl"}})
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/announcements/"+res.Announcement.ID+"/update", editorSoest, string(b)); status != http.StatusForbidden {
		t.Errorf("update into werl: %d %s", status, body)
	}
	// Nor may it cancel the admin's announcement for the whole Kreis.
	id := e.mustPublish(t)
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/announcements/"+id+"/cancel", editorSoest, "{}"); status != http.StatusForbidden ||
		!strings.Contains(string(body), "for werl") {
		t.Errorf("cancel of a notice for the Kreis: %d %s", status, body)
	}
	if status, body := rawRequest(t, e, http.MethodPost, "/api/v1/announcements/"+res.Announcement.ID+"/cancel", editorSoest, "{}"); status != http.StatusAccepted {
		t.Errorf("cancel of its own: %d %s", status, body)
	}
	// Schedules belong to the towns of their announcement.
	for towns, want := range map[string]int{`"werl"`: http.StatusForbidden, `"soest"`: http.StatusCreated} {
		body := `{"spec":"0 8 * * *","announcement":{"title":"Sprechstunde","body":"Heute.","towns":[` + towns + `]}}`
		if status, answer := rawRequest(t, e, http.MethodPost, "/api/v1/schedules", editorSoest, body); status != want {
			t.Errorf("schedule for %s: %d %s, want %d", towns, status, answer, want)
		}
	}
	if status, body := rawRequest(t, e, http.MethodPatch, "/api/v1/schedules/sched1",
		editorSoest, `{"announcement":{"title":"Sprechstunde","body":"Heute.","towns":["soest","werl"]}}`); status != http.StatusForbidden {
		t.Errorf("schedule changed into werl: %d %s", status, body)
	}
	accounts.revoke(editorSoest)
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/towns", editorSoest, ""); status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", status)
	}
}

// readerTokens are a viewer and an editor of soest, in newTownsEnv.
var readerTokens = map[string]*crier.Principal{
	"crier_viewer_soest": {Name: "vic", Role: crier.RoleViewer, Towns: []string{"soest"}, Token: 3},
	"crier_editor_soest": {Name: "ed", Role: crier.RoleEditor, Towns: []string{"soest"}, Token: 4},
}

// newTownsEnv starts a server on a real SQLite store with an
// announcement for soest, one for werl, one for both, and one for the
// Kreis, each with its deliveries and a capture per town, and returns the
// ids by name.
func newTownsEnv(t *testing.T) (*env, *sqlite.DB, map[string]string) {
	t.Helper()
	db := mustOpenSQLite(t)
	accounts := &fakeAccounts{tokens: map[[sha256.Size]byte]*crier.Principal{}}
	for token, p := range readerTokens {
		accounts.tokens[crier.TokenHash(token)] = p
	}
	n := 0
	e := newEnv(t, func(o *Options) {
		o.Engine.Store, o.Store, o.Captures, o.Accounts = db, db, db, accounts
		o.Schedules = &schedule.Scheduler{Store: db, Engine: o.Engine, Clock: fixedClock{testNow},
			NewID: func() string { n++; return fmt.Sprintf("sched%d", n) }}
	})
	ctx := context.Background()
	ids := map[string]string{}
	for name, towns := range map[string][]string{"soest": {"soest"}, "werl": {"werl"}, "both": {"soest", "werl"},
		"kreis": {"kreis-soest"}} {
		res, err := e.client.Publish(ctx, &crier.Announcement{Title: "Wasser " + name, Body: "Abkochen.", Towns: towns}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = res.Announcement.ID
		sc, err := e.client.CreateSchedule(ctx, &crier.Schedule{Spec: "0 8 * * *",
			Announcement: &crier.Announcement{Title: "Sprechstunde " + name, Body: "Heute.", Towns: towns}}, "", false)
		if err != nil {
			t.Fatal(err)
		}
		ids["schedule "+name] = sc.ID
		ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: res.Announcement.ID})
		if err != nil || len(ds) == 0 {
			t.Fatalf("deliveries of %s: %v, %v", name, ds, err)
		}
		for _, d := range ds {
			ids[name+"/"+d.Town] = strconv.FormatInt(d.ID, 10)
			if err := db.SaveCapture(ctx, &crier.Capture{Key: d.Key, Announcement: d.Announcement, Revision: 1,
				Town: d.Town, Channel: d.Channel, Type: d.Type, Text: "Wasser", At: testNow}); err != nil {
				t.Fatal(err)
			}
		}
		// A mail to one subscriber: only an admin reads it.
		if err := db.SaveCapture(ctx, &crier.Capture{Key: ids[name] + ".mail", Announcement: ids[name], Revision: 1,
			Town: "soest", Channel: "mail-soest", Type: "email", Recipient: "anna@example.org", At: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	return e, db, ids
}

// TestListsShowOnlyTheirTowns: for every route that lists or reads what
// concerns some towns, a viewer and an editor of soest see soest's part
// and nothing of werl's; the admin sees everything. A test of the route
// table fails when a list route is added without a case here.
func TestListsShowOnlyTheirTowns(t *testing.T) {
	e, _, ids := newTownsEnv(t)
	type check func(t *testing.T, token string, admin bool)
	get := func(t *testing.T, token, path string, want int, v any) {
		t.Helper()
		status, body := rawRequest(t, e, http.MethodGet, path, token, "")
		if status != want {
			t.Fatalf("GET %s: %d %s, want %d", path, status, body, want)
		}
		if v != nil {
			decodeBody(t, body, v)
		}
	}
	towns := func(list []string, want ...string) string {
		slices.Sort(list)
		list = slices.Compact(list)
		slices.Sort(want)
		if !slices.Equal(list, want) {
			return strings.Join(list, ",") + ", want " + strings.Join(want, ",")
		}
		return ""
	}
	checks := map[string]check{
		"GET /api/v1/announcements": func(t *testing.T, token string, admin bool) {
			var page AnnouncementPage
			get(t, token, "/api/v1/announcements", http.StatusOK, &page)
			var got []string
			for _, a := range page.Announcements {
				for name, id := range ids {
					if id == a.ID {
						got = append(got, name)
					}
				}
			}
			want := []string{"soest", "both", "kreis"}
			if admin {
				want = append(want, "werl")
			}
			if d := towns(got, want...); d != "" {
				t.Errorf("announcements: %s", d)
			}
			status := http.StatusForbidden
			if admin {
				status = http.StatusOK
			}
			get(t, token, "/api/v1/announcements?town=werl", status, nil)
		},
		"GET /api/v1/announcements/{id}": func(t *testing.T, token string, admin bool) {
			var st Status
			get(t, token, "/api/v1/announcements/"+ids["both"], http.StatusOK, &st)
			var got []string
			for _, c := range st.Counts {
				got = append(got, c.Town)
			}
			want, scope := []string{"soest"}, []string{"soest"}
			if admin {
				want, scope = []string{"soest", "werl"}, nil
			}
			if d := towns(got, want...); d != "" || !slices.Equal(st.Scope, scope) || st.Total != len(want) {
				t.Errorf("status of both: counts of %s, scope %v, total %d", d, st.Scope, st.Total)
			}
			if !admin {
				get(t, token, "/api/v1/announcements/"+ids["werl"], http.StatusForbidden, nil)
			}
		},
		"GET /api/v1/announcements/{id}/deliveries": func(t *testing.T, token string, admin bool) {
			for _, name := range []string{"both", "kreis"} {
				var page deliveryPage
				get(t, token, "/api/v1/announcements/"+ids[name]+"/deliveries", http.StatusOK, &page)
				var got []string
				for _, d := range page.Deliveries {
					got = append(got, d.Town)
				}
				want := []string{"soest"}
				if admin {
					want = append(want, "werl")
				}
				if d := towns(got, want...); d != "" {
					t.Errorf("deliveries of %s: %s", name, d)
				}
			}
			if !admin {
				get(t, token, "/api/v1/announcements/"+ids["both"]+"/deliveries?town=werl", http.StatusForbidden, nil)
				get(t, token, "/api/v1/announcements/"+ids["werl"]+"/deliveries", http.StatusForbidden, nil)
			}
		},
		"GET /api/v1/announcements/{id}/events": func(t *testing.T, token string, admin bool) {
			// TestEvents follows a stream; here only its first event.
			_, events := openEvents(t, e, token, ids["both"])
			ev, _ := next(t, events)
			var st Status
			if err := json.Unmarshal([]byte(ev.data), &st); err != nil || ev.name != "progress" {
				t.Fatalf("first event: %+v, %v", ev, err)
			}
			var got []string
			for _, c := range st.Counts {
				got = append(got, c.Town)
			}
			want := []string{"soest"}
			if admin {
				want = append(want, "werl")
			}
			if d := towns(got, want...); d != "" {
				t.Errorf("events of both: %s", d)
			}
			if !admin {
				get(t, token, "/api/v1/announcements/"+ids["werl"]+"/events", http.StatusForbidden, nil)
			}
		},
		"GET /api/v1/schedules": func(t *testing.T, token string, admin bool) {
			var list scheduleList
			get(t, token, "/api/v1/schedules?state=active", http.StatusOK, &list)
			var got []string
			for _, sc := range list.Schedules {
				for name, id := range ids {
					if id == sc.ID {
						got = append(got, strings.TrimPrefix(name, "schedule "))
					}
				}
			}
			want := []string{"soest", "both", "kreis"}
			if admin {
				want = append(want, "werl")
			}
			if d := towns(got, want...); d != "" {
				t.Errorf("schedules: %s", d)
			}
		},
		"GET /api/v1/deliveries/{id}/attempts": func(t *testing.T, token string, admin bool) {
			get(t, token, "/api/v1/deliveries/"+ids["both/soest"]+"/attempts", http.StatusOK, nil)
			status := http.StatusForbidden
			if admin {
				status = http.StatusOK
			}
			get(t, token, "/api/v1/deliveries/"+ids["both/werl"]+"/attempts", status, nil)
			get(t, token, "/api/v1/deliveries/999999/attempts", http.StatusNotFound, nil)
		},
		"GET /api/v1/captures": func(t *testing.T, token string, admin bool) {
			for _, path := range []string{"/api/v1/captures", "/api/v1/captures?order=newest",
				"/api/v1/captures?announcement=" + ids["both"]} {
				var list captureList
				get(t, token, path, http.StatusOK, &list)
				var got []string
				personal := false
				for _, c := range list.Captures {
					got = append(got, c.Town)
					personal = personal || c.Recipient != ""
				}
				want := []string{"soest"}
				if admin {
					want = append(want, "werl")
				}
				if d := towns(got, want...); d != "" || personal != admin {
					t.Errorf("%s: %s; mails to one address shown: %v", path, d, personal)
				}
			}
		},
	}
	for _, rt := range e.server.apiRoutes() {
		list := rt.towns == principalTowns || rt.towns == someStoredTown || rt.towns == storedDelivery
		if list && checks[rt.pattern] == nil {
			t.Errorf("%s shows some towns' data but has no case in this test", rt.pattern)
		}
	}
	tokens := []string{testToken}
	for token := range readerTokens {
		tokens = append(tokens, token)
	}
	for _, token := range tokens {
		for pattern, c := range checks {
			t.Run(token+" "+pattern, func(t *testing.T) { c(t, token, token == testToken) })
		}
	}
}

// TestAnnouncementPages: a reader of soest pages through their
// announcements with next_before, one at a time, and back with
// next_after; bad parameters are refused with every problem named.
func TestAnnouncementPages(t *testing.T) {
	e, _, ids := newTownsEnv(t)
	ctx := context.Background()
	c := &Client{URL: e.url, Token: "crier_viewer_soest"}
	var (
		seen []string
		q    = AnnouncementQuery{Limit: 1}
		last *AnnouncementPage
	)
	for range 10 {
		page, err := c.FindAnnouncements(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Announcements {
			seen = append(seen, a.ID)
		}
		if page.NextBefore == "" {
			last = page
			break
		}
		q.Before = page.NextBefore
	}
	want := []string{ids["soest"], ids["both"], ids["kreis"]}
	slices.Sort(want)
	slices.Reverse(want) // same time: by id, newest first
	if !slices.Equal(seen, want) {
		t.Fatalf("pages: %v, want %v", seen, want)
	}
	newer, err := c.FindAnnouncements(ctx, AnnouncementQuery{After: last.NextAfter, Limit: 1})
	if err != nil || len(newer.Announcements) != 1 || newer.Announcements[0].ID != want[1] || newer.NextBefore == "" {
		t.Errorf("the page after the last: %+v, %v", newer, err)
	}
	top, err := c.FindAnnouncements(ctx, AnnouncementQuery{After: newer.NextAfter, Limit: 5})
	if err != nil || len(top.Announcements) != 1 || top.Announcements[0].ID != want[0] {
		t.Errorf("the newest: %+v, %v", top, err)
	}
	if none, err := c.FindAnnouncements(ctx, AnnouncementQuery{After: top.NextAfter}); err != nil ||
		len(none.Announcements) != 0 || none.NextAfter != top.NextAfter {
		t.Errorf("nothing newer: %+v, %v; want the same after= again", none, err)
	}
	for _, f := range []AnnouncementQuery{{State: crier.AnnouncementPublished}, {Mode: crier.ModeExercise}, {Town: "soest"}} {
		page, err := c.FindAnnouncements(ctx, f)
		if err != nil || len(page.Announcements) != 3 {
			t.Errorf("%+v: %d announcements, %v; want 3", f, len(page.Announcements), err)
		}
	}
	for _, f := range []AnnouncementQuery{{State: crier.AnnouncementCanceled}, {Mode: crier.ModeActual}} {
		page, err := c.FindAnnouncements(ctx, f)
		if err != nil || len(page.Announcements) != 0 {
			t.Errorf("%+v: %d announcements, %v; want none", f, len(page.Announcements), err)
		}
	}
	status, body := rawRequest(t, e, http.MethodGet, "/api/v1/announcements?state=gone&mode=drill&town=paris&before=x&after=&limit=0",
		"crier_viewer_soest", "")
	for _, field := range []string{`"state"`, `"mode"`, `"town"`, `"before"`, `"limit"`} {
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), field) {
			t.Errorf("bad parameters: %d %s, want 422 naming %s", status, body, field)
		}
	}
}
