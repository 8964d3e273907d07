package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

var testPseudonyms = crier.NewPseudonyms([]byte("pseudonym-secret-of-the-store-tests-0123456789"))

// privacyDB is a database in a file the test can also read with SQL.
func privacyDB(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crier.db")
	return MustOpen(t, path), path
}

// publishMail commits an announcement with one email message per town,
// one delivery per confirmed subscriber, at now.
func publishMail(t *testing.T, db *sqlite.DB, id string, now time.Time, towns ...string) {
	t.Helper()
	p := &crier.Plan{Announcement: &crier.Announcement{ID: id, Revision: 1, Title: "Notice " + id, Body: "x",
		Towns: towns, Mode: crier.ModeActual}}
	for _, town := range towns {
		p.Messages = append(p.Messages, &crier.Message{Town: town, Channel: "mail-" + town, Type: "email",
			Text: "x", PerSubscriber: true})
	}
	if _, err := db.CreateAnnouncement(context.Background(), p, "", now); err != nil {
		t.Fatal(err)
	}
}

// finish claims every due email delivery at now and records outcome(d)
// for each; a nil outcome releases it.
func finish(t *testing.T, db *sqlite.DB, now time.Time, outcome func(d *crier.Delivery) (crier.State, string)) {
	t.Helper()
	ctx := context.Background()
	jobs, err := db.Claim(ctx, []string{"email"}, 100, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var outs []*crier.Outcome
	for _, j := range jobs {
		st, errText := outcome(j.Delivery)
		o := &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: st, NextAt: now,
			Attempt: &crier.Attempt{Delivery: j.Delivery.ID, Started: now, Finished: now, Endpoint: "relay", Error: errText}}
		if errText != "" {
			o.Attempt.ErrorCode = "transient"
		}
		outs = append(outs, o)
	}
	if _, err := db.Complete(ctx, outs, now); err != nil {
		t.Fatal(err)
	}
}

// grepDB returns "table.column" for every value in every column of every
// table of the database file that contains needle, in any case.
func grepDB(t *testing.T, path, needle string) []string {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tables, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	var found []string
	for _, table := range names {
		cols, err := raw.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var columns []string
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				t.Fatal(err)
			}
			columns = append(columns, c)
		}
		cols.Close()
		for _, c := range columns {
			var n int
			q := fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE instr(lower(CAST(%q AS TEXT)), lower(?)) > 0`, table, c)
			if err := raw.QueryRow(q, needle).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				found = append(found, fmt.Sprintf("%s.%s (%d rows)", table, c, n))
			}
		}
	}
	return found
}

// inFiles returns the database file or write-ahead log whose bytes hold
// needle in any case, and where, or "".
func inFiles(t *testing.T, path, needle string) string {
	t.Helper()
	for _, file := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if i := bytes.Index(bytes.ToLower(b), []byte(strings.ToLower(needle))); i >= 0 {
			return fmt.Sprintf("%s at %d", filepath.Base(file), i)
		}
	}
	return ""
}

func totals(t *testing.T, db *sqlite.DB, id string) map[crier.State]int {
	t.Helper()
	cs, err := db.Counts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[crier.State]int{}
	for _, c := range cs {
		out[c.State] += c.N
	}
	return out
}

// TestEraseAddress: erasing an address from one town's list takes it out
// of that town's list, deliveries, attempts, captures, confirmation mails
// and idempotency keys, cancels what was still to be sent to it, and
// keeps every count; erasing it from every list leaves it nowhere in the
// file. A second erasure finds nothing.
func TestEraseAddress(t *testing.T) {
	ctx := context.Background()
	db, path := privacyDB(t)
	const anna = "Anna.Muster@Example.org"
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: anna, Name: "Anna", State: crier.SubscriberConfirmed, Source: "Papierliste"},
		{Town: "werl", Email: anna, State: crier.SubscriberConfirmed, Source: "Papierliste"},
		{Town: "soest", Email: "bert@example.org", State: crier.SubscriberConfirmed, Source: "Papierliste"},
	}, t0); err != nil {
		t.Fatal(err)
	}
	publishMail(t, db, "ann-1", t0, "soest", "werl")
	// Anna's mail in Soest fails once with her address in the error, then
	// goes; Bert's goes; the one in Werl fails for good.
	finish(t, db, t0.Add(time.Minute), func(d *crier.Delivery) (crier.State, string) {
		switch {
		case d.Town == "werl":
			return crier.StateFailed, "550 <" + d.Recipient + "> mailbox unavailable"
		case d.Recipient == "bert@example.org":
			return crier.StateSent, ""
		}
		return crier.StateQueued, "450 try " + strings.ToLower(d.Recipient) + " later"
	})
	finish(t, db, t0.Add(2*time.Minute), func(*crier.Delivery) (crier.State, string) { return crier.StateSent, "" })
	before := totals(t, db, "ann-1")

	// A confirmation mail still queued, under a key of the old form that
	// names the address, and an exercise capture of a mail to her.
	confirm := &crier.Plan{
		Announcement: &crier.Announcement{ID: "confirm-1", Revision: 1, Title: "Bitte bestätigen", Body: "x",
			Towns: []string{"soest"}, Mode: crier.ModeActual, Event: crier.EventSubscriptionConfirm},
		Messages: []*crier.Message{{Town: "soest", Channel: "mail-soest", Type: "email", Subject: "Bitte bestätigen",
			Text: "https://krisen.example/confirm/abc.SEALED", HTML: `<a href="https://krisen.example/confirm/abc.SEALED">`,
			Event: crier.EventSubscriptionConfirm, Recipient: "Anna.Muster@example.org"}},
	}
	if _, err := db.CreateAnnouncement(ctx, confirm, "confirm:soest:Anna.Muster@example.org:v:2026-11-26T09", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCapture(ctx, &crier.Capture{Key: "ann-0.1.soest.mail-soest.1", Announcement: "ann-0", Revision: 1,
		Town: "soest", Channel: "mail-soest", Type: "email", Recipient: "Anna.Muster@example.org",
		Text: "Abmelden: https://krisen.example/unsubscribe/SEALED", At: t0}); err != nil {
		t.Fatal(err)
	}

	e, err := db.EraseAddress(ctx, "soest", "anna.muster@EXAMPLE.org", testPseudonyms, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := crier.Erasure{Subscriptions: 1, Deliveries: 2, Canceled: 1, Captures: 1, Keys: 1}
	if *e != want {
		t.Errorf("erase in soest = %+v, want %+v", *e, want)
	}
	if got := totals(t, db, "ann-1"); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("counts after the erasure %v, before %v", got, before)
	}
	ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "confirm-1"})
	if err != nil || len(ds) != 1 || ds[0].State != crier.StateCanceled || !crier.IsPseudonym(ds[0].Recipient) {
		t.Errorf("confirmation mail after the erasure: %+v, %v; want canceled, to a pseudonym", ds, err)
	}
	// Werl's list and deliveries are another town's: still there.
	if subs, err := db.Subscribers(ctx, "werl", ""); err != nil || len(subs) != 1 {
		t.Errorf("werl's list: %v, %v; want anna still on it", subs, err)
	}
	if found := grepDB(t, path, "anna.muster@example.org"); len(found) != 3 {
		t.Errorf("after erasing in soest the address is in %v; want only werl's list entry and delivery (recipient, error)", found)
	}

	e, err = db.EraseAddress(ctx, "", anna, testPseudonyms, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := (crier.Erasure{Subscriptions: 1, Deliveries: 1}); *e != want {
		t.Errorf("erase everywhere = %+v, want %+v", *e, want)
	}
	for _, needle := range []string{"anna.muster@example.org", "anna.muster", "SEALED"} {
		if found := grepDB(t, path, needle); len(found) > 0 {
			t.Errorf("%q is still stored in %v", needle, found)
		}
		// Nor in the bytes of the files: deleted rows and old page images
		// are not kept.
		if where := inFiles(t, path, needle); where != "" {
			t.Errorf("%q is still in the bytes of %s", needle, where)
		}
	}
	if got := totals(t, db, "ann-1"); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("counts after erasing everywhere %v, before %v", got, before)
	}
	if _, err := db.EraseAddress(ctx, "", anna, testPseudonyms, t0.Add(time.Hour)); crier.ErrorCode(err) != crier.ENOTFOUND ||
		strings.Contains(strings.ToLower(err.Error()), "anna") {
		t.Errorf("erasing again: %v; want not_found without the address", err)
	}
	if n, err := db.Retry(ctx, "ann-1", []crier.State{crier.StateFailed, crier.StateSent}, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("retry = %d, %v; want only bert's delivery, none to a pseudonym", n, err)
	}

	// Her pseudonymized deliveries still belong to her: the export lists them.
	d, err := db.PersonalData(ctx, anna, testPseudonyms)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Subscriptions) != 0 || len(d.Deliveries) != 3 || len(d.Captures) != 1 || len(d.Requests) != 0 {
		t.Errorf("personal data after the erasure: %d subscriptions, %d deliveries, %d captures, %d requests; want 0, 3, 1, 0",
			len(d.Subscriptions), len(d.Deliveries), len(d.Captures), len(d.Requests))
	}

	// She may subscribe again.
	if n, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: anna, State: crier.SubscriberPending}}, t0.Add(3*time.Hour)); err != nil || n != 1 {
		t.Errorf("subscribe again = %d, %v; want 1 new", n, err)
	}
}

// TestPersonalData: the export of an address lists its list entries with
// their times, its deliveries with their announcement and attempts, and
// the confirmation requests that name it; an unknown address is not_found
// and a malformed one invalid.
func TestPersonalData(t *testing.T) {
	ctx := context.Background()
	db, _ := privacyDB(t)
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "bert@example.org", Name: "Bert", State: crier.SubscriberPending, Source: "Formular"},
	}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "bert@example.org", Name: "Bert", State: crier.SubscriberConfirmed, Source: "Formular"},
	}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	publishMail(t, db, "ann-1", t0.Add(time.Hour), "soest")
	finish(t, db, t0.Add(time.Hour), func(*crier.Delivery) (crier.State, string) { return crier.StateQueued, "451 later" })
	finish(t, db, t0.Add(2*time.Hour), func(*crier.Delivery) (crier.State, string) { return crier.StateSent, "" })
	if err := db.RemoveSubscriber(ctx, "soest", "bert@example.org", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}

	d, err := db.PersonalData(ctx, "Bert@Example.org", testPseudonyms)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Subscriptions) != 1 {
		t.Fatalf("subscriptions: %+v", d.Subscriptions)
	}
	s := d.Subscriptions[0]
	if s.Name != "Bert" || s.State != crier.SubscriberUnsubscribed || !s.CreatedAt.Equal(t0) ||
		!s.ConfirmedAt.Equal(t0.Add(time.Minute)) || !s.UnsubscribedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("subscription: %+v", s)
	}
	if len(d.Deliveries) != 1 || d.Deliveries[0].Title != "Notice ann-1" || d.Deliveries[0].State != crier.StateSent ||
		len(d.Deliveries[0].History) != 2 || d.Deliveries[0].History[0].Error != "451 later" {
		t.Errorf("deliveries: %+v", d.Deliveries)
	}
	if _, err := db.PersonalData(ctx, "nobody@example.org", testPseudonyms); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("unknown address: %v, want not_found", err)
	}
	if _, err := db.PersonalData(ctx, "no address", testPseudonyms); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("malformed address: %v, want invalid", err)
	}
}

// TestPurge: a purge with a cut-off pseudonymizes the recipients of the
// deliveries final before it and deletes their earlier attempts, the
// idempotency keys and the unsubscribed list entries older than it, and
// leaves everything newer, and every delivery still to be sent, as it is.
func TestPurge(t *testing.T) {
	ctx := context.Background()
	db, path := privacyDB(t)
	day := 24 * time.Hour
	add := func(email string, state crier.SubscriberState, at time.Time) {
		t.Helper()
		if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: email, State: state}}, at); err != nil {
			t.Fatal(err)
		}
	}
	add("old@example.org", crier.SubscriberConfirmed, t0)
	add("gone-long@example.org", crier.SubscriberUnsubscribed, t0)
	// Old mail: one attempt failed, then sent, at t0.
	publishMail(t, db, "old", t0, "soest")
	finish(t, db, t0, func(d *crier.Delivery) (crier.State, string) { return crier.StateQueued, "450 " + d.Recipient })
	finish(t, db, t0.Add(time.Minute), func(d *crier.Delivery) (crier.State, string) {
		return crier.StateFailed, "550 " + d.Recipient + " unknown"
	})
	if _, err := db.CreateAnnouncement(ctx, &crier.Plan{Announcement: &crier.Announcement{ID: "keyed-old", Revision: 1,
		Towns: []string{"soest"}, Mode: crier.ModeActual}}, "key-old", t0); err != nil {
		t.Fatal(err)
	}
	// A confirmation mail whose link expired long ago.
	if _, err := db.CreateAnnouncement(ctx, &crier.Plan{
		Announcement: &crier.Announcement{ID: "confirm-old", Revision: 1, Towns: []string{"soest"}, Mode: crier.ModeActual,
			Event: crier.EventSubscriptionConfirm},
		Messages: []*crier.Message{{Town: "soest", Channel: "mail-soest", Type: "email", Event: crier.EventSubscriptionConfirm,
			Text: "https://krisen.example/confirm/v.SEALED", Recipient: "confirm@example.org"}},
	}, "", t0); err != nil {
		t.Fatal(err)
	}
	// Still to be sent, however old.
	add("waiting@example.org", crier.SubscriberConfirmed, t0.Add(time.Hour))
	publishMail(t, db, "stuck", t0.Add(time.Hour), "soest")

	// Sixty days later: a new mail, sent; a recent unsubscribe; a key.
	later := t0.Add(60 * day)
	add("new@example.org", crier.SubscriberConfirmed, later)
	add("gone-lately@example.org", crier.SubscriberUnsubscribed, later)
	publishMail(t, db, "new", later, "soest")
	// The stuck deliveries of "stuck" are claimed here too: release them.
	jobs, err := db.Claim(ctx, []string{"email"}, 100, later, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var outs []*crier.Outcome
	var stuck []*crier.Job
	for _, j := range jobs {
		if j.Delivery.Announcement == "stuck" {
			stuck = append(stuck, j)
			continue
		}
		outs = append(outs, &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent,
			Attempt: &crier.Attempt{Delivery: j.Delivery.ID, Started: later, Finished: later}})
	}
	if _, err := db.Complete(ctx, outs, later); err != nil {
		t.Fatal(err)
	}
	if err := db.Release(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAnnouncement(ctx, &crier.Plan{Announcement: &crier.Announcement{ID: "keyed-new", Revision: 1,
		Towns: []string{"soest"}, Mode: crier.ModeActual}}, "key-new", later); err != nil {
		t.Fatal(err)
	}
	oldTotals, newTotals := totals(t, db, "old"), totals(t, db, "new")

	// The purge 90 days after "new": its cut-off lies between the two.
	res, err := db.Purge(ctx, t0.Add(30*day), testPseudonyms, t0.Add(31*day))
	if err != nil {
		t.Fatal(err)
	}
	want := crier.Purge{Before: t0.Add(30 * day), Deliveries: 1, Attempts: 1, Confirmations: 1, Keys: 1, Subscribers: 1}
	if *res != want {
		t.Errorf("purge = %+v, want %+v", *res, want)
	}
	// old@ is still confirmed, and "stuck" and "new" went to it too.
	if found := grepDB(t, path, "old@example.org"); fmt.Sprint(found) != "[subscribers.email (1 rows) deliveries.recipient (2 rows)]" {
		t.Errorf("old@ after the purge: in %v; want on the list and in two deliveries", found)
	}
	if found := grepDB(t, path, "SEALED"); len(found) != 0 {
		t.Errorf("the old confirmation link is still in %v", found)
	}
	if found := grepDB(t, path, "gone-long@"); len(found) != 0 {
		t.Errorf("the long unsubscribed address is still in %v", found)
	}
	for _, needle := range []string{"gone-long@", "SEALED"} {
		if where := inFiles(t, path, needle); where != "" {
			t.Errorf("%q is still in the bytes of %s", needle, where)
		}
	}
	for _, kept := range []string{"gone-lately@", "new@example.org", "waiting@example.org"} {
		if found := grepDB(t, path, kept); len(found) == 0 {
			t.Errorf("%s was purged; it is newer than the cut-off or still to be sent", kept)
		}
	}
	ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "stuck"})
	if err != nil || len(ds) != 2 {
		t.Fatalf("stuck deliveries: %+v, %v", ds, err)
	}
	for _, d := range ds {
		if d.State != crier.StateQueued || crier.IsPseudonym(d.Recipient) {
			t.Errorf("a delivery still to be sent was purged: %+v", d)
		}
	}
	if res, err := db.EarlierResult(ctx, "key-new"); err != nil || res == nil {
		t.Errorf("key-new: %v, %v; want kept", res, err)
	}
	if res, err := db.EarlierResult(ctx, "key-old"); err != nil || res != nil {
		t.Errorf("key-old: %v, %v; want purged", res, err)
	}
	if got := totals(t, db, "old"); fmt.Sprint(got) != fmt.Sprint(oldTotals) {
		t.Errorf("counts of old: %v, before the purge %v", got, oldTotals)
	}
	if got := totals(t, db, "new"); fmt.Sprint(got) != fmt.Sprint(newTotals) {
		t.Errorf("counts of new: %v, before the purge %v", got, newTotals)
	}
	old, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "old"})
	if err != nil || len(old) != 1 || old[0].Recipient != testPseudonyms.Of("old@example.org") ||
		old[0].Error != "550 "+testPseudonyms.Of("old@example.org")+" unknown" {
		t.Errorf("old delivery after the purge: %+v, %v", old, err)
	}

	// A second purge finds nothing more.
	res, err = db.Purge(ctx, t0.Add(30*day), testPseudonyms, t0.Add(31*day))
	if err != nil || *res != (crier.Purge{Before: t0.Add(30 * day)}) {
		t.Errorf("second purge = %+v, %v; want nothing", res, err)
	}
}

// TestConfirmSubscriberVersion: a confirmation takes only the subscription
// it was made for. An unsubscribe between reading the subscription and
// confirming it wins: the address stays unsubscribed.
func TestConfirmSubscriberVersion(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: "anna@example.org", State: crier.SubscriberPending}}, t0); err != nil {
		t.Fatal(err)
	}
	sub, err := db.Subscriber(ctx, "soest", "anna@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveSubscriber(ctx, "soest", "anna@example.org", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	err = db.ConfirmSubscriber(ctx, "soest", "anna@example.org", sub.UpdatedAt, "double opt-in", t0.Add(2*time.Second))
	if crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("confirm after an unsubscribe: %v, want conflict", err)
	}
	if cur, _ := db.Subscriber(ctx, "soest", "anna@example.org"); cur.State != crier.SubscriberUnsubscribed {
		t.Errorf("after the late confirmation: %s, want unsubscribed", cur.State)
	}

	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: "anna@example.org", State: crier.SubscriberPending}}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	sub, _ = db.Subscriber(ctx, "soest", "anna@example.org")
	for range 2 { // confirming twice is no error
		if err := db.ConfirmSubscriber(ctx, "soest", "anna@example.org", sub.UpdatedAt, "double opt-in", t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := db.Subscriber(ctx, "soest", "anna@example.org")
	if cur.State != crier.SubscriberConfirmed || !cur.ConfirmedAt.Equal(t0.Add(2*time.Minute)) || cur.Source != "double opt-in" {
		t.Errorf("after confirming: %+v", cur)
	}
	if err := db.ConfirmSubscriber(ctx, "werl", "anna@example.org", sub.UpdatedAt, "", t0); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("unknown subscription: %v, want not_found", err)
	}
}
