package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSubscribers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	added, updated, err := e.client.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: " anna@EXAMPLE.org ", Name: "Anna", State: crier.SubscriberConfirmed, Source: "paper list"},
		{Town: "soest", Email: "ben@example.org", State: crier.SubscriberPending},
		{Town: "werl", Email: "anna@example.org", State: crier.SubscriberConfirmed},
	})
	if err != nil || added != 3 || updated != 0 {
		t.Fatalf("AddSubscribers = %d added, %d updated, %v; want 3, 0", added, updated, err)
	}
	added, updated, err = e.client.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "ben@example.org", State: crier.SubscriberConfirmed},
		{Town: "werl", Email: "carl@example.org", State: crier.SubscriberConfirmed},
	})
	if err != nil || added != 1 || updated != 1 {
		t.Fatalf("second AddSubscribers = %d added, %d updated, %v; want 1, 1", added, updated, err)
	}

	got, err := e.client.Subscribers(ctx, "soest", "")
	if err != nil {
		t.Fatalf("Subscribers: %v", err)
	}
	want := []*crier.Subscriber{
		{ID: 1, Town: "soest", Email: "anna@example.org", Name: "Anna", State: crier.SubscriberConfirmed,
			Source: "paper list", CreatedAt: testNow, UpdatedAt: testNow},
		{ID: 2, Town: "soest", Email: "ben@example.org", State: crier.SubscriberConfirmed, CreatedAt: testNow, UpdatedAt: testNow},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscribers of soest (-want +got):\n%s", diff)
	}

	emails := func(subs []*crier.Subscriber) []string {
		var out []string
		for _, s := range subs {
			out = append(out, s.Town+"/"+s.Email)
		}
		return out
	}
	all, err := e.client.Subscribers(ctx, "", crier.SubscriberConfirmed)
	if err != nil {
		t.Fatalf("Subscribers of every town: %v", err)
	}
	wantAll := []string{"soest/anna@example.org", "soest/ben@example.org", "werl/anna@example.org", "werl/carl@example.org"}
	if diff := cmp.Diff(wantAll, emails(all)); diff != "" {
		t.Errorf("confirmed subscribers (-want +got):\n%s", diff)
	}

	if err := e.client.RemoveSubscriber(ctx, "soest", "anna@Example.ORG"); err != nil {
		t.Fatalf("RemoveSubscriber: %v", err)
	}
	if status, _ := e.seen.last(); status != http.StatusNoContent {
		t.Errorf("remove: status %d, want 204", status)
	}
	left, err := e.client.Subscribers(ctx, "soest", crier.SubscriberUnsubscribed)
	if err != nil || !cmp.Equal(emails(left), []string{"soest/anna@example.org"}) {
		t.Errorf("unsubscribed in soest = %v, %v; want anna", emails(left), err)
	}

	for _, tt := range []struct{ town, email, code string }{
		{"soest", "nobody@example.org", crier.ENOTFOUND},
		{"atlantis", "anna@example.org", crier.ENOTFOUND},
		{"soest", "not an address", crier.EINVALID},
	} {
		if err := e.client.RemoveSubscriber(ctx, tt.town, tt.email); crier.ErrorCode(err) != tt.code {
			t.Errorf("RemoveSubscriber(%q, %q): %v, want %s", tt.town, tt.email, err, tt.code)
		}
	}

	for _, q := range []string{"town=atlantis", "state=asleep"} {
		if status, _ := rawRequest(t, e, http.MethodGet, "/api/v1/subscribers?"+q, testToken, ""); status != http.StatusUnprocessableEntity {
			t.Errorf("subscribers?%s: status %d, want 422", q, status)
		}
	}
}

func TestAddSubscribersInvalid(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, err := e.client.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "anna@example.org", State: crier.SubscriberConfirmed},
	}); err != nil {
		t.Fatal(err)
	}
	before := e.subs.all()

	_, _, err := e.client.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "new@example.org", State: crier.SubscriberConfirmed}, // fine on its own
		{Town: "atlantis", Email: "a@example.org", State: crier.SubscriberConfirmed},
		{Town: "soest", Email: "Anna <anna@example.org>", State: crier.SubscriberConfirmed},
		{Town: "soest", Email: "b@example.org", State: "maybe"},
		{Town: "soest", Email: "new@EXAMPLE.org", State: crier.SubscriberConfirmed},
		{Town: "werl", Email: "c@example.org", Name: "C\r\nBcc: x@example.org", State: crier.SubscriberPending},
		nil,
		{},
	})
	if crier.ErrorCode(err) != crier.EINVALID {
		t.Fatalf("AddSubscribers: %v, want invalid", err)
	}
	if status, _ := e.seen.last(); status != http.StatusUnprocessableEntity {
		t.Errorf("status = %d, want 422", status)
	}
	want := []string{
		"atlantis/:subscribers[1].town",
		"soest/:subscribers[2].email",
		"soest/:subscribers[3].state",
		"soest/:subscribers[4].email",
		"werl/:subscribers[5].name",
		"subscribers[6]",
		"subscribers[7].town",
		"subscribers[7].email",
		"subscribers[7].state",
	}
	if diff := cmp.Diff(want, problemPlaces(crier.ErrorDetails(err))); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, e.subs.all(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("subscribers changed by a rejected import (-before +after):\n%s", diff)
	}

	if _, _, err := e.client.AddSubscribers(ctx, nil); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("AddSubscribers of nothing: %v, want invalid", err)
	}
}
