package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
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
	e := newScheduleEnv(t, func(o *Options) { o.Accounts = accounts })
	return e, accounts
}

// TestEveryRouteAuthorized walks the route table: every API route has a
// known action, and a viewer of werl gets 403 from every route but the
// ones that read what every role may read, whatever the route's towns
// come from.
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
		if !slices.Contains(crier.Actions, rt.action) || rt.towns < noTowns || rt.towns > public || rt.handler == nil {
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
		if strings.HasPrefix(path, "/api/v1/schedules/") {
			id = sc.ID
		}
		path = strings.NewReplacer("{id}", id, "{town}", "soest", "{email}", "a@example.org",
			"{channel}", "mastodon-soest", "{endpoint}", "x").Replace(path)
		status, body := rawRequest(t, e, method, path, viewerWerl, "{}")
		readable := rt.action == crier.ActionRead && rt.towns == noTowns || rt.towns == public
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
