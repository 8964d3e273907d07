package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// grepDatabase returns "table.column (n rows)" for every column of every
// table in the SQLite file of a data directory that holds needle in any
// case, blobs included. It reads beside the running server, as any
// reader of the WAL may.
func grepDatabase(t *testing.T, dataDir, needle string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, dbFile)+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var found []string
	tables := sqlColumn(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	for _, table := range tables {
		for _, c := range sqlColumn(t, db, `SELECT name FROM pragma_table_info(?)`, table) {
			var n int
			q := fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE instr(lower(CAST(%q AS TEXT)), lower(?)) > 0`, table, c)
			if err := db.QueryRow(q, needle).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				found = append(found, fmt.Sprintf("%s.%s (%d rows)", table, c, n))
			}
		}
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables in the database: %v", len(tables), tables)
	}
	return found
}

func sqlColumn(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sqlCount runs a COUNT query on the data directory's database.
func sqlCount(t *testing.T, dataDir, query string, args ...any) int {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, dbFile)+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEraseAndShowAddress goes through a data subject's requests on a
// server in actual mode. Anna subscribes through the form in Soest and
// confirms, is put on Werl's list, and gets a notice in both towns.
// "crier subscribers show" exports all of it; "crier subscribers erase
// --all-towns" then leaves her address nowhere in the database file (every
// text column of every table is searched) while every count stays; a
// second erasure finds nothing, the export then lists only pseudonymized
// deliveries, and she can subscribe again. Neither request puts her
// address into the server's log.
func TestEraseAndShowAddress(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := actualConfig(t, hooks.URL(), smtp.Port(), "log: {level: debug}")
	srv := mustServe(t, config, map[string]string{"RADIO_SECRET": secret})
	ctx := context.Background()
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"},
			append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	const anna, bert = "Anna.Muster@buerger.example", "bert@buerger.example"

	b := newBrowser(t, srv.URL)
	b.submit("/soest/subscribe", url.Values{"email": {anna}, "name": {"Anna Muster"}}, "wir haben Ihnen eine E-Mail geschickt")
	found := confirmMailLink.FindStringSubmatch(waitMail(t, smtp, anna, 0).Text)
	if found == nil {
		t.Fatal("no confirmation link in the mail")
	}
	b.submit(found[1], url.Values{}, "Anmeldung bestätigt")
	for _, args := range [][]string{
		{"subscribers", "add", "--town", "werl", "--confirmed", "--source", "Papierliste", anna},
		{"subscribers", "add", "--town", "soest", "--confirmed", "--source", "Papierliste", bert},
	} {
		if code, out, errOut := cli(args...); code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	n := e2eNotice()
	n.Towns = []string{"soest", "werl"}
	res, err := srv.Client.Publish(ctx, n, "")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	before := waitDone(t, srv.Client, id, time.Minute)
	if before.Totals[crier.StateSent] != 5 { // 3 mails, 2 webhooks
		t.Fatalf("notice: %v, want 5 sent", before.Totals)
	}
	deliveries := sqlCount(t, srv.DataDir, `SELECT COUNT(*) FROM deliveries`)

	code, out, errOut := cli("subscribers", "show", strings.ToLower(anna))
	if code != exitOK {
		t.Fatalf("show: exit %d\n%s%s", code, out, errOut)
	}
	var shown crier.PersonalData
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show is not JSON: %v\n%s", err, out)
	}
	if len(shown.Subscriptions) != 2 || len(shown.Deliveries) != 3 || len(shown.Requests) != 1 {
		t.Fatalf("show: %d subscriptions, %d deliveries, %d requests; want 2 (soest, werl), 3 (the confirmation, two notices), 1\n%s",
			len(shown.Subscriptions), len(shown.Deliveries), len(shown.Requests), out)
	}
	soest := shown.Subscriptions[0]
	if soest.Town != "soest" || soest.Name != "Anna Muster" || soest.State != crier.SubscriberConfirmed ||
		soest.ConfirmedAt.IsZero() || soest.CreatedAt.IsZero() {
		t.Errorf("subscription in soest: %+v", soest)
	}
	for _, d := range shown.Deliveries {
		if d.State != crier.StateSent || d.Title == "" || len(d.History) != 1 {
			t.Errorf("delivery shown: %+v, want sent, with its title and its attempt", d)
		}
	}

	if where := grepDatabase(t, srv.DataDir, "anna.muster@buerger.example"); len(where) < 2 {
		t.Fatalf("before the erasure the address is only in %v: the search is broken", where)
	}
	code, out, errOut = cli("subscribers", "erase", "--all-towns", anna)
	if code != exitOK || !strings.Contains(out, "Address erased (every list): 2 list entries, 3 deliveries pseudonymized (0 of them not sent yet and canceled), 0 captures, 1 keys.") {
		t.Fatalf("erase: exit %d\n%s%s", code, out, errOut)
	}
	for _, needle := range []string{"anna.muster@buerger.example", "anna.muster", "Anna Muster", url.QueryEscape(anna)} {
		if where := grepDatabase(t, srv.DataDir, needle); len(where) > 0 {
			t.Errorf("after the erasure %q is still in %v", needle, where)
		}
	}
	if where := grepDatabase(t, srv.DataDir, bert); len(where) == 0 {
		t.Error("bert's address is gone too; only anna's was to be erased")
	}
	after, err := srv.Client.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after.Totals) != fmt.Sprint(before.Totals) || sqlCount(t, srv.DataDir, `SELECT COUNT(*) FROM deliveries`) != deliveries {
		t.Errorf("counts after the erasure %v, before %v", after.Totals, before.Totals)
	}

	if code, _, errOut := cli("subscribers", "erase", "--all-towns", anna); code != exitFailure ||
		!strings.Contains(errOut, "Nothing is stored about this address.") {
		t.Errorf("erasing again: exit %d\n%s", code, errOut)
	}
	code, out, errOut = cli("subscribers", "show", anna)
	if code != exitOK {
		t.Fatalf("show after the erasure: exit %d\n%s%s", code, out, errOut)
	}
	shown = crier.PersonalData{}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown.Subscriptions) != 0 || len(shown.Deliveries) != 3 || shown.Deliveries[0].Recipient != shown.Pseudonym {
		t.Errorf("show after the erasure: %s", out)
	}

	if code, out, errOut := cli("subscribers", "add", "--town", "soest", anna); code != exitOK || !strings.Contains(out, "1 new") {
		t.Errorf("subscribing again after the erasure: exit %d\n%s%s", code, out, errOut)
	}
	if subs, err := srv.Client.Subscribers(ctx, "soest", crier.SubscriberPending); err != nil || len(subs) != 1 || subs[0].Email != anna {
		t.Errorf("pending in soest: %v, %v; want anna again", subs, err)
	}

	for _, bad := range [][]string{
		{"subscribers", "erase", anna},
		{"subscribers", "erase", "--town", "soest", "--all-towns", anna},
		{"subscribers", "erase", "--town", "soest", "not an address"},
		{"subscribers", "show"},
	} {
		if code, _, _ := cli(bad...); code != exitInvalid {
			t.Errorf("%v: exit %d, want %d", bad, code, exitInvalid)
		}
	}
	if code, _, errOut := cli("subscribers", "erase", "--town", "nowhere", anna); code != exitFailure || !strings.Contains(errOut, "nowhere") {
		t.Errorf("erase in an unknown town: exit %d\n%s", code, errOut)
	}

	log := srv.Stderr.String()
	if !strings.Contains(log, "address erased") {
		t.Fatalf("no erasure in the log:\n%s", log)
	}
	for _, s := range []string{strings.ToLower(anna), "anna.muster", url.QueryEscape(strings.ToLower(anna))} {
		if strings.Contains(strings.ToLower(log), s) {
			t.Errorf("the log shows %q", s)
		}
	}
}

// TestPurgeCLI: "crier purge" applies the retention period on the
// server's clock. Ninety-one days after a notice, its mails' recipients
// are pseudonyms and the address of the list entry that was unsubscribed
// then is gone, while a notice sent on that day and a confirmed list entry
// keep theirs. With the retention period off, purge says so.
func TestPurgeCLI(t *testing.T) {
	smtp := smtptest.NewServer(t, smtptest.Options{})
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := actualConfig(t, hooks.URL(), smtp.Port(), "")
	clock := &shiftClock{}
	m, _, stderr := testMain(map[string]string{"RADIO_SECRET": secret})
	m.Clock = clock
	srv := serveWith(t, m, stderr, config)
	ctx := context.Background()
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"},
			append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	const bert, clara = "bert@buerger.example", "clara@buerger.example"
	if _, _, err := srv.Client.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: bert, State: crier.SubscriberConfirmed, Source: "Papierliste"},
		{Town: "soest", Email: clara, State: crier.SubscriberConfirmed, Source: "Papierliste"},
	}); err != nil {
		t.Fatal(err)
	}
	publish := func() string {
		t.Helper()
		n := e2eNotice()
		n.Towns = []string{"soest"}
		res, err := srv.Client.Publish(ctx, n, "")
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, srv.Client, res.Announcement.ID, time.Minute)
		return res.Announcement.ID
	}
	old := publish()
	if err := srv.Client.RemoveSubscriber(ctx, "soest", clara); err != nil {
		t.Fatal(err)
	}
	oldTotals, err := srv.Client.Status(ctx, old)
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(91 * 24 * time.Hour)
	publish() // to bert alone, today
	code, out, errOut := cli("purge")
	if code != exitOK || !strings.Contains(out, "2 deliveries and 0 captures pseudonymized, 0 confirmation links removed; 0 attempts, 0 keys and 1 unsubscribed addresses deleted.") {
		t.Fatalf("purge: exit %d\n%s%s", code, out, errOut)
	}
	if where := grepDatabase(t, srv.DataDir, clara); len(where) > 0 {
		t.Errorf("clara, unsubscribed 91 days ago, is still in %v", where)
	}
	if where := fmt.Sprint(grepDatabase(t, srv.DataDir, bert)); where != "[deliveries.recipient (1 rows) subscribers.email (1 rows)]" {
		t.Errorf("bert after the purge: in %s; want on the list and in today's delivery", where)
	}
	if st, err := srv.Client.Status(ctx, old); err != nil || fmt.Sprint(st.Totals) != fmt.Sprint(oldTotals.Totals) {
		t.Errorf("counts of the old notice after the purge: %v, %v; before %v", st, err, oldTotals.Totals)
	}
	if code, out, _ := cli("purge"); code != exitOK || !strings.Contains(out, "0 deliveries and 0 captures pseudonymized, 0 confirmation links removed; 0 attempts, 0 keys and 0 unsubscribed") {
		t.Errorf("purge again: exit %d\n%s", code, out)
	}

	off := actualConfig(t, hooks.URL(), smtp.Port(), "privacy: {retention: off}")
	srvOff := mustServe(t, off, map[string]string{"RADIO_SECRET": secret})
	code, _, errOut = run(t, map[string]string{"CRIER_SERVER": srvOff.URL, "CRIER_LANG": "en"},
		"purge", "--config", off, "--data-dir", srvOff.DataDir)
	if code != exitInvalid || !strings.Contains(errOut, "retention period is off") {
		t.Errorf("purge with retention off: exit %d\n%s", code, errOut)
	}
}
