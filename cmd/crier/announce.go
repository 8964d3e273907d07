package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/server"
	"github.com/crierhq/crier/store/sqlite"
)

// berlin is where local times in announcement files are read.
var berlin = mustLoadLocation("Europe/Berlin")

// publish sends an announcement file to the server.
func (m *Main) publish(ctx context.Context, args []string) error {
	fs := m.flags("publish")
	r := m.remoteFlags(fs)
	wait := waitFlag(fs)
	key := keyFlag(fs, "publish")
	again := againFlag(fs)
	approval := approvalFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("publish takes one announcement file")
	}
	a, publishAt, err := readNoticeAt(pos[0], berlin, m.Clock.Now())
	if err != nil {
		return flagError(err)
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	o := approval()
	if !publishAt.IsZero() {
		o.PublishAt = publishAt
		return m.publishAt(ctx, c, a, key(), *wait, *again, o)
	}
	var res *crier.PublishResult
	err = retryTransport(ctx, func() (err error) {
		res, err = c.PublishWith(ctx, a, key(), false, o)
		return err
	})
	if err := m.invalid(err); err != nil {
		return err
	}
	if res.State != "" {
		m.waiting(res)
		return nil
	}
	fmt.Fprintln(m.Stdout, m.t("cli.published", res.Announcement.ID, locale.N(m.lang(), "cli.deliveries", res.Deliveries)))
	if !*wait {
		return nil
	}
	return m.watch(ctx, c, res.Announcement.ID)
}

// watch shows progress until every delivery of id is final and reports
// what did not go out.
func (m *Main) watch(ctx context.Context, c *server.Client, id string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		st, err := c.Status(ctx, id)
		if err != nil {
			return err
		}
		m.progress(st)
		if st.Done {
			fmt.Fprintln(m.Stderr)
			return m.summary(ctx, c, st)
		}
		if n%8 == 7 {
			if gone := goneChannels(ctx, c, st); len(gone) > 0 {
				fmt.Fprintln(m.Stderr)
				for _, g := range gone {
					key := "cli.waits_for_gone"
					if g.refused {
						key = "cli.waits_for_refused"
					}
					fmt.Fprintln(m.Stdout, m.t(key, g.n, g.channel, g.endpoints, g.channel))
				}
				return &failure{exitFailure}
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(m.Stderr)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// goneWait is a channel whose deliveries can only wait: every endpoint of
// it is gone, or refused its probes outright (a revoked token), until a
// person clears one.
type goneWait struct {
	channel, endpoints string
	n                  int
	refused            bool // some endpoint was refused rather than gone
}

// goneChannels returns the channels with deliveries of st still to be sent
// whose endpoints are all gone: waiting for them is waiting for a person.
func goneChannels(ctx context.Context, c *server.Client, st *server.Status) []goneWait {
	pending := map[string]int{}
	for _, k := range st.Counts {
		if !k.State.Final() {
			pending[k.Channel] += k.N
		}
	}
	hs, err := c.Endpoints(ctx)
	if err != nil {
		return nil // the progress goes on; this is only a hint
	}
	all := map[string]bool{}
	refused := map[string]bool{}
	names := map[string][]string{}
	for _, h := range hs {
		stuck, seen := all[h.Channel]
		all[h.Channel] = (stuck || !seen) && (h.State == netpath.StateGone || h.Refused != "")
		refused[h.Channel] = refused[h.Channel] || h.Refused != "" && h.State != netpath.StateGone
		names[h.Channel] = append(names[h.Channel], h.Endpoint)
	}
	var out []goneWait
	for _, ch := range slices.Sorted(maps.Keys(pending)) {
		if all[ch] {
			out = append(out, goneWait{channel: ch, endpoints: strings.Join(names[ch], ", "), n: pending[ch], refused: refused[ch]})
		}
	}
	return out
}

// progress draws a one-line progress bar on stderr.
func (m *Main) progress(st *server.Status) {
	const width = 30
	filled := 0
	if st.Total > 0 {
		filled = st.Final * width / st.Total
	}
	fmt.Fprintf(m.Stderr, "\r[%s%s] %d/%d  %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		st.Final, st.Total, m.totals(st.Totals))
}

func (m *Main) totals(t map[crier.State]int) string {
	var parts []string
	for _, s := range crier.States {
		if t[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", m.t("state."+string(s)), t[s]))
		}
	}
	return strings.Join(parts, ", ")
}

// summary prints the result and returns a failure unless all were sent.
func (m *Main) summary(ctx context.Context, c *server.Client, st *server.Status) error {
	if st.Totals[crier.StateSent] == st.Total {
		fmt.Fprintln(m.Stdout, m.t("cli.all_sent", st.Total))
		return nil
	}
	fmt.Fprintln(m.Stdout, m.t("cli.not_all_sent", st.Total-st.Totals[crier.StateSent], st.Total))
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	shown := 0
	for _, s := range []crier.State{crier.StateFailed, crier.StateUnknown, crier.StateExpired, crier.StateCanceled} {
		if st.Totals[s] == 0 {
			continue
		}
		ds, _, err := c.Deliveries(ctx, st.Announcement.ID, server.DeliveryQuery{State: s, Limit: 20})
		if err != nil {
			return err
		}
		for _, d := range ds {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", d.Town, d.Channel, d.Recipient, m.t("state."+string(d.State)), d.Error)
			shown++
		}
	}
	tw.Flush()
	fmt.Fprintln(m.Stdout, m.t("cli.retry_hint", st.Announcement.ID))
	return &failure{exitFailure}
}

// preview renders an announcement file locally and lists every problem.
func (m *Main) preview(ctx context.Context, args []string) error {
	fs := m.flags("preview")
	configFlag := fs.String("config", "", "configuration file (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	town := fs.String("town", "", "show only this town")
	channel := fs.String("channel", "", "show only this channel")
	atFlag := fs.String("at", "", "write {{date}}, {{time}} and {{weekday}} as a schedule run at this local `TIME` would (default: the file's publish_at)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("preview takes one announcement file")
	}
	a, at, err := readNoticeAt(pos[0], berlin, m.Clock.Now())
	if err != nil {
		return flagError(err)
	}
	if *atFlag != "" {
		if at, err = parseTime(*atFlag, berlin, m.Clock.Now()); err != nil {
			return usageError(fmt.Sprintf("--at: %v", err))
		}
	}
	if !at.IsZero() {
		a = schedule.Expand(a, at.In(berlin))
	}
	log := m.newLogger(nil, false)
	cfg, err := m.loadClientConfig(m.configPath(*configFlag))
	if err != nil {
		return err
	}
	app, err := m.buildPreview(cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()
	app.readFacts(ctx)
	plan, err := app.engine.Preview(ctx, a)
	if crier.ErrorCode(err) == crier.EINVALID {
		// A limit was reached: the problems, summarized, and exit 2.
		return m.invalid(&crier.Error{Code: crier.EINVALID, Message: crier.ErrorMessage(err),
			Details: m.summarize(app, crier.ErrorDetails(err))})
	}
	if err != nil {
		return err
	}
	for _, msg := range plan.Messages {
		if (*town != "" && msg.Town != *town) || (*channel != "" && msg.Channel != *channel) {
			continue
		}
		// Each recipient gets their own unsubscribe link; show where it goes.
		msg.Text = strings.ReplaceAll(msg.Text, crier.UnsubscribePlaceholder, m.t("cli.unsubscribe_link"))
		printMessage(m.Stdout, msg)
		if msg.Omitted != nil {
			// Said under the post as well as in the notes, so that a reader
			// of the posts does not miss it.
			fmt.Fprintf(m.Stdout, "[%s]\n\n", m.noteText(crier.OmissionNote(msg)))
		}
	}
	m.printNotes(slices.DeleteFunc(plan.Notes, func(n crier.Note) bool {
		return (*town != "" && n.Town != "" && n.Town != *town) || (*channel != "" && n.Channel != *channel)
	}))
	if len(plan.Problems) > 0 {
		fmt.Fprintln(m.Stderr, m.t("cli.problems", len(plan.Problems)))
		for _, p := range m.summarize(app, m.localProblems(plan.Problems)) {
			fmt.Fprintf(m.Stderr, "  - %s\n", m.problemText(p))
		}
		return &failure{exitInvalid}
	}
	fmt.Fprintln(m.Stderr, m.t("cli.preview_ok", len(plan.Messages), len(plan.Towns)))
	return nil
}

// printNotes lists what the checks rested on, in the reader's language.
// Notes do not fail a preview.
func (m *Main) printNotes(notes []crier.Note) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(m.Stderr, m.t("cli.notes"))
	for _, n := range notes {
		about := n.Channel
		if n.Town != "" {
			about = n.Town + " × " + n.Channel
		}
		fmt.Fprintf(m.Stderr, "  - %s: %s\n", about, m.noteText(n))
	}
}

// noteText returns a note's text in the reader's language, or as its
// channel wrote it when the catalogue does not know it.
func (m *Main) noteText(n crier.Note) string {
	if text, ok := locale.Note(m.lang(), n.Code, n.Args); ok {
		return text
	}
	return n.Message
}

// readFacts gives the channels what the probes of a crier serve on the
// configured data directory learned (a Mastodon instance's limit), read
// without its lock and without asking any remote system. Without a
// database there, or with one of another schema, the checks count against
// their defaults and the notes say so.
func (a *app) readFacts(ctx context.Context) {
	db, err := sqlite.OpenReadOnly(ctx, filepath.Join(a.cfg.DataDir, dbFile))
	if err != nil {
		a.log.Debug("no stored facts for the preview", "err", err)
		return
	}
	defer db.Close()
	if err := a.instances.Load(ctx, db); err != nil {
		a.log.Warn("cannot read stored facts; checking against defaults", "err", err)
	}
}

func printMessage(w io.Writer, msg *crier.Message) {
	fmt.Fprintf(w, "=== %s × %s (%s)\n", msg.Town, msg.Channel, msg.Type)
	if msg.Subject != "" {
		fmt.Fprintf(w, "Subject: %s\n\n", msg.Subject)
	}
	switch {
	case msg.Text != "":
		fmt.Fprintln(w, strings.TrimRight(msg.Text, "\n"))
	case len(msg.Payload) > 0:
		fmt.Fprintln(w, string(msg.Payload))
	}
	fmt.Fprintln(w)
}

// status prints an announcement's delivery counts.
func (m *Main) status(ctx context.Context, args []string) error {
	fs := m.flags("status")
	r := m.remoteFlags(fs)
	watch := fs.Bool("watch", false, "follow progress until every delivery is final")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("status takes an announcement id")
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	if *watch {
		return m.watch(ctx, c, pos[0])
	}
	st, err := c.Status(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s  %s\n", st.Announcement.ID, st.Announcement.Title)
	if st.Announcement.Author != "" {
		fmt.Fprintf(m.Stdout, "%s: %s\n", m.t("approval.author"), m.authorship(st.Announcement))
	}
	if sub := st.Submission; sub != nil {
		fmt.Fprintf(m.Stdout, "%s: %s\n", m.t("approval.submission"), m.submissionState(sub))
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.t("cli.town"), m.t("cli.channel"), m.t("cli.state"), m.t("cli.count"))
	for _, c := range st.Counts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", c.Town, c.Channel, m.t("state."+string(c.State)), c.N)
	}
	tw.Flush()
	fmt.Fprintf(m.Stdout, "%d: %s\n", st.Total, m.totals(st.Totals))
	if len(st.Scope) > 0 {
		fmt.Fprintln(m.Stdout, m.t("status.scope", strings.Join(st.Scope, ", ")))
	}
	return nil
}

// deliveries lists an announcement's deliveries.
func (m *Main) deliveries(ctx context.Context, args []string) error {
	fs := m.flags("deliveries")
	r := m.remoteFlags(fs)
	var q server.DeliveryQuery
	fs.StringVar(&q.Town, "town", "", "only this town")
	fs.StringVar(&q.Channel, "channel", "", "only this channel")
	state := fs.String("state", "", "only this state: "+joinStates(crier.States))
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("deliveries takes an announcement id")
	}
	q.State = crier.State(*state)
	if *state != "" && !q.State.Valid() {
		return usageError(fmt.Sprintf("unknown state %q: use one of %s", *state, joinStates(crier.States)))
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "ID\t%s\t%s\t%s\t%s\t%s\t%s\n", m.t("cli.town"), m.t("cli.channel"), m.t("cli.recipient"),
		m.t("cli.state"), m.t("cli.attempts"), m.t("cli.result"))
	for {
		ds, next, err := c.Deliveries(ctx, pos[0], q)
		if err != nil {
			return err
		}
		for _, d := range ds {
			result := firstNonEmpty(d.URL, d.RemoteID, d.Error)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Town, d.Channel, d.Recipient,
				m.t("state."+string(d.State)), d.Attempts, result)
		}
		if next == 0 {
			return nil
		}
		q.After = next
	}
}

// retry queues an announcement's failed or unknown deliveries again.
func (m *Main) retry(ctx context.Context, args []string) error {
	fs := m.flags("retry")
	r := m.remoteFlags(fs)
	failed := fs.Bool("failed", false, "retry failed deliveries")
	unknown := fs.Bool("unknown", false, "retry deliveries whose outcome is unknown (check first that they did not arrive)")
	expired := fs.Bool("expired", false, "retry expired deliveries")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("retry takes an announcement id")
	}
	var states []crier.State
	if *failed {
		states = append(states, crier.StateFailed)
	}
	if *unknown {
		states = append(states, crier.StateUnknown)
	}
	if *expired {
		states = append(states, crier.StateExpired)
	}
	if len(states) == 0 {
		states = []crier.State{crier.StateFailed, crier.StateUnknown}
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	n, err := c.Retry(ctx, pos[0], states)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.requeued", n))
	return nil
}

// list prints recent announcements, newest first, with what became of
// each: published, updated, canceled or expired, and how far its
// deliveries got (one status request per row). Notices scheduled once
// and not yet published come first.
func (m *Main) list(ctx context.Context, args []string) error {
	fs := m.flags("list")
	r := m.remoteFlags(fs)
	limit := fs.Int("n", 20, "how many announcements, the newest first")
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	as, err := c.Announcements(ctx, *limit)
	if err != nil {
		return err
	}
	scheduled, err := c.Schedules(ctx, "")
	if crier.ErrorCode(err) == crier.EFORBIDDEN {
		// A server whose store cannot list schedules by town lists
		// them to admins only; the announcements are still there.
		scheduled, err = nil, nil
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "ID\t%s\t%s\t%s\t%s\t%s\t%s\n", m.t("cli.time"), m.t("cli.mode"), m.t("cli.state"),
		m.t("cli.deliveries_column"), m.t("approval.author"), m.t("cli.title"))
	for _, sc := range scheduled {
		if sc.Spec != "" || sc.State.Final() || sc.Announcement == nil {
			continue // recurring ones: crier schedule list
		}
		state := m.t("list.scheduled")
		if sc.State == crier.SchedulePaused {
			state = m.t("list.scheduled_paused")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sc.ID, sc.At.In(berlin).Format("2006-01-02 15:04"),
			m.modeText(sc.Announcement.Mode), state, "–", m.authorship(sc.Announcement), sc.Announcement.Title)
	}
	now := m.Clock.Now()
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.CreatedAt.In(berlin).Format("2006-01-02 15:04"),
			m.modeText(a.Mode), m.t(listState(a, now)), m.deliveryProgress(ctx, c, a.ID), m.authorship(a), a.Title)
	}
	return nil
}

// modeText names an announcement's mode in the reader's language.
func (m *Main) modeText(mode crier.Mode) string {
	if key := "list.mode." + string(mode); locale.Has(key) {
		return m.t(key)
	}
	return string(mode)
}

// listState is the catalogue key of what became of a: its latest
// revision's event, or expired once it is past its expiry.
func listState(a *crier.Announcement, now time.Time) string {
	switch {
	case a.Event == crier.EventCanceled:
		return "list.canceled"
	case !a.Expires.IsZero() && !now.Before(a.Expires):
		return "list.expired"
	case a.Event == crier.EventUpdated:
		return "list.updated"
	}
	return "list.published"
}

// deliveryProgress says how far the deliveries of announcement id got:
// "12/17 gesendet", "läuft: 3/17 fertig", with failures and unknown
// outcomes named; "?" when the server did not say.
func (m *Main) deliveryProgress(ctx context.Context, c *server.Client, id string) string {
	st, err := c.Status(ctx, id)
	if err != nil {
		return "?"
	}
	s := m.t("list.sent", st.Totals[crier.StateSent], st.Total)
	if !st.Done {
		s = m.t("list.under_way", st.Final, st.Total)
	}
	if n := st.Totals[crier.StateFailed]; n > 0 {
		s += ", " + m.t("cli.failed", n)
	}
	if n := st.Totals[crier.StateUnknown]; n > 0 {
		s += ", " + m.t("list.unknown", n)
	}
	return s
}

// captures prints what the exercise sink received, newest first.
func (m *Main) captures(ctx context.Context, args []string) error {
	fs := m.flags("captures")
	r := m.remoteFlags(fs)
	limit := fs.Int("n", 50, "how many, the newest first")
	full := fs.Bool("full", false, "print each captured text in full")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	id := ""
	if len(pos) > 0 {
		id = pos[0]
	}
	cs, err := c.RecentCaptures(ctx, id, *limit)
	if err != nil {
		return err
	}
	for _, cp := range cs {
		to := firstNonEmpty(cp.Recipient, cp.Channel)
		fmt.Fprintf(m.Stdout, "%s  %s r%d  %s × %s → %s  %s\n", cp.At.In(berlin).Format("15:04:05"), cp.Announcement, cp.Revision,
			cp.Town, cp.Channel, to,
			firstNonEmpty(cp.Subject, firstLine(cp.Text), cp.Type))
		if *full {
			fmt.Fprintln(m.Stdout, firstNonEmpty(cp.Text, string(cp.Payload)))
			fmt.Fprintln(m.Stdout)
		}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func joinStates(states []crier.State) string {
	s := make([]string, len(states))
	for i, v := range states {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}
