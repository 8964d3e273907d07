package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// approvalFlags registers --submit and --skip-approval on fs.
func approvalFlags(fs *flag.FlagSet) func() crier.PublishOptions {
	submit := fs.Bool("submit", false, "wait for an approver even where approval is optional")
	skip := fs.Bool("skip-approval", false, "admin only: publish at once although approval is required (recorded as an emergency publish)")
	return func() crier.PublishOptions { return crier.PublishOptions{Submit: *submit, SkipApproval: *skip} }
}

// pending lists what waits for approval, and with --all what was decided.
func (m *Main) pending(ctx context.Context, args []string) error {
	fs := m.flags("pending")
	r := m.remoteFlags(fs)
	all := fs.Bool("all", false, "list approved, rejected and withdrawn submissions too")
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	state := crier.SubmissionPending
	if *all {
		state = "all"
	}
	subs, err := c.Submissions(ctx, state)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		fmt.Fprintln(m.Stdout, m.t("approval.none_pending"))
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\t%s\t%s\t%s\t%s\n", m.t("cli.time"), m.t("approval.author"), m.t("cli.state"),
		m.t("approval.towns"), m.t("cli.title"))
	for _, s := range subs {
		a := s.Announcement
		title := a.Title
		if a.Revision > 1 {
			title = m.t("approval.update_of", a.Revision-1) + " " + title
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, s.CreatedAt.In(berlin).Format("2006-01-02 15:04"), s.Author,
			m.submissionState(s), strings.Join(a.Towns, ","), title)
	}
	return tw.Flush()
}

// submissionState says where a submission stands, with who decided it
// and why it was rejected.
func (m *Main) submissionState(s *crier.Submission) string {
	switch s.State {
	case crier.SubmissionPending:
		return m.t("approval.state.pending_approval")
	case crier.SubmissionRejected:
		return m.t("approval.state.rejected", s.DecidedBy, s.Reason)
	}
	return m.t("approval.state."+string(s.State), s.DecidedBy)
}

// approve approves what waits for approval under an id.
func (m *Main) approve(ctx context.Context, args []string) error {
	fs := m.flags("approve")
	r := m.remoteFlags(fs)
	wait := waitFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("approve takes an announcement id")
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	res, err := c.Approve(ctx, pos[0])
	if err := m.invalid(err); err != nil {
		return err
	}
	a := res.Announcement
	if res.Schedule != nil {
		fmt.Fprintln(m.Stdout, m.t("approval.approved_scheduled", res.Schedule.ID, locale.DateTime(m.lang(), res.Schedule.At.In(berlin))))
		return nil
	}
	fmt.Fprintln(m.Stdout, m.t("approval.approved", a.ID, a.Author, locale.N(m.lang(), "cli.deliveries", res.Deliveries)))
	if !*wait {
		return nil
	}
	return m.watch(ctx, c, a.ID)
}

// reject rejects what waits for approval under an id, with a reason.
func (m *Main) reject(ctx context.Context, args []string) error {
	fs := m.flags("reject")
	r := m.remoteFlags(fs)
	reason := fs.String("reason", "", "why it is rejected; the author sees this text (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("reject takes an announcement id")
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	s, err := c.Reject(ctx, pos[0], *reason)
	if err := m.invalid(err); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("approval.rejected", s.Announcement.ID, s.Author))
	return nil
}

// withdraw takes back one's own submission.
func (m *Main) withdraw(ctx context.Context, args []string) error {
	fs := m.flags("withdraw")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("withdraw takes an announcement id")
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	s, err := c.Withdraw(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("approval.withdrawn", s.Announcement.ID))
	return nil
}

// waiting prints that the announcement of res waits for approval, for
// publish and update.
func (m *Main) waiting(res *crier.PublishResult) {
	fmt.Fprintln(m.Stdout, m.t("approval.waiting", res.Announcement.ID, res.Announcement.Title))
}

// authorship says who wrote a revision and who approved it: "anna",
// "anna, freigegeben von bert", "admin, Notfall ohne Freigabe".
func (m *Main) authorship(a *crier.Announcement) string {
	switch {
	case a.Author == "":
		return "–"
	case a.Approval == crier.EmergencyPublish:
		return m.t("approval.by_emergency", a.Author)
	case a.Approver != "":
		return m.t("approval.by_approved", a.Author, a.Approver)
	}
	return a.Author
}
