package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/google/go-cmp/cmp"
)

// auditEnv is a server whose announcements, subscribers, accounts and
// audit trail are the real SQLite store, behind a trusted proxy on
// loopback when proxied. Anna edits for soest with the returned token.
func auditEnv(t *testing.T, proxied bool) (*env, *sqlite.DB, string) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := db.CreateUser(ctx, &crier.User{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"},
		PasswordHash: "x", CreatedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	const secret = "crier_anna_soest"
	if err := db.CreateToken(ctx, &crier.APIToken{User: "anna", CreatedAt: testNow}, crier.TokenHash(secret)); err != nil {
		t.Fatal(err)
	}
	p := crier.NewPseudonyms([]byte("pseudonym-secret-of-the-server-tests-0123456789"))
	e := newEnv(t, func(o *Options) {
		o.Engine.Store = db
		o.Store, o.Subscribers, o.Accounts, o.Audit, o.Privacy, o.Pseudonyms = db, db, db, db, db, p
		o.Statuses, o.Tokens = db, subscribeTokens
		o.ResetEndpoint = func(channel, endpoint string) error { return nil }
		if proxied {
			o.TrustedProxies = loopback
		}
	})
	return e, db, secret
}

// forwarded is the header of a request through the proxy for client.
func forwarded(client string) http.Header {
	return http.Header{HeaderForwardedFor: {client}}
}

// TestAuditWho: a change through the API is recorded with the user, their
// role and token, and the client's address as the trusted proxy names it.
func TestAuditWho(t *testing.T) {
	e, db, anna := auditEnv(t, true)
	body := `{"title":"Wasser","body":"Abkochen.","towns":["soest"]}`
	status, _, answer := rawRequestHeader(t, e, http.MethodPost, "/api/v1/announcements", anna, body, forwarded("203.0.113.5"))
	if status != http.StatusAccepted {
		t.Fatalf("publish: %d %s", status, answer)
	}
	status, _, answer = rawRequestHeader(t, e, http.MethodPut, "/api/v1/towns/soest/status", anna,
		`{"status":[{"service":"Bürgerbüro","availability":"down","text":"zu"}]}`, forwarded("2001:db8::5"))
	if status != http.StatusOK {
		t.Fatalf("service status: %d %s", status, answer)
	}
	es, _, err := e.client.Audit(context.Background(), AuditQuery{Action: crier.AuditServiceStatus})
	if err != nil || len(es) != 1 || es[0].Actor != "anna" || es[0].Client != "2001:db8::5" {
		t.Fatalf("service status entry = %+v, %v", es, err)
	}
	if _, err := e.client.ResetEndpoint(context.Background(), "mastodon-soest", "x"); err != nil {
		t.Fatal(err)
	}
	es, _, err = e.client.Audit(context.Background(), AuditQuery{Action: crier.EventPublished})
	if err != nil || len(es) != 1 {
		t.Fatalf("audit = %v, %v", es, err)
	}
	got := es[0]
	want := crier.AuditEntry{Seq: got.Seq, Time: testNow, Actor: "anna", Role: crier.RoleEditor, Token: 1,
		Client: "203.0.113.5", Action: crier.EventPublished, Subject: got.Subject, Towns: []string{"soest"},
		Detail: got.Detail, PrevHash: got.PrevHash, Hash: got.Hash}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	es, _, err = e.client.Audit(context.Background(), AuditQuery{Action: crier.AuditEndpointReset})
	if err != nil || len(es) != 1 || es[0].Actor != "admin" || es[0].Subject != "mastodon-soest/x" || es[0].Client != "127.0.0.1" {
		t.Fatalf("endpoint reset = %+v, %v", es, err)
	}
	if r, err := db.VerifyAudit(context.Background()); err != nil || !r.OK() {
		t.Errorf("verify = %+v, %v", r, err)
	}
}

// TestAuditClientNotForged: without a trusted proxy, a forwarding header
// is not believed: the peer's address is recorded.
func TestAuditClientNotForged(t *testing.T) {
	e, _, anna := auditEnv(t, false)
	body := `{"title":"Wasser","body":"Abkochen.","towns":["soest"]}`
	if status, _, answer := rawRequestHeader(t, e, http.MethodPost, "/api/v1/announcements", anna, body,
		forwarded("203.0.113.5")); status != http.StatusAccepted {
		t.Fatalf("publish: %d %s", status, answer)
	}
	es, _, err := e.client.Audit(context.Background(), AuditQuery{Actor: "anna"})
	if err != nil || len(es) != 1 || es[0].Client != "127.0.0.1" {
		t.Fatalf("audit = %+v, %v", es, err)
	}
}

// TestAuditRoute: only an admin reads the trail; the filters, paging and
// the bound of a page; bad parameters are 422 with their codes.
func TestAuditRoute(t *testing.T) {
	e, db, anna := auditEnv(t, false)
	if status, body := rawRequest(t, e, http.MethodGet, "/api/v1/audit", anna, ""); status != http.StatusForbidden {
		t.Errorf("audit as editor: %d %s", status, body)
	}
	if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/audit", "", ""); status != http.StatusUnauthorized {
		t.Errorf("audit without a token: %d", status)
	}
	ctx := context.Background()
	for i := range 5 {
		if err := db.Record(ctx, crier.AuditEntry{Action: crier.AuditEndpointReset, Towns: []string{"werl"}},
			testNow.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Two entries from making anna and her token, then five.
	var seqs []int64
	q := AuditQuery{Town: "werl", Limit: 2}
	for range 10 {
		es, next, err := e.client.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			seqs = append(seqs, e.Seq)
		}
		if next == 0 {
			break
		}
		q.After = next
	}
	if diff := cmp.Diff([]int64{3, 4, 5, 6, 7}, seqs); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	es, _, err := e.client.Audit(ctx, AuditQuery{Since: testNow.Add(time.Hour), Until: testNow.Add(3 * time.Hour)})
	if err != nil || len(es) != 2 || es[0].Seq != 4 {
		t.Errorf("since/until = %+v, %v", es, err)
	}
	status, body := rawRequest(t, e, http.MethodGet, "/api/v1/audit?since=gestern&after=-1&limit=0", testToken, "")
	var answer struct {
		Error struct {
			Details []crier.Problem `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &answer)
	var codes []string
	for _, p := range answer.Error.Details {
		codes = append(codes, p.Code)
	}
	if status != http.StatusUnprocessableEntity || strings.Join(codes, " ") != "request.time request.audit_seq request.not_positive" {
		t.Errorf("bad parameters: %d %s", status, body)
	}
	status, body = rawRequest(t, e, http.MethodGet, "/api/v1/audit?limit=99999999&actor=%27%20OR%201%3D1", testToken, "")
	if status != http.StatusOK || !strings.Contains(string(body), `"entries":[]`) {
		t.Errorf("hostile actor and huge limit: %d %s", status, body)
	}
	plain := newEnv(t)
	if _, _, err := plain.client.Audit(ctx, AuditQuery{}); crier.ErrorCode(err) != CodeNotImplemented {
		t.Errorf("audit without a trail: %v", err)
	}
}

// TestAuditShow: showing a person's data is recorded by the pseudonym
// before the data leaves, never by the address.
func TestAuditShow(t *testing.T) {
	e, db, _ := auditEnv(t, false)
	ctx := context.Background()
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: "anna@example.org",
		State: crier.SubscriberConfirmed}}, testNow); err != nil {
		t.Fatal(err)
	}
	d, err := e.client.PersonalData(ctx, "anna@example.org")
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := e.client.Audit(ctx, AuditQuery{Action: "subscriber."})
	if err != nil || len(es) != 2 || es[1].Action != crier.AuditSubscriberShow || es[1].Subject != d.Pseudonym {
		t.Fatalf("audit = %+v, %v", es, err)
	}
	b, _ := json.Marshal(es)
	if strings.Contains(string(b), "anna@") {
		t.Errorf("the trail names the address: %s", b)
	}
}

// TestAuditPublic: the subscribe form, decided after its answer, records
// the address and the confirmation mail for the public, from the client's
// address, and names no address.
func TestAuditPublic(t *testing.T) {
	e, _, _ := auditEnv(t, false)
	status, _, body := page(t, http.MethodPost, e.url+"/soest/subscribe", url.Values{"email": {"bert@example.org"}})
	if status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", status, body)
	}
	es, _, err := e.client.Audit(context.Background(), AuditQuery{Actor: crier.AuditPublic})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Action+" "+e.Client+" "+strings.Join(e.Towns, ","))
	}
	want := []string{crier.AuditSubscriberAdd + " 127.0.0.1 soest", crier.EventSubscriptionConfirm + " 127.0.0.1 soest"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	b, _ := json.Marshal(es)
	if strings.Contains(string(b), "bert@") {
		t.Errorf("the trail names the address: %s", b)
	}
}
