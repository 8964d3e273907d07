package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

// TestFindCapturesPages: pages of some towns' captures, newest first.
func TestFindCapturesPages(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t, filepath.Join(t.TempDir(), "crier.db"))
	for i, town := range []string{"soest", "werl", "soest", "lippstadt", "soest", "werl"} {
		if err := db.SaveCapture(ctx, &crier.Capture{Key: fmt.Sprint(i), Announcement: "a", Revision: 1, Town: town,
			Channel: "c", Type: "mastodon", Text: town, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(cs []*crier.Capture) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tt := range []struct {
		towns  []string
		before int64
		limit  int
		want   []int64
	}{
		{nil, 0, 0, []int64{6, 5, 4, 3, 2, 1}},
		{[]string{"soest"}, 0, 2, []int64{5, 3}},
		{[]string{"soest"}, 3, 2, []int64{1}},
		{[]string{"soest", "werl"}, 6, 0, []int64{5, 3, 2, 1}},
		{[]string{}, 0, 0, nil},
		{[]string{"x' OR 1=1 --"}, 0, 0, nil},
	} {
		got, err := db.FindCaptures(ctx, crier.CaptureFilter{Towns: tt.towns, Before: tt.before, Limit: tt.limit, Newest: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
			t.Errorf("FindCaptures(%q, before %d, limit %d) (-want +got):\n%s", tt.towns, tt.before, tt.limit, diff)
		}
	}
}

// TestSubscriberPage: counts by state, and pages of a town's list by
// address, searched without regard to case.
func TestSubscriberPage(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t, filepath.Join(t.TempDir(), "crier.db"))
	var subs []*crier.Subscriber
	for i, st := range []crier.SubscriberState{crier.SubscriberConfirmed, crier.SubscriberPending, crier.SubscriberConfirmed,
		crier.SubscriberUnsubscribed, crier.SubscriberConfirmed} {
		subs = append(subs, &crier.Subscriber{Town: "soest", Email: fmt.Sprintf("P%d@soest.example", 4-i), State: st})
	}
	subs = append(subs, &crier.Subscriber{Town: "werl", Email: "p9@werl.example", State: crier.SubscriberConfirmed})
	if _, err := db.AddSubscribers(ctx, subs, t0); err != nil {
		t.Fatal(err)
	}
	counts, err := db.SubscriberCounts(ctx, "soest")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[crier.SubscriberState]int{"confirmed": 3, "pending": 1, "unsubscribed": 1}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	emails := func(town, search string, offset, limit int) []string {
		t.Helper()
		page, err := db.SubscriberPage(ctx, town, search, offset, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range page {
			out = append(out, s.Email)
		}
		return out
	}
	for _, tt := range []struct {
		search        string
		offset, limit int
		want          []string
	}{
		{"", 0, 2, []string{"P0@soest.example", "P1@soest.example"}},
		{"", 4, 2, []string{"P4@soest.example"}},
		{"p3@", 0, 10, []string{"P3@soest.example"}},
		{"SOEST", 3, 10, []string{"P3@soest.example", "P4@soest.example"}},
		{"%", 0, 10, nil},
		{"werl", 0, 10, nil},
	} {
		if diff := cmp.Diff(tt.want, emails("soest", tt.search, tt.offset, tt.limit)); diff != "" {
			t.Errorf("SubscriberPage(%q, %d, %d) (-want +got):\n%s", tt.search, tt.offset, tt.limit, diff)
		}
	}
}
