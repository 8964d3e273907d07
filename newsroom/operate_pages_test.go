package newsroom_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

var (
	inputTag   = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idAttr     = regexp.MustCompile(`\bid="([^"]+)"`)
	labelFor   = regexp.MustCompile(`<label for="([^"]+)"`)
	tableTag   = regexp.MustCompile(`<table\b[^>]*>\s*(<caption>)?`)
	headingTag = regexp.MustCompile(`<h([1-6])\b`)
)

// checkPage fails the test where the page at path breaks a rule every
// page keeps: one h1 and headings in order, a label for every field, a
// caption or a heading for every table, headers with a scope, no inline
// script or style.
func checkPage(t *testing.T, path, body string) {
	t.Helper()
	labels := map[string]bool{}
	for _, m := range labelFor.FindAllStringSubmatch(body, -1) {
		labels[m[1]] = true
	}
	for _, tag := range inputTag.FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		id := idAttr.FindStringSubmatch(tag)
		if id == nil || !labels[id[1]] {
			t.Errorf("%s: a field without a label: %s", path, tag)
		}
	}
	for _, m := range tableTag.FindAllStringSubmatch(body, -1) {
		if m[1] == "" && !strings.Contains(m[0], "aria-labelledby=") {
			t.Errorf("%s: a table without a caption or heading: %s", path, m[0])
		}
	}
	if strings.Count(body, "<th>") > 0 {
		t.Errorf("%s: a table header without a scope", path)
	}
	last := 0
	for i, m := range headingTag.FindAllStringSubmatch(body, -1) {
		level := int(m[1][0] - '0')
		if (i == 0 && level != 1) || (i > 0 && (level == 1 || level > last+1)) {
			t.Errorf("%s: heading h%d after h%d", path, level, last)
		}
		last = level
	}
	for _, bad := range []string{"<script>", " style=", "<style", "javascript:", "http-equiv"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s: %q", path, bad)
		}
	}
}

// TestOperatePages: every page as an admin and as anna, an editor of
// Soest: what each may open, and the rules every page keeps.
func TestOperatePages(t *testing.T) {
	o := newOperateEnv(t)
	ctx := context.Background()
	o.addSchedule("s-soest", "Soest", "soest")
	if _, err := o.db.AddSubscribers(ctx, []*crier.Subscriber{{Town: "soest", Email: "a@soest.example",
		State: crier.SubscriberPending}}, testNow); err != nil {
		t.Fatal(err)
	}
	if err := o.db.SaveCapture(ctx, &crier.Capture{Key: "k", Announcement: "a", Town: "soest", Channel: "c",
		Type: "email", Subject: "Betreff", Text: "Text", HTML: "<p>Text</p>", At: testNow}); err != nil {
		t.Fatal(err)
	}
	admin, anna := o.browser(), o.browser()
	admin.login("root")
	anna.login("anna")
	for _, tt := range []struct {
		path        string
		admin, anna int
	}{
		{"/admin/operate", 200, 200},
		{"/admin/operate/endpoints", 200, 200},
		{"/admin/operate/schedules", 200, 200},
		{"/admin/operate/schedules?all=1", 200, 200},
		{"/admin/operate/status", 200, 200},
		{"/admin/operate/status/soest", 200, 200},
		{"/admin/operate/status/werl", 200, 403},
		{"/admin/operate/subscribers", 200, 403},
		{"/admin/operate/subscribers?town=soest", 200, 403},
		{"/admin/operate/captures", 200, 200},
		{"/admin/users", 200, 403},
		{"/admin/users/anna", 200, 403},
		{"/admin/tokens", 200, 200},
	} {
		for _, who := range []struct {
			b    *browser
			want int
		}{{admin, tt.admin}, {anna, tt.anna}} {
			res, body := who.b.get(tt.path)
			if res.StatusCode != who.want {
				t.Errorf("GET %s: %s, want %d", tt.path, res.Status, who.want)
				continue
			}
			checkPage(t, tt.path, body)
		}
	}
	// A page with every problem shown keeps the rules too.
	_, body := admin.post("/admin/users", map[string][]string{"csrf": {admin.csrf("/admin/users")}, "name": {"X"}})
	if n := len(inputTag.FindAllString(body, -1)); n < 8 {
		t.Fatalf("the users page has %d fields; is the check blind?", n)
	}
	checkPage(t, "/admin/users with problems", body)
}
