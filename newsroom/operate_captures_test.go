package newsroom_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

func TestCaptures(t *testing.T) {
	o := newOperateEnv(t)
	ctx := context.Background()
	save := func(key, town, typ, recipient, text string, payload []byte) {
		t.Helper()
		o.clock.Add(time.Second)
		if err := o.db.SaveCapture(ctx, &crier.Capture{Key: key, Announcement: "a-" + town, Revision: 1, Town: town,
			Channel: typ + "-" + town, Type: typ, Recipient: recipient, Text: text, Payload: payload,
			At: o.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		save(fmt.Sprintf("soest-%02d", i), "soest", "mastodon", "", fmt.Sprintf("Soest Nummer %02d", i), nil)
	}
	save("werl-mail", "werl", "email", "buerger@werl.example", "Werl Geheim", nil)
	save("soest-mail", "soest", "email", "anwohner@soest.example", "Soest Mail", nil)
	save("soest-hook", "soest", "webhook", "", "", []byte(`{"title":"</pre><script>alert(1)</script>"}`))

	anna, admin := o.browser(), o.browser()
	anna.login("anna")
	admin.login("root")
	res, body := anna.get("/admin/operate/captures")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("anna: %s", res.Status)
	}
	// Newest first, escaped, Soest's only; mails to one address are an
	// admin's to read (they hold the address and its unsubscribe link).
	mustContain(t, "anna's first page", body, "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
		"Soest Nummer 24", `rel="next"`)
	mustNotContain(t, "anna's first page", body, "Werl Geheim", "Soest Mail", "anwohner@soest.example", "<script>alert(1)",
		"Soest Nummer 05")
	if i, j := strings.Index(body, "&lt;/pre&gt;"), strings.Index(body, "Soest Nummer 24"); i < 0 || i > j {
		t.Errorf("not newest first")
	}
	next := regexp.MustCompile(`href="(/admin/operate/captures\?before=\d+)"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no link to older captures")
	}
	_, body = anna.get(next[1])
	mustContain(t, "anna's second page", body, "Soest Nummer 05", "Soest Nummer 00", "Neueste Aufzeichnungen")
	mustNotContain(t, "anna's second page", body, "Soest Nummer 24", "Werl Geheim", `rel="next"`)

	// An admin sees every town's, with the recipients.
	_, body = admin.get("/admin/operate/captures")
	mustContain(t, "admin's captures", body, "Werl Geheim", "Soest Mail", "buerger@werl.example", "anwohner@soest.example")

	// A hostile before parameter is a first page.
	if res, _ := anna.get("/admin/operate/captures?before=-1%27"); res.StatusCode != http.StatusOK {
		t.Errorf("hostile before: %s", res.Status)
	}
}
