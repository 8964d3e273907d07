package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
	"github.com/google/go-cmp/cmp"
)

// approvalConfig is the example configuration with approval: optional
// everywhere, required in soest, and in werl from severity Severe on.
func approvalConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, new := range map[string]string{
		"\n  - id: soest\n": "\n  - id: soest\n    approval: {mode: required}\n",
		"\n  - id: werl\n":  "\n  - id: werl\n    approval: {mode: required, from_severity: Severe}\n",
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("the example configuration has no %q", old)
		}
		s = strings.Replace(s, old, new, 1)
	}
	s += "\napproval:\n  mode: optional\n"
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// approvalUsers adds users with a token each next to the server on
// dataDir and returns the tokens by user name: anna edits soest, werl and
// lippstadt, bert approves soest and werl, carl approves werl only.
func approvalUsers(t *testing.T, config, dataDir string) map[string]string {
	t.Helper()
	admin := func(stdin string, args ...string) (int, string, string) {
		return runIn(t, map[string]string{"CRIER_LANG": "en"}, stdin, append(args, "--config", config, "--data-dir", dataDir)...)
	}
	tokens := map[string]string{}
	for _, u := range []struct{ name, role, towns string }{
		{"anna", "editor", "soest,werl,lippstadt"}, {"bert", "approver", "soest,werl"}, {"carl", "approver", "werl"},
	} {
		if code, _, errOut := admin("Mülltonne am Dienstag\n", "users", "add", u.name, "--role", u.role, "--towns", u.towns, "--password-stdin"); code != exitOK {
			t.Fatalf("users add %s: exit %d\n%s", u.name, code, errOut)
		}
		code, out, errOut := admin("", "tokens", "add", u.name)
		if code != exitOK {
			t.Fatalf("tokens add %s: exit %d\n%s", u.name, code, errOut)
		}
		tokens[u.name] = strings.TrimSpace(out)
	}
	return tokens
}

func notice(title string, towns ...string) *crier.Announcement {
	return &crier.Announcement{Title: title, Body: "Die {{.Town.Name}} ist erreichbar unter {{.Vars.phone}}.", Towns: towns}
}

// TestApprovalThroughServe: an editor's notice for soest waits for
// approval with nothing queued and nothing on the website; its author and
// an approver of another town may not approve it; after a restart an
// approver of soest approves it, and it is delivered with author and
// approver recorded.
func TestApprovalThroughServe(t *testing.T) {
	config := approvalConfig(t)
	dataDir := newDataDir(t)
	m, _, stderr := testMain(nil)
	srv, stop := startServe(t, m, stderr, config, dataDir)
	t.Cleanup(stop)
	tokens := approvalUsers(t, config, dataDir)
	ctx := context.Background()
	as := func(srv *served, name string) *server.Client {
		return &server.Client{URL: srv.URL, Token: tokens[name]}
	}

	res, err := as(srv, "anna").Publish(ctx, notice("Wasser abkochen", "soest"), "anna-1")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	if res.State != crier.SubmissionPending || res.Deliveries != 0 || res.Announcement.Author != "anna" {
		t.Fatalf("editor's publish in soest: state %q, %d deliveries, author %q; want it pending, none, anna",
			res.State, res.Deliveries, res.Announcement.Author)
	}
	if again, err := as(srv, "anna").Publish(ctx, notice("Wasser abkochen", "soest"), "anna-1"); err != nil ||
		again.Announcement.ID != id || !again.Existing || again.State != crier.SubmissionPending {
		t.Errorf("repeated submit: %+v, %v; want the same pending announcement", again, err)
	}
	st, err := as(srv, "anna").Status(ctx, id)
	if err != nil || st.Total != 0 || st.Submission == nil || st.Submission.State != crier.SubmissionPending {
		t.Fatalf("status of the pending one: %+v, %v", st, err)
	}
	if n, err := queueDepth(t, srv); err != nil || n != 0 {
		t.Errorf("queue depth %d, %v; want nothing queued", n, err)
	}
	if page := sitePage(t, srv.URL+"/soest/"); strings.Contains(page, "Wasser abkochen") {
		t.Error("the website shows a notice waiting for approval")
	}
	if list, err := srv.Client.Announcements(ctx, 10); err != nil || len(list) != 0 {
		t.Errorf("announcements: %d, %v; want none published", len(list), err)
	}

	for name, want := range map[string]string{"anna": "anna (role editor) may not approve", "carl": "may not approve for soest"} {
		if _, err := as(srv, name).Approve(ctx, id); crier.ErrorCode(err) != crier.EFORBIDDEN || !strings.Contains(crier.ErrorMessage(err), want) {
			t.Errorf("%s approves: %v; want forbidden, %q", name, err, want)
		}
	}
	if _, err := as(srv, "carl").Status(ctx, id); crier.ErrorCode(err) != crier.EFORBIDDEN {
		t.Errorf("carl reads soest's submission: %v; want forbidden", err)
	}
	if subs, err := as(srv, "carl").Submissions(ctx, ""); err != nil || len(subs) != 0 {
		t.Errorf("carl's pending list: %d, %v; want soest's hidden", len(subs), err)
	}
	if subs, err := as(srv, "bert").Submissions(ctx, ""); err != nil || len(subs) != 1 || subs[0].Announcement.ID != id {
		t.Errorf("bert's pending list: %v, %v; want %s", subs, err, id)
	}

	// A restart between submit and approve loses nothing.
	stop()
	srv, stop = startServe(t, m, stderr, config, dataDir)
	t.Cleanup(stop)

	res, err = as(srv, "bert").Approve(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deliveries == 0 || res.Announcement.Author != "anna" || res.Announcement.Approver != "bert" {
		t.Fatalf("approved: %d deliveries, author %q, approver %q", res.Deliveries, res.Announcement.Author, res.Announcement.Approver)
	}
	st = waitDone(t, srv.Client, id, time.Minute)
	if st.Totals[crier.StateSent] != res.Deliveries || st.Announcement.Approval != crier.Approved ||
		st.Announcement.Author != "anna" || st.Announcement.Approver != "bert" {
		t.Errorf("after approval: %v sent of %d, announcement %+v", st.Totals, res.Deliveries, st.Announcement)
	}
	if caps, err := srv.Client.Captures(ctx, id, 100); err != nil || len(caps) != res.Deliveries {
		t.Errorf("captured %d, %v; want %d", len(caps), err, res.Deliveries)
	}
	if page := sitePage(t, srv.URL+"/soest/"); !strings.Contains(page, "Wasser abkochen") {
		t.Error("the website does not show the approved notice")
	}
	if _, err := as(srv, "bert").Approve(ctx, id); crier.ErrorCode(err) != crier.ECONFLICT || !strings.Contains(crier.ErrorMessage(err), "approved by bert already") {
		t.Errorf("second approval: %v; want a conflict", err)
	}

	// An update needs approval as a publish does; a cancel never waits.
	up := notice("Wasser abkochen", "soest")
	up.Body += " Ab morgen nicht mehr."
	res, err = as(srv, "anna").Update(ctx, id, up, "")
	if err != nil || res.State != crier.SubmissionPending {
		t.Fatalf("editor's update: %+v, %v; want it pending", res, err)
	}
	res, err = as(srv, "bert").Approve(ctx, id)
	if err != nil || res.Announcement.Revision != 2 || res.Announcement.Approver != "bert" {
		t.Fatalf("approved update: %+v, %v; want revision 2 by bert", res, err)
	}
	waitDone(t, srv.Client, id, time.Minute)
	res, err = as(srv, "anna").Cancel(ctx, id, "Erledigt.", "")
	if err != nil || res.State != "" || res.Announcement.Revision != 3 || res.Announcement.Author != "anna" {
		t.Errorf("editor's cancel: %+v, %v; want it published at once", res, err)
	}
}

// TestApprovalRejectAndRules: a rejection's reason reaches the author,
// through the API and crier status; approving it then is a conflict.
// Approval applies per town and from a severity; a notice for several
// towns waits when one of them requires it; an admin's emergency publish
// is recorded; an editor may not skip approval.
func TestApprovalRejectAndRules(t *testing.T) {
	config := approvalConfig(t)
	srv := mustServe(t, config, nil)
	tokens := approvalUsers(t, config, srv.DataDir)
	ctx := context.Background()
	as := func(name string) *server.Client { return &server.Client{URL: srv.URL, Token: tokens[name]} }

	res, err := as("anna").Publish(ctx, notice("Rathaus geschlossen", "soest"), "")
	if err != nil || res.State != crier.SubmissionPending {
		t.Fatalf("submit: %+v, %v", res, err)
	}
	id := res.Announcement.ID
	if _, err := as("bert").Reject(ctx, id, "  "); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("reject without a reason: %v; want invalid", err)
	}
	if _, err := as("anna").Reject(ctx, id, "Doch nicht."); crier.ErrorCode(err) != crier.EFORBIDDEN {
		t.Errorf("the author rejects: %v; want forbidden", err)
	}
	if sub, err := as("bert").Reject(ctx, id, "Die Telefonnummer fehlt."); err != nil || sub.State != crier.SubmissionRejected {
		t.Fatalf("reject: %+v, %v", sub, err)
	}
	st, err := as("anna").Status(ctx, id)
	if err != nil || st.Submission == nil || st.Submission.Reason != "Die Telefonnummer fehlt." || st.Submission.DecidedBy != "bert" {
		t.Errorf("the author's status: %+v, %v; want the reason", st, err)
	}
	env := map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": tokens["anna"], "CRIER_LANG": "de"}
	if code, out, errOut := run(t, env, "status", id); code != exitOK || !strings.Contains(out, "abgelehnt von bert: Die Telefonnummer fehlt.") {
		t.Errorf("crier status as the author: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := as("bert").Approve(ctx, id); crier.ErrorCode(err) != crier.ECONFLICT || !strings.Contains(crier.ErrorMessage(err), "rejected by bert") {
		t.Errorf("approve after reject: %v; want a conflict", err)
	}

	// Rules per town and severity.
	severe := func(a *crier.Announcement) *crier.Announcement { a.Severity = "Severe"; return a }
	for _, c := range []struct {
		what    string
		a       *crier.Announcement
		o       crier.PublishOptions
		pending bool
	}{
		{"werl, minor", notice("Sprechstunde", "werl"), crier.PublishOptions{}, false},
		{"werl, severe", severe(notice("Hochwasser", "werl")), crier.PublishOptions{}, true},
		{"lippstadt, optional", notice("Sprechstunde", "lippstadt"), crier.PublishOptions{}, false},
		{"lippstadt, optional, submitted", notice("Sprechstunde 2", "lippstadt"), crier.PublishOptions{Submit: true}, true},
		{"lippstadt and soest", notice("Sprechstunde 3", "lippstadt", "soest"), crier.PublishOptions{}, true},
	} {
		res, err := as("anna").PublishWith(ctx, c.a, "", false, c.o)
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if got := res.State == crier.SubmissionPending; got != c.pending || got == (res.Deliveries > 0) {
			t.Errorf("%s: state %q with %d deliveries; want pending %v", c.what, res.State, res.Deliveries, c.pending)
		}
	}
	forged := notice("Freigegeben", "soest")
	forged.Approver, forged.Approval = "bert", crier.Approved
	if _, err := as("anna").Publish(ctx, forged, ""); crier.ErrorCode(err) != crier.EINVALID || !strings.Contains(err.Error(), "approver") {
		t.Errorf("a request naming its approver: %v; want invalid", err)
	}
	if _, err := as("anna").PublishWith(ctx, notice("Notfall", "soest"), "", false, crier.PublishOptions{SkipApproval: true}); crier.ErrorCode(err) != crier.EFORBIDDEN {
		t.Errorf("an editor skips approval: %v; want forbidden", err)
	}
	// A schedule cannot wait for approval: an editor may not make one
	// where approval is required, an admin may.
	sc := &crier.Schedule{Spec: "0 8 * * 1-5", Announcement: notice("Sprechstunde", "soest")}
	if _, err := as("anna").CreateSchedule(ctx, sc, "", false); crier.ErrorCode(err) != crier.EFORBIDDEN || !strings.Contains(crier.ErrorMessage(err), "needs approval") {
		t.Errorf("an editor's schedule in soest: %v; want forbidden", err)
	}
	if _, err := as("anna").CreateSchedule(ctx, &crier.Schedule{Spec: "0 8 * * 1-5", Announcement: notice("Sprechstunde", "werl")}, "", false); err != nil {
		t.Errorf("an editor's schedule in werl, minor: %v", err)
	}
	if stored, err := srv.Client.CreateSchedule(ctx, sc, "", false); err != nil || stored.Announcement.Author != "admin" {
		t.Errorf("the admin's schedule in soest: %+v, %v", stored, err)
	}
	// The admin token: without the flag it waits like anyone's; with it,
	// it is published and recorded as an emergency publish.
	res, err = srv.Client.Publish(ctx, notice("Evakuierung", "soest"), "")
	if err != nil || res.State != crier.SubmissionPending || res.Announcement.Author != "admin" {
		t.Errorf("admin without --skip-approval: %+v, %v; want pending", res, err)
	}
	if _, err := srv.Client.Approve(ctx, res.Announcement.ID); crier.ErrorCode(err) != crier.EFORBIDDEN ||
		!strings.Contains(crier.ErrorMessage(err), "admin may not approve their own announcement") {
		t.Errorf("the admin approves their own: %v; want forbidden", err)
	}
	res, err = srv.Client.PublishWith(ctx, notice("Evakuierung sofort", "soest"), "", false, crier.PublishOptions{SkipApproval: true})
	if err != nil || res.State != "" || res.Deliveries == 0 || res.Announcement.Approval != crier.EmergencyPublish {
		t.Fatalf("admin's emergency publish: %+v, %v", res, err)
	}
	if st, err := srv.Client.Status(ctx, res.Announcement.ID); err != nil || st.Announcement.Approval != crier.EmergencyPublish || st.Announcement.Author != "admin" {
		t.Errorf("emergency publish not recorded: %+v, %v", st, err)
	}
}

// TestApprovalCLI: crier publish says the notice waits, crier pending
// lists it for an approver, crier approve publishes it, and crier list
// shows author and approver.
func TestApprovalCLI(t *testing.T) {
	config := approvalConfig(t)
	srv := mustServe(t, config, nil)
	tokens := approvalUsers(t, config, srv.DataDir)
	env := func(name, lang string) map[string]string {
		return map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": tokens[name], "CRIER_LANG": lang}
	}
	file := filepath.Join(t.TempDir(), "notice.md")
	if err := os.WriteFile(file, []byte("---\ntitle: Wasser abkochen\ntowns: [soest]\n---\nBitte abkochen.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, env("anna", "de"), "publish", file)
	if code != exitOK || !strings.HasPrefix(out, "Wartet auf Freigabe: ") {
		t.Fatalf("publish as editor: exit %d\n%s%s", code, out, errOut)
	}
	id := strings.Fields(strings.TrimPrefix(out, "Wartet auf Freigabe: "))[0]
	if code, out, _ := run(t, env("anna", "en"), "publish", file); code != exitOK || !strings.HasPrefix(out, "Waiting for approval: ") {
		t.Errorf("publish in English: exit %d\n%s", code, out)
	}
	code, out, errOut = run(t, env("bert", "de"), "pending")
	if code != exitOK || !strings.Contains(out, id) || !strings.Contains(out, "anna") || !strings.Contains(out, "wartet auf Freigabe") {
		t.Errorf("pending as approver: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, env("anna", "en"), "approve", id); code != exitFailure || !strings.Contains(errOut, "may not approve") {
		t.Errorf("approve as the author: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := run(t, env("bert", "de"), "approve", id, "--wait"); code != exitOK || !strings.Contains(out, "Freigegeben: "+id+" (von anna)") {
		t.Errorf("approve: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_TOKEN": srv.Client.Token, "CRIER_LANG": "en"}, "list"); code != exitOK ||
		!strings.Contains(out, "anna, approved by bert") {
		t.Errorf("list: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env("anna", "en"), "status", id); code != exitOK || !strings.Contains(out, "Author: anna, approved by bert") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	// The second submission of the same file waits still; its author
	// withdraws it.
	subs, err := (&server.Client{URL: srv.URL, Token: tokens["anna"]}).Submissions(context.Background(), "")
	if err != nil || len(subs) != 1 {
		t.Fatalf("pending: %v, %v", subs, err)
	}
	if code, _, errOut := run(t, env("bert", "en"), "withdraw", subs[0].Announcement.ID); code != exitFailure || !strings.Contains(errOut, "bert (role approver) may not") {
		t.Errorf("withdraw as someone else: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := run(t, env("anna", "en"), "withdraw", subs[0].Announcement.ID); code != exitOK || !strings.Contains(out, "Withdrawn") {
		t.Errorf("withdraw: exit %d\n%s%s", code, out, errOut)
	}
}

// sitePage returns the body of a GET of url.
func sitePage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfigApproval: approval blocks at the top and per town are checked
// with their field paths and turn into the engine's policy; without any,
// there is none.
func TestConfigApproval(t *testing.T) {
	_, err := LoadConfig(writeConfig(t, `
approval: {mode: always, from_severity: Schlimm}
towns:
  - {id: soest, name: Soest, approval: {from_severity: Severe}}
  - {id: werl, name: Werl, approval: {mode: off, from_severity: Extreme}}
`), noEnv)
	want := []string{"towns[soest].approval.from_severity", "towns[werl].approval.from_severity",
		"approval.mode", "approval.from_severity"}
	if diff := cmp.Diff(want, problemFields(t, err)); diff != "" {
		t.Errorf("problem fields (-want +got):\n%s\nerror:\n%v", diff, err)
	}

	c, err := LoadConfig(writeConfig(t, `
approval: {mode: optional}
towns:
  - {id: soest, name: Soest, approval: {mode: required, from_severity: Severe}}
  - {id: werl, name: Werl}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	wantPolicy := &crier.ApprovalPolicy{
		Default: crier.ApprovalRule{Mode: crier.ApprovalOptional},
		Towns:   map[string]crier.ApprovalRule{"soest": {Mode: crier.ApprovalRequired, FromSeverity: "Severe"}},
	}
	if diff := cmp.Diff(wantPolicy, c.approval()); diff != "" {
		t.Errorf("policy (-want +got):\n%s", diff)
	}
	if c, err := LoadConfig(exampleConfig, noEnv); err != nil || c.approval() != nil {
		t.Errorf("the example: policy %v, %v; want none (approval off)", c.approval(), err)
	}
}
