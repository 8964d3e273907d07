package newsroom_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

func TestServiceStatus(t *testing.T) {
	o := newOperateEnv(t)
	ctx := context.Background()
	if err := o.db.SetServiceStatus(ctx, "werl", []crier.ServiceStatus{{Service: "Rathaus Werl", Text: "zu"}}, testNow); err != nil {
		t.Fatal(err)
	}
	anna, admin := o.browser(), o.browser()
	anna.login("anna")
	admin.login("root")

	// Anna sees Soest only, its configured list while none is stored.
	res, body := anna.get("/admin/operate/status")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("anna: %s", res.Status)
	}
	mustContain(t, "anna's status", body, `id="status-soest"`, "Bürgerbüro", "geöffnet", "aus der Konfiguration",
		`href="/admin/operate/status/soest"`)
	mustNotContain(t, "anna's status", body, "status-werl", "Rathaus Werl")
	_, body = admin.get("/admin/operate/status")
	mustContain(t, "admin's status", body, `id="status-soest"`, `id="status-werl"`, "Rathaus Werl")

	// Werl is neither shown to anna nor changed by a forged post.
	if res, _ := anna.get("/admin/operate/status/werl"); res.StatusCode != http.StatusForbidden {
		t.Errorf("anna GET werl: %s", res.Status)
	}
	csrf := anna.csrf("/admin/operate/status/soest")
	res, _ = anna.post("/admin/operate/status/werl", url.Values{"csrf": {csrf}, "service": {"Rathaus Werl"}, "text": {"offen"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("anna POST werl: %s", res.Status)
	}
	if lines, _ := o.db.ServiceStatus(ctx, "werl"); len(lines) != 1 || lines[0].Text != "zu" {
		t.Errorf("werl after anna's forged post: %+v", lines)
	}
	if res, _ := anna.post("/admin/operate/status/nowhere", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown town: %s", res.Status)
	}

	// Problems are shown next to their fields, and nothing is stored.
	res, body = anna.post("/admin/operate/status/soest", url.Values{"csrf": {csrf},
		"service":      {"Bürgerbüro", "", "Bürgerbüro", ""},
		"availability": {"closed", "", "", ""},
		"text":         {"zu", "", `<script>alert(1)</script>`, "Text ohne Dienst"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad list: %s", res.Status)
	}
	mustContain(t, "bad list", body, `id="availability-0-problem"`, `id="service-2-problem"`, `id="service-3-problem"`,
		`value="Text ohne Dienst"`, `&lt;script&gt;alert(1)&lt;/script&gt;`)
	mustNotContain(t, "bad list", body, "<script>alert(1)", `id="service-1-problem"`)
	if lines, _ := o.db.ServiceStatus(ctx, "soest"); len(lines) != 0 {
		t.Fatalf("a bad list was stored: %+v", lines)
	}

	// A good list is stored; empty rows are dropped.
	res, _ = anna.post("/admin/operate/status/soest", url.Values{"csrf": {csrf},
		"service":      {"Bürgerbüro", "", "Telefon"},
		"availability": {"down", "", "up"},
		"text":         {"geschlossen", "", "02921 103-0"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good list: %s", res.Status)
	}
	lines, _ := o.db.ServiceStatus(ctx, "soest")
	if len(lines) != 2 || lines[0].Availability != crier.ServiceDown || lines[1].Service != "Telefon" {
		t.Fatalf("stored list: %+v", lines)
	}
	_, body = anna.get(res.Header.Get("Location"))
	mustContain(t, "after saving", body, `role="status"`, "Stadt Soest gespeichert", "nicht verfügbar", `value="Telefon"`)

	// An empty list shows the configured one again.
	res, _ = anna.post("/admin/operate/status/soest", url.Values{"csrf": {csrf}, "service": {""}, "text": {""}})
	if lines, _ := o.db.ServiceStatus(ctx, "soest"); res.StatusCode != http.StatusSeeOther || len(lines) != 0 {
		t.Fatalf("empty list: %s, %+v", res.Status, lines)
	}

	// Too many rows are refused, however many are sent.
	form := url.Values{"csrf": {csrf}}
	for i := range 1000 {
		form.Add("service", "Dienst "+strings.Repeat("x", i%7))
		form.Add("text", "Text")
	}
	if res, _ := anna.post("/admin/operate/status/soest", form); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("1000 rows: %s", res.Status)
	}

	// A viewer reads but may not change.
	o.addUser("vera", crier.RoleViewer, "soest")
	vera := o.browser()
	vera.login("vera")
	res, body = vera.get("/admin/operate/status/soest")
	if res.StatusCode != http.StatusOK || strings.Contains(body, `id="status-form"`) {
		t.Fatalf("vera's view: %s", res.Status)
	}
	if res, _ := vera.post("/admin/operate/status/soest", url.Values{"csrf": {vera.csrf("/admin/operate/status")}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("vera posts: %s", res.Status)
	}
}
