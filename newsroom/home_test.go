package newsroom_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// TestHome: the overview lists the newest notices of the person's towns,
// never another town's, and tells an approver how many wait for them,
// not counting their own.
func TestHome(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalOptional)
	e.publish("Rathaus Soest geschlossen", "Heute.", "soest")
	e.publish("Rathaus Werl <geschlossen>", "Heute.", "werl")
	e.submitAs("anna", "Wasser abkochen", "soest")
	e.submitAs("root", "Root's own", "werl")

	_, page := signedIn(e, "anna").get("/admin/")
	if !strings.Contains(page, "Rathaus Soest geschlossen") || strings.Contains(page, "Werl") ||
		!strings.Contains(page, `href="/admin/compose"`) || strings.Contains(page, "warten auf Ihre Freigabe") {
		t.Errorf("anna's overview:\n%s", page)
	}
	_, page = signedIn(e, "bert").get("/admin/")
	if !strings.Contains(page, "1 Meldung(en) warten auf Ihre Freigabe") || strings.Contains(page, `href="/admin/compose"`) {
		t.Errorf("bert's overview:\n%s", page)
	}
	_, page = signedIn(e, "root").get("/admin/")
	if !strings.Contains(page, "Rathaus Werl &lt;geschlossen&gt;") || !strings.Contains(page, "1 Meldung(en) warten") {
		t.Errorf("root's overview:\n%s", page)
	}
}
