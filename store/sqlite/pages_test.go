package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// TestPages: pages are stored with the plan, have no deliveries, and are
// read per town, newest announcements first, with every revision.
func TestPages(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	plan := func(id string, rev int, event string, at time.Time, towns ...string) *crier.Plan {
		a := &crier.Announcement{ID: id, Revision: rev, Event: event, Title: "Rathaus " + id, Body: "Heute.",
			Towns: towns, Mode: crier.ModeActual, CreatedAt: at}
		p := &crier.Plan{Announcement: a, Towns: towns}
		for _, town := range towns {
			p.Messages = append(p.Messages, &crier.Message{Town: town, Channel: "radio", Type: "webhook",
				Event: event, Mode: crier.ModeActual, Text: "hook"})
			p.Pages = append(p.Pages, &crier.Message{Town: town, Channel: crier.PageType, Type: crier.PageType,
				Event: event, Mode: crier.ModeActual, Subject: a.Title,
				HTML: "<p>" + town + " " + id + " r" + string(rune('0'+rev)) + "</p>", Text: town + " " + id})
		}
		return p
	}
	commit := func(p *crier.Plan) {
		t.Helper()
		res, err := db.CreateAnnouncement(ctx, p, "", p.Announcement.CreatedAt)
		if err != nil {
			t.Fatal(err)
		}
		if res.Deliveries != len(p.Messages) {
			t.Errorf("%s.%d: %d deliveries, want %d (pages are not delivered)", p.Announcement.ID,
				p.Announcement.Revision, res.Deliveries, len(p.Messages))
		}
	}
	commit(plan("a", 1, crier.EventPublished, t0, "soest", "werl"))
	commit(plan("b", 1, crier.EventPublished, t0.Add(time.Minute), "soest"))
	commit(plan("c", 1, crier.EventPublished, t0.Add(2*time.Minute), "werl"))
	commit(plan("a", 2, crier.EventUpdated, t0.Add(3*time.Minute), "soest", "werl"))

	ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Channel == crier.PageType {
			t.Errorf("delivery %s for a page", d.Key)
		}
	}

	type page struct {
		ID       string
		Revision int
		HTML     string
	}
	pages := func(ms []*crier.Message) []page {
		var out []page
		for _, m := range ms {
			if m.Type != crier.PageType {
				t.Errorf("message of type %s among the pages", m.Type)
			}
			out = append(out, page{m.Announcement, m.Revision, m.HTML})
		}
		return out
	}
	for _, c := range []struct {
		town  string
		limit int
		want  []page
	}{
		{"soest", 0, []page{{"a", 1, "<p>soest a r1</p>"}, {"a", 2, "<p>soest a r2</p>"}, {"b", 1, "<p>soest b r1</p>"}}},
		// a was revised last, so it is the newest.
		{"soest", 1, []page{{"a", 1, "<p>soest a r1</p>"}, {"a", 2, "<p>soest a r2</p>"}}},
		{"werl", 1, []page{{"a", 1, "<p>werl a r1</p>"}, {"a", 2, "<p>werl a r2</p>"}}},
		{"werl", 2, []page{{"a", 1, "<p>werl a r1</p>"}, {"a", 2, "<p>werl a r2</p>"}, {"c", 1, "<p>werl c r1</p>"}}},
		{"lippstadt", 0, nil},
	} {
		ms, err := db.Pages(ctx, c.town, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, pages(ms)); diff != "" {
			t.Errorf("Pages(%s, %d) (-want +got):\n%s", c.town, c.limit, diff)
		}
	}

	ms, err := db.Page(ctx, "werl", "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]page{{"a", 1, "<p>werl a r1</p>"}, {"a", 2, "<p>werl a r2</p>"}}, pages(ms)); diff != "" {
		t.Errorf("Page(werl, a) (-want +got):\n%s", diff)
	}
	for _, q := range [][2]string{{"werl", "b"}, {"soest", "nope"}} {
		if ms, err := db.Page(ctx, q[0], q[1]); err != nil || len(ms) != 0 {
			t.Errorf("Page(%s, %s) = %d pages, %v; want none", q[0], q[1], len(ms), err)
		}
	}

	revs, err := db.Revisions(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Revision != 1 || revs[1].Revision != 2 || revs[1].Event != crier.EventUpdated {
		t.Errorf("Revisions(a) = %+v, want revisions 1 and 2, oldest first", revs)
	}
	if _, err := db.Revisions(ctx, "nope"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Revisions(nope): %v, want not_found", err)
	}
}

// TestPageConflictsWithChannel: a page may not share its town × channel
// with a message.
func TestPageConflictsWithChannel(t *testing.T) {
	db := MustOpenDB(t)
	a := &crier.Announcement{ID: "x", Revision: 1, Title: "T", Body: "B", Towns: []string{"soest"}, Mode: crier.ModeActual}
	m := &crier.Message{Town: "soest", Channel: crier.PageType, Type: "webhook"}
	pg := &crier.Message{Town: "soest", Channel: crier.PageType, Type: crier.PageType}
	_, err := db.CreateAnnouncement(context.Background(), &crier.Plan{Announcement: a, Messages: []*crier.Message{m},
		Pages: []*crier.Message{pg}}, "", t0)
	want := []crier.Problem{{Field: "pages[0]", Town: "soest", Channel: crier.PageType, Message: "is repeated"}}
	if diff := cmp.Diff(want, crier.ErrorDetails(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestOpenReadOnly: a second process may read the database next to the
// one that holds its lock, and sees what it committed; it cannot write.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	if _, err := sqlite.OpenReadOnly(ctx, path); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("OpenReadOnly without a database: %v, want not_found", err)
	}
	db := MustOpen(t, path)
	ro, err := sqlite.OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatalf("OpenReadOnly next to Open: %v", err)
	}
	defer ro.Close()
	a := &crier.Announcement{ID: "x", Revision: 1, Title: "T", Body: "B", Towns: []string{"soest"}, Mode: crier.ModeActual}
	p := &crier.Plan{Announcement: a, Pages: []*crier.Message{{Town: "soest", Channel: crier.PageType, Type: crier.PageType, Text: "B"}}}
	if _, err := db.CreateAnnouncement(ctx, p, "", t0); err != nil {
		t.Fatal(err)
	}
	if ms, err := ro.Pages(ctx, "soest", 10); err != nil || len(ms) != 1 || ms[0].Text != "B" {
		t.Errorf("read-only Pages = %v, %v; want the page committed by the writer", ms, err)
	}
	if revs, err := ro.Revisions(ctx, "x"); err != nil || len(revs) != 1 {
		t.Errorf("read-only Revisions = %v, %v", revs, err)
	}
	a2 := *a
	a2.ID = "y"
	if _, err := ro.CreateAnnouncement(ctx, &crier.Plan{Announcement: &a2}, "", t0); err == nil {
		t.Error("CreateAnnouncement through a read-only database succeeded")
	}
}
