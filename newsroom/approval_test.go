package newsroom_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/newsroom"
)

// withApproval makes every town's announcements wait for an approver.
func withApproval(mode crier.ApprovalMode) func(*envOptions) {
	return func(o *envOptions) {
		prev := o.engine
		o.engine = func(e *crier.Engine) {
			if prev != nil {
				prev(e)
			}
			e.Approval = &crier.ApprovalPolicy{Default: crier.ApprovalRule{Mode: mode}}
		}
	}
}

// newApprovalEnv is newEnv with approval in mode and the submissions kept
// in its database; bert approves in Soest, carla in Werl, root is an
// admin and vera a viewer of Soest.
func newApprovalEnv(t *testing.T, mode crier.ApprovalMode) *env {
	t.Helper()
	e := newEnv(t, withWatch(nil, newsroom.WatchLimits{}), withApproval(mode))
	e.engine.Submissions = e.db
	e.addUser("bert", crier.RoleApprover, "soest")
	e.addUser("carla", crier.RoleApprover, "werl")
	e.addUser("root", crier.RoleAdmin)
	e.addUser("vera", crier.RoleViewer, "soest")
	return e
}

// submitAs submits a notice for towns as name through the engine, and
// returns its ID.
func (e *env) submitAs(name, title string, towns ...string) string {
	e.t.Helper()
	u, err := e.db.User(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx := crier.NewContext(context.Background(), &crier.Principal{Name: u.Name, Role: u.Role, Towns: u.Towns})
	res, err := e.engine.PublishWith(ctx, &crier.Announcement{Title: title, Body: "Bitte Wasser abkochen.", Towns: towns},
		"", crier.PublishOptions{Submit: true})
	if err != nil || res.State != crier.SubmissionPending {
		e.t.Fatalf("submit %q: %+v, %v", title, res, err)
	}
	return res.Announcement.ID
}

// submissionState returns the state of id's latest submission.
func (e *env) submissionState(id string) crier.SubmissionState {
	e.t.Helper()
	s, err := e.db.Submission(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s.State
}

func signedIn(e *env, name string) *browser {
	b := e.browser()
	b.login(name)
	return b
}

// TestApprovalsPages: the author sees her submission but cannot approve
// it, an approver of its town can, and after the approval it is live.
func TestApprovalsPages(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalRequired)
	id := e.submitAs("anna", "Wasser <abkochen>", "soest")

	anna := signedIn(e, "anna")
	res, page := anna.get("/admin/approvals")
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `href="/admin/approvals/`+id+`"`) ||
		!strings.Contains(page, "wartet auf Freigabe") || !strings.Contains(page, `>Freigaben</a>`) {
		t.Fatalf("anna's approvals: %s\n%s", res.Status, page)
	}
	if strings.Contains(page, "<abkochen>") || !strings.Contains(page, "Wasser &lt;abkochen&gt;") {
		t.Error("the title is not escaped")
	}
	res, page = anna.get("/admin/approvals/" + id)
	if res.StatusCode != http.StatusOK || strings.Contains(page, `id="approve"`) || strings.Contains(page, `id="reject"`) ||
		!strings.Contains(page, `id="withdraw"`) || !strings.Contains(page, `class="matrix"`) {
		t.Fatalf("anna's own submission: %s\n%s", res.Status, page)
	}
	// A forged approval by the author: 403, still pending.
	res, _ = anna.post("/admin/approvals/"+id+"/approve", url.Values{"csrf": {anna.csrf("/admin/approvals")}})
	if res.StatusCode != http.StatusForbidden || e.submissionState(id) != crier.SubmissionPending {
		t.Fatalf("anna approves her own: %s, %s", res.Status, e.submissionState(id))
	}

	// carla approves in Werl only: neither offered nor allowed.
	carla := signedIn(e, "carla")
	if _, page := carla.get("/admin/approvals"); strings.Contains(page, id) {
		t.Error("carla sees a Soest submission in her list")
	}
	if res, _ := carla.get("/admin/approvals/" + id); res.StatusCode != http.StatusForbidden {
		t.Errorf("carla reads a Soest submission: %s", res.Status)
	}
	csrf := carla.csrf("/admin/approvals")
	for _, action := range []string{"approve", "reject", "withdraw"} {
		res, _ := carla.post("/admin/approvals/"+id+"/"+action, url.Values{"csrf": {csrf}, "reason": {"nein"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("carla %s: %s", action, res.Status)
		}
	}
	if e.submissionState(id) != crier.SubmissionPending {
		t.Fatalf("after carla's forged posts: %s", e.submissionState(id))
	}

	// A viewer has no approvals at all.
	vera := signedIn(e, "vera")
	if res, page := vera.get("/admin/approvals"); res.StatusCode != http.StatusForbidden || strings.Contains(page, `href="/admin/approvals"`) {
		t.Errorf("vera's approvals: %s", res.Status)
	}

	bert := signedIn(e, "bert")
	res, page = bert.get("/admin/approvals")
	if !strings.Contains(page, `href="/admin/approvals/`+id+`"`) {
		t.Fatalf("bert's approvals do not list it:\n%s", page)
	}
	res, page = bert.get("/admin/approvals/" + id)
	if !strings.Contains(page, `id="approve"`) || !strings.Contains(page, `id="reject"`) || strings.Contains(page, `id="withdraw"`) ||
		!strings.Contains(page, "anna") {
		t.Fatalf("bert's submission page:\n%s", page)
	}
	// Without the CSRF token: refused.
	if res, _ := bert.post("/admin/approvals/"+id+"/approve", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("approve without a CSRF token: %s", res.Status)
	}
	res, _ = bert.post("/admin/approvals/"+id+"/approve", url.Values{"csrf": {bert.csrf("/admin/approvals")}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/approvals/"+id+"?decided=approved" {
		t.Fatalf("approve: %s, %q", res.Status, res.Header.Get("Location"))
	}
	res, page = bert.get(res.Header.Get("Location"))
	if !strings.Contains(page, `role="status"`) || !strings.Contains(page, "freigegeben von bert") ||
		!strings.Contains(page, `href="/admin/announcements/`+id+`"`) {
		t.Fatalf("after the approval:\n%s", page)
	}
	a, err := e.db.Announcement(context.Background(), id)
	if err != nil || a.Author != "anna" || a.Approver != "bert" || a.Approval != crier.Approved {
		t.Fatalf("published: %+v, %v", a, err)
	}
	// The list and the live page name the author and the approver.
	for _, path := range []string{"/admin/announcements", "/admin/announcements/" + id} {
		if _, page := bert.get(path); !strings.Contains(page, "anna, freigegeben von bert") {
			t.Errorf("%s does not name the author and the approver:\n%s", path, page)
		}
	}
	// Twice: a conflict, nothing more.
	if res, _ := bert.post("/admin/approvals/"+id+"/approve", url.Values{"csrf": {bert.csrf("/admin/approvals")}}); res.StatusCode != http.StatusConflict {
		t.Errorf("approve twice: %s", res.Status)
	}
}

// TestApprovalReject: a rejection needs a reason; its author sees it on
// her approvals page, escaped.
func TestApprovalReject(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalRequired)
	id := e.submitAs("anna", "Sperrung", "soest")
	bert := signedIn(e, "bert")
	csrf := bert.csrf("/admin/approvals")
	res, page := bert.post("/admin/approvals/"+id+"/reject", url.Values{"csrf": {csrf}, "reason": {"   "}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="reason-problem"`) ||
		e.submissionState(id) != crier.SubmissionPending {
		t.Fatalf("reject without a reason: %s, %s\n%s", res.Status, e.submissionState(id), page)
	}
	huge := strings.Repeat("x", crier.MaxRejectReason+1)
	if res, _ := bert.post("/admin/approvals/"+id+"/reject", url.Values{"csrf": {csrf}, "reason": {huge}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a reason too long: %s", res.Status)
	}
	reason := `Telefonnummer fehlt <script>alert(1)</script>`
	res, _ = bert.post("/admin/approvals/"+id+"/reject", url.Values{"csrf": {csrf}, "reason": {reason}})
	if res.StatusCode != http.StatusSeeOther || e.submissionState(id) != crier.SubmissionRejected {
		t.Fatalf("reject: %s, %s", res.Status, e.submissionState(id))
	}
	_, page = signedIn(e, "anna").get("/admin/approvals")
	if !strings.Contains(page, "abgelehnt von bert: Telefonnummer fehlt &lt;script&gt;") || strings.Contains(page, "<script>alert") {
		t.Fatalf("anna does not see the reason, escaped:\n%s", page)
	}
	if _, err := e.db.Announcement(context.Background(), id); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("a rejected notice was published: %v", err)
	}
}

// TestApprovalWithdraw: the author withdraws her own; another editor of
// the town may not.
func TestApprovalWithdraw(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalRequired)
	e.addUser("emil", crier.RoleEditor, "soest")
	id := e.submitAs("anna", "Sperrung", "soest")
	emil := signedIn(e, "emil")
	if _, page := emil.get("/admin/approvals/" + id); strings.Contains(page, `id="withdraw"`) {
		t.Error("emil is offered to withdraw anna's")
	}
	if res, _ := emil.post("/admin/approvals/"+id+"/withdraw", url.Values{"csrf": {emil.csrf("/admin/approvals")}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("emil withdraws anna's: %s", res.Status)
	}
	anna := signedIn(e, "anna")
	res, _ := anna.post("/admin/approvals/"+id+"/withdraw", url.Values{"csrf": {anna.csrf("/admin/approvals")}})
	if res.StatusCode != http.StatusSeeOther || e.submissionState(id) != crier.SubmissionWithdrawn {
		t.Fatalf("anna withdraws: %s, %s", res.Status, e.submissionState(id))
	}
}

var submittedLocation = regexp.MustCompile(`^/admin/approvals/([^?]+)\?submitted=1$`)

// TestComposeSubmits: with approval required, publishing from the form
// lands on the submission's page, which says it waits; an admin may
// publish at once as an emergency, and nobody else may.
func TestComposeSubmits(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalRequired)
	anna := signedIn(e, "anna")
	if _, page := anna.get("/admin/compose"); strings.Contains(page, `name="emergency"`) {
		t.Error("an editor is offered an emergency publish")
	}
	form := anna.composeForm(url.Values{"title": {"Wasser"}, "body": {"Abkochen."}, "towns": {"soest"}, "channels": {"radio", "mail"}})
	res, page := anna.post("/admin/compose/publish", form)
	m := submittedLocation.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("publish with approval required: %s, %q\n%s", res.Status, res.Header.Get("Location"), page)
	}
	_, page = anna.get(res.Header.Get("Location"))
	if !strings.Contains(page, "wartet auf Freigabe") || !strings.Contains(page, `role="status"`) {
		t.Fatalf("the submission's page does not say it waits:\n%s", page)
	}
	form = anna.composeForm(url.Values{"title": {"Sturm"}, "body": {"Drinnen bleiben."}, "towns": {"soest"}, "channels": {"radio", "mail"}, "emergency": {"1"}})
	if res, _ := anna.post("/admin/compose/publish", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("an editor's forged emergency publish: %s", res.Status)
	}

	root := signedIn(e, "root")
	if _, page := root.get("/admin/compose"); !strings.Contains(page, `name="emergency"`) || !strings.Contains(page, `<label for="emergency">`) {
		t.Fatalf("an admin is not offered an emergency publish:\n%s", page)
	}
	form = root.composeForm(url.Values{"title": {"Sturm"}, "body": {"Drinnen bleiben."}, "towns": {"soest"}, "channels": {"radio", "mail"}, "emergency": {"1"}})
	res, _ = root.post("/admin/compose/publish", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/announcements/") {
		t.Fatalf("emergency publish: %s, %q", res.Status, loc)
	}
	a, err := e.db.Announcement(context.Background(), strings.TrimPrefix(loc, "/admin/announcements/"))
	if err != nil || a.Approval != crier.EmergencyPublish || a.Author != "root" {
		t.Fatalf("emergency publish stored: %+v, %v", a, err)
	}
	if _, page := root.get(loc); !strings.Contains(page, "root, Notfall ohne Freigabe") {
		t.Errorf("the live page does not say it was an emergency publish:\n%s", page)
	}
}

// TestComposeOptionalSubmit: with approval optional the form offers to
// submit, and publishes at once without it.
func TestComposeOptionalSubmit(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalOptional)
	anna := signedIn(e, "anna")
	if _, page := anna.get("/admin/compose"); !strings.Contains(page, `<label for="submit-approval">Zur Freigabe vorlegen</label>`) {
		t.Fatalf("the form does not offer to submit:\n%s", page)
	}
	form := anna.composeForm(url.Values{"title": {"Wasser"}, "body": {"Abkochen."}, "towns": {"soest"}, "channels": {"radio", "mail"}, "submit": {"1"}})
	if res, _ := anna.post("/admin/compose/publish", form); !submittedLocation.MatchString(res.Header.Get("Location")) {
		t.Fatalf("submit: %s, %q", res.Status, res.Header.Get("Location"))
	}
	form = anna.composeForm(url.Values{"title": {"Sperrung"}, "body": {"Gesperrt."}, "towns": {"soest"}, "channels": {"radio", "mail"}})
	if res, _ := anna.post("/admin/compose/publish", form); !strings.HasPrefix(res.Header.Get("Location"), "/admin/announcements/") {
		t.Fatalf("publish without submitting: %s, %q", res.Status, res.Header.Get("Location"))
	}
}

// TestApprovalRefused: a submission that no longer passes its checks is
// not approved; its page shows why, with the matrix, and it still waits.
func TestApprovalRefused(t *testing.T) {
	e := newApprovalEnv(t, crier.ApprovalRequired)
	id := e.submitAs("anna", "Sperrung", "soest")
	e.engine.Directory.Town("soest").Channels = nil // the configuration changed since
	bert := signedIn(e, "bert")
	res, page := bert.post("/admin/approvals/"+id+"/approve", url.Values{"csrf": {bert.csrf("/admin/approvals")}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `role="alert"`) ||
		!strings.Contains(page, `class="alert summary"`) || e.submissionState(id) != crier.SubmissionPending {
		t.Fatalf("approve what no longer passes: %s, %s\n%s", res.Status, e.submissionState(id), page)
	}
}
