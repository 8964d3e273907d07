package server

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// privacyEnv is a server whose subscribers, and whose data protection
// routes, are the real SQLite store.
func privacyEnv(t *testing.T, retention time.Duration) (*env, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "crier.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := crier.NewPseudonyms([]byte("pseudonym-secret-of-the-server-tests-0123456789"))
	e := newEnv(t, func(o *Options) {
		o.Subscribers, o.Privacy, o.Pseudonyms = db, db, p
		o.Retention = &crier.Retention{Store: db, Pseudonyms: p, Period: retention, Clock: fixedClock{testNow}}
	})
	return e, db
}

// TestPrivacyRoutes: erase and show take the address in the body, check
// it and the town, and answer 404 for an address nothing is stored
// about, without naming it. A server without a privacy store answers
// 501, and one with retention off refuses to purge.
func TestPrivacyRoutes(t *testing.T) {
	ctx := context.Background()
	e, db := privacyEnv(t, 90*24*time.Hour)
	const anna = "anna@example.org"
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: anna, State: crier.SubscriberConfirmed}}, testNow); err != nil {
		t.Fatal(err)
	}

	d, err := e.client.PersonalData(ctx, "ANNA@example.org")
	if err != nil || len(d.Subscriptions) != 1 || d.Address != "ANNA@example.org" || !crier.IsPseudonym(d.Pseudonym) {
		t.Fatalf("show = %+v, %v", d, err)
	}
	for _, tc := range []struct {
		town, email, code string
	}{
		{"soest", "not an address", crier.EINVALID},
		{"nowhere", anna, crier.ENOTFOUND},
		{"werl", anna, crier.ENOTFOUND}, // on Soest's list only
	} {
		_, err := e.client.EraseAddress(ctx, tc.town, tc.email)
		if crier.ErrorCode(err) != tc.code {
			t.Errorf("erase %q in %q: %v, want %s", tc.email, tc.town, err, tc.code)
		}
		if tc.code == crier.ENOTFOUND && strings.Contains(err.Error(), anna) {
			t.Errorf("the not_found answer names the address: %v", err)
		}
	}
	er, err := e.client.EraseAddress(ctx, "soest", anna)
	if err != nil || *er != (crier.Erasure{Subscriptions: 1}) {
		t.Fatalf("erase = %+v, %v", er, err)
	}
	if _, err := e.client.PersonalData(ctx, anna); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("show after the erasure: %v, want not_found", err)
	}
	if res, err := e.client.Purge(ctx); err != nil || !res.Before.Equal(testNow.Add(-90*24*time.Hour)) {
		t.Errorf("purge = %+v, %v", res, err)
	}

	// The address is in the body, never in the URL.
	_, _, body := page(t, http.MethodPost, e.url+"/api/v1/subscribers/erase", nil)
	if !strings.Contains(body, "unauthorized") {
		t.Errorf("erase without a token: %s", body)
	}

	plain := newEnv(t)
	if _, err := plain.client.EraseAddress(ctx, "", anna); crier.ErrorCode(err) != CodeNotImplemented {
		t.Errorf("erase without a privacy store: %v, want not_implemented", err)
	}
	if _, err := plain.client.Purge(ctx); crier.ErrorCode(err) != CodeNotImplemented {
		t.Errorf("purge without retention: %v, want not_implemented", err)
	}
	off, _ := privacyEnv(t, 0)
	if _, err := off.client.Purge(ctx); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("purge with retention off: %v, want invalid", err)
	}
}
