package newsroom_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// TestAuditPage: only an admin sees the trail; the filter finds the
// entries of an approval, in words, with their who, towns and details;
// a hostile value is escaped.
func TestAuditPage(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalRequired)
	id := e.submitAs("anna", "Wasser", "soest")
	bert := signedIn(e, "bert")
	if res, _ := bert.post("/admin/approvals/"+id+"/reject", url.Values{"csrf": {bert.csrf("/admin/approvals")},
		"reason": {"<b>Telefon</b> fehlt"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %s", res.Status)
	}

	for _, name := range []string{"anna", "bert", "vera"} {
		b := signedIn(e, name)
		if res, page := b.get("/admin/audit"); res.StatusCode != http.StatusForbidden || strings.Contains(page, `href="/admin/audit"`) {
			t.Errorf("%s reads the audit trail: %s", name, res.Status)
		}
		if res, body := b.get("/admin/audit/entries.csv"); res.StatusCode != http.StatusForbidden || strings.Contains(body, "submission") {
			t.Errorf("%s downloads the audit trail: %s", name, res.Status)
		}
	}

	root := signedIn(e, "root")
	res, page := root.get("/admin/audit?action=submission.reject&town=soest&actor=bert")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, ">abgelehnt<br><code>submission.reject</code>") ||
		!strings.Contains(page, "bert (approver)") || !strings.Contains(page, "reason: &lt;b&gt;Telefon&lt;/b&gt; fehlt") ||
		strings.Contains(page, "<b>Telefon") || !strings.Contains(page, `href="/admin/audit"`) {
		t.Fatalf("the filtered trail: %s\n%s", res.Status, page)
	}
	if strings.Contains(page, "<td>zur Freigabe vorgelegt<br>") {
		t.Error("the filter by action shows other actions")
	}
	_, page = root.get("/admin/audit")
	if !strings.Contains(page, "<td>zur Freigabe vorgelegt<br>") || !strings.Contains(page, "<td>angemeldet<br>") {
		t.Errorf("the whole trail lacks the submission or the sign-ins:\n%s", page)
	}
	// Days in Europe/Berlin: nothing before the test's day, everything on it.
	if _, page := root.get("/admin/audit?until=2026-11-25"); !strings.Contains(page, "Keine Einträge") {
		t.Error("entries before the test's day")
	}
	if _, page := root.get("/admin/audit?since=2026-11-26&until=2026-11-26&action=submission.create"); !strings.Contains(page, "<td>zur Freigabe vorgelegt<br>") {
		t.Error("no entries on the test's day")
	}
	if res, _ := root.get("/admin/audit?since=gestern"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a hostile day: %s", res.Status)
	}
}

var (
	seqCell  = regexp.MustCompile(`<th scope="row">(\d+)</th>`)
	nextLink = regexp.MustCompile(`<a href="([^"]+)">Weitere Einträge</a>`)
)

// TestAuditPaging: pages of 50, newest or oldest first, each entry once.
func TestAuditPaging(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", crier.RoleAdmin)
	ctx := crier.NewContext(context.Background(), crier.AdminPrincipal)
	for range 120 {
		if err := e.db.Record(ctx, crier.AuditEntry{Action: crier.AuditEndpointReset, Subject: "radio"}, testNow); err != nil {
			t.Fatal(err)
		}
	}
	root := signedIn(e, "root")
	for _, order := range []string{"newest", "oldest"} {
		seen := map[string]bool{}
		path := "/admin/audit?action=endpoint.reset&order=" + order
		pages := 0
		for path != "" && pages < 10 {
			pages++
			_, page := root.get(path)
			for _, m := range seqCell.FindAllStringSubmatch(page, -1) {
				if seen[m[1]] {
					t.Fatalf("%s: entry %s twice", order, m[1])
				}
				seen[m[1]] = true
			}
			path = ""
			if m := nextLink.FindStringSubmatch(page); m != nil {
				path = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		if len(seen) != 120 || pages != 3 {
			t.Errorf("%s: %d entries on %d pages; want 120 on 3", order, len(seen), pages)
		}
	}
}

// TestAuditVerifyButton: the chain is intact, then an entry changed in
// the database is named.
func TestAuditVerifyButton(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", crier.RoleAdmin)
	root := signedIn(e, "root")
	csrf := root.csrf("/admin/audit")
	res, page := root.post("/admin/audit/verify", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Protokoll unversehrt") {
		t.Fatalf("verify: %s\n%s", res.Status, page)
	}
	// newEnv's database is in the test's first temporary directory.
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "crier.db"))
	if len(files) != 1 {
		t.Fatalf("database files %v", files)
	}
	raw, err := sql.Open("sqlite", files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE audit SET actor = 'mallory' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	_, page = root.post("/admin/audit/verify", url.Values{"csrf": {csrf}})
	if !strings.Contains(page, "Protokoll verfälscht ab Eintrag Nr. 1") {
		t.Fatalf("a changed entry is not named:\n%s", page)
	}
	anna := signedIn(e, "anna")
	if res, _ := anna.post("/admin/audit/verify", url.Values{"csrf": {anna.csrf("/admin/")}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("an editor verifies: %s", res.Status)
	}
}

// TestAuditCSV: the download carries the filtered entries, with a cell
// that looks like a formula defused.
func TestAuditCSV(t *testing.T) {
	e := newEnv(t)
	e.addUser("root", crier.RoleAdmin)
	ctx := crier.NewContext(context.Background(), crier.AdminPrincipal)
	if err := e.db.Record(ctx, crier.AuditEntry{Action: crier.AuditEndpointReset, Subject: "=HYPERLINK(\"http://evil\")",
		Detail: map[string]string{"note": "@SUM(1)"}}, testNow); err != nil {
		t.Fatal(err)
	}
	root := signedIn(e, "root")
	res, body := root.get("/admin/audit/entries.csv?action=endpoint.reset")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV: %s %v", res.Status, res.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "seq" || rows[1][6] != crier.AuditEndpointReset ||
		rows[1][7] != `'=HYPERLINK("http://evil")` || rows[1][9] != "note=@SUM(1)" {
		t.Fatalf("CSV rows = %q", rows)
	}
}
