package newsroom_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	o := newOperateEnv(t)
	anna, admin := o.browser(), o.browser()
	anna.login("anna")
	admin.login("root")

	// An editor sees the health, in words, but cannot reset.
	res, body := anna.get("/admin/operate/endpoints")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("anna: %s", res.Status)
	}
	mustContain(t, "anna's endpoints", body, `id="endpoint-mastodon-soest-primary"`, "in Betrieb", "42 ms",
		"gesperrt – bitte prüfen", "gesperrt seit", "gesperrt (Fehler)", "connection refused", "lte",
		`410 Gone &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, "Zustand neu laden")
	mustNotContain(t, "anna's endpoints", body, "/reset", `<script>alert`)
	res, _ = anna.post("/admin/operate/endpoints/mastodon-soest/backup/reset", url.Values{"csrf": {anna.csrf("/admin/operate/endpoints")}})
	if res.StatusCode != http.StatusForbidden || len(o.resetList()) != 0 {
		t.Fatalf("anna resets: %s, resets %v", res.Status, o.resetList())
	}

	// An admin resets, and is told so.
	_, body = admin.get("/admin/operate/endpoints")
	mustContain(t, "admin's endpoints", body, `action="/admin/operate/endpoints/mastodon-soest/backup/reset"`,
		"backup von mastodon-soest zurücksetzen")
	csrf := admin.csrf("/admin/operate/endpoints")
	res, _ = admin.post("/admin/operate/endpoints/mastodon-soest/backup/reset", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || strings.Join(o.resetList(), ",") != "mastodon-soest/backup" {
		t.Fatalf("admin resets: %s, resets %v", res.Status, o.resetList())
	}
	_, body = admin.get(res.Header.Get("Location"))
	mustContain(t, "after the reset", body, `role="status"`, "Endpunkt mastodon-soest / backup zurückgesetzt")
	if res, _ := admin.post("/admin/operate/endpoints/nope/nope/reset", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("reset an unknown endpoint: %s", res.Status)
	}
	// Without the CSRF token nothing is reset.
	if res, _ := admin.post("/admin/operate/endpoints/mastodon-soest/backup/reset", url.Values{}); res.StatusCode != http.StatusForbidden || len(o.resetList()) != 1 {
		t.Fatalf("reset without CSRF token: %s, resets %v", res.Status, o.resetList())
	}
}
