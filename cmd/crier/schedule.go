package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/server"
)

// ScheduleConfig tunes the scheduler of publish_at and recurring schedules.
type ScheduleConfig struct {
	// Grace is how late a run that was due while crier was not running may
	// still be published when it is back; older runs are skipped, logged
	// and recorded as skipped. Default 15m.
	Grace Duration `yaml:"grace"`
}

func (v *configCheck) checkSchedule() {
	if v.c.Schedule.Grace.Duration <= 0 {
		v.add("schedule.grace", "positive", "must be positive")
	}
}

// scheduler returns the scheduler serve runs next to the workers.
func (m *Main) scheduler(a *app, cfg *Config, log *slog.Logger) *schedule.Scheduler {
	return &schedule.Scheduler{Store: a.db, Engine: a.engine, Clock: m.Clock, Logger: log, Grace: cfg.Schedule.Grace.Duration}
}

// publishAt asks the server to publish a at 'at', for "crier publish" of a
// file with publish_at: a time in the future is checked now and scheduled,
// one that has just passed publishes at once.
//
// A notice that a pending schedule publishes at the same time already is
// not scheduled again unless again is true: the command says which
// schedule that is and fails.
//
// With approval, the notice waits for an approver, who schedules it.
func (m *Main) publishAt(ctx context.Context, c *server.Client, a *crier.Announcement, key string, wait, again bool, o crier.PublishOptions) error {
	at := o.PublishAt
	var res *crier.PublishResult
	err := retryTransport(ctx, func() (err error) {
		res, err = c.PublishWith(ctx, a, key, again, o)
		return err
	})
	if err := m.repeated(err); err != nil {
		return err
	}
	if err := m.invalid(err); err != nil {
		return err
	}
	if res.State != "" {
		m.waiting(res)
		return nil
	}
	id := res.Announcement.ID
	if res.Schedule == nil {
		fmt.Fprintln(m.Stdout, m.t("cli.published", id, locale.N(m.lang(), "cli.deliveries", res.Deliveries)))
		if wait {
			return m.watch(ctx, c, id)
		}
		return nil
	}
	fmt.Fprintln(m.Stdout, m.t("cli.scheduled", id, locale.DateTime(m.lang(), at.In(berlin))))
	if wait {
		fmt.Fprintln(m.Stderr, m.t("cli.wait_scheduled", id))
	}
	return nil
}

// againFlag registers --again on fs.
func againFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("again", false, "schedule it even when an active or paused schedule publishes the same notice at the same time "+
		"(without it such a repeat is refused, naming that schedule, with exit code 2)")
}

// repeated tells the reader that a schedule was refused because a pending
// one publishes the same notice at the same time, and how to go on; it
// returns a failure then, and any other err unchanged.
func (m *Main) repeated(err error) error {
	ps := crier.ErrorDetails(err)
	if crier.ErrorCode(err) != crier.ECONFLICT || len(ps) != 1 || ps[0].Code != schedule.CodeRepeat || len(ps[0].Args) != 2 {
		return err
	}
	id, when := ps[0].Args[0], ps[0].Args[1]
	if t, perr := time.Parse(time.RFC3339, when); perr == nil {
		when = m.sentenceTime(t)
	}
	fmt.Fprintln(m.Stderr, "crier: "+m.t("cli.schedule_repeat", id, when))
	fmt.Fprintln(m.Stderr, m.t("cli.schedule_repeat_hint", id))
	return &failure{exitInvalid}
}

// schedules manages schedules: one-off (publish_at) and recurring ones.
func (m *Main) schedules(ctx context.Context, args []string) error {
	if err := m.subHelp("schedule", args); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("schedule needs a sub-command: add, list, show, edit, pause, resume, remove")
	}
	rest := args[1:]
	switch args[0] {
	case "add":
		return m.scheduleAdd(ctx, rest)
	case "list":
		return m.scheduleList(ctx, rest)
	case "show":
		return m.scheduleShow(ctx, rest)
	case "edit":
		return m.scheduleEdit(ctx, rest)
	case "pause":
		return m.scheduleState(ctx, "pause", rest, (*server.Client).PauseSchedule, func(sc *crier.Schedule) string {
			return m.t("cli.schedule_paused", sc.ID)
		})
	case "resume":
		return m.scheduleState(ctx, "resume", rest, (*server.Client).ResumeSchedule, func(sc *crier.Schedule) string {
			return m.t("cli.schedule_resumed", sc.ID, m.sentenceTime(sc.NextRun))
		})
	case "remove":
		return m.scheduleState(ctx, "remove", rest, (*server.Client).CancelSchedule, func(sc *crier.Schedule) string {
			return m.t("cli.schedule_removed", sc.ID)
		})
	}
	return usageError(fmt.Sprintf("unknown schedule sub-command %q: use add, list, show, edit, pause, resume or remove", args[0]))
}

// timeFlags are the flags that say when a schedule fires.
type timeFlags struct {
	spec, at, until string
	expiresAfter    time.Duration
}

func (tf *timeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&tf.spec, "cron", "", `cron spec, e.g. "0 8 * * 1-5" for weekdays at 08:00; Europe/Berlin unless it starts with CRON_TZ=Zone/Name`)
	fs.StringVar(&tf.at, "at", "", "publish once at this time (2026-11-30 08:00 in Europe/Berlin, RFC 3339, \"morgen 07:30\" or +2h) instead of the file's publish_at")
	fs.StringVar(&tf.until, "until", "", "last day (2026-12-31: that day included) or time (+30d, \"morgen 18:00\") before which runs fire; none removes it (edit)")
	fs.DurationVar(&tf.expiresAfter, "expires-after", 0, "each run's notice expires this long after its time, e.g. 4h")
}

// untilTime reads --until: a day counts whole, so the end is the start of
// the next day; a time is taken as it is.
func untilTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseInLocation("2006-01-02", s, berlin); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	return parseTime(s, berlin, now)
}

// scheduleAdd creates a schedule from an announcement file: recurring with
// --cron, once with --at or the file's publish_at.
func (m *Main) scheduleAdd(ctx context.Context, args []string) error {
	fs := m.flags("schedule add")
	r := m.remoteFlags(fs)
	var tf timeFlags
	tf.register(fs)
	key := keyFlag(fs, "schedule add")
	again := againFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("schedule add takes one announcement file")
	}
	a, publishAt, err := readNoticeAt(pos[0], berlin, m.Clock.Now())
	if err != nil {
		return flagError(err)
	}
	sc := &crier.Schedule{Spec: tf.spec, ExpiresAfter: crier.Duration(tf.expiresAfter), Announcement: a}
	switch {
	case tf.spec != "" && (tf.at != "" || !publishAt.IsZero()):
		return usageError("--cron makes a recurring schedule: leave out --at and the file's publish_at")
	case tf.at != "" && !publishAt.IsZero():
		return usageError("--at and the file's publish_at both give a time: keep one")
	case tf.spec == "" && tf.at == "" && publishAt.IsZero():
		return usageError("schedule add needs --cron SPEC, --at TIME, or publish_at in the file")
	case tf.at != "":
		if sc.At, err = parseTime(tf.at, berlin, m.Clock.Now()); err != nil {
			return usageError("--at: " + err.Error())
		}
	default:
		sc.At = publishAt
	}
	if tf.until != "" {
		if sc.Until, err = untilTime(tf.until, m.Clock.Now()); err != nil {
			return usageError("--until: " + err.Error())
		}
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	var stored *crier.Schedule
	err = retryTransport(ctx, func() (err error) {
		stored, err = c.CreateSchedule(ctx, sc, key(), *again)
		return err
	})
	if err := m.repeated(err); err != nil {
		return err
	}
	if err := m.invalid(err); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.schedule_created", stored.ID, m.sentenceTime(stored.NextRun)))
	return nil
}

// scheduleEdit changes a schedule: its announcement from a file, its times
// from the flags that are given.
func (m *Main) scheduleEdit(ctx context.Context, args []string) error {
	fs := m.flags("schedule edit")
	r := m.remoteFlags(fs)
	var tf timeFlags
	tf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageError("usage: crier schedule edit ID [FILE] [--cron SPEC] [--at TIME] [--until DATE] [--expires-after D]")
	}
	p := &schedule.Patch{}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if len(pos) == 2 {
		a, publishAt, err := readNoticeAt(pos[1], berlin, m.Clock.Now())
		if err != nil {
			return flagError(err)
		}
		p.Announcement = a
		if !publishAt.IsZero() {
			p.At = &publishAt
		}
	}
	if set["cron"] {
		p.Spec = &tf.spec
	}
	if set["at"] {
		if p.At != nil {
			return usageError("--at and the file's publish_at both give a time: keep one")
		}
		at, err := parseTime(tf.at, berlin, m.Clock.Now())
		if err != nil {
			return usageError("--at: " + err.Error())
		}
		p.At = &at
	}
	if set["until"] {
		var until time.Time // "none" removes the end
		if tf.until != "none" {
			if until, err = untilTime(tf.until, m.Clock.Now()); err != nil {
				return usageError("--until: " + err.Error())
			}
		}
		p.Until = &until
	}
	if set["expires-after"] {
		d := crier.Duration(tf.expiresAfter)
		p.ExpiresAfter = &d
	}
	if *p == (schedule.Patch{}) {
		return usageError("schedule edit needs a file or a flag that changes something")
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	sc, err := c.UpdateSchedule(ctx, pos[0], p)
	if err := m.invalid(err); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.schedule_changed", sc.ID, m.sentenceTime(sc.NextRun)))
	return nil
}

// scheduleState pauses, resumes or removes a schedule.
func (m *Main) scheduleState(ctx context.Context, name string, args []string,
	op func(*server.Client, context.Context, string) (*crier.Schedule, error), done func(*crier.Schedule) string) error {
	fs := m.flags("schedule " + name)
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError(fmt.Sprintf("schedule %s takes a schedule id", name))
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	sc, err := op(c, ctx, pos[0])
	if err := m.invalid(err); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, done(sc))
	return nil
}

// scheduleList prints the active and paused schedules, or all with --all.
func (m *Main) scheduleList(ctx context.Context, args []string) error {
	fs := m.flags("schedule list")
	r := m.remoteFlags(fs)
	all := fs.Bool("all", false, "also list schedules that are done or removed")
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	ss, err := c.Schedules(ctx, "")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	shown := 0
	for _, sc := range ss {
		if !*all && sc.State.Final() {
			continue
		}
		if shown == 0 {
			fmt.Fprintf(tw, "ID\t%s\t%s\t%s\t%s\n", m.t("cli.state"), m.t("cli.schedule"), m.t("cli.next_run"), m.t("cli.title"))
		}
		shown++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sc.ID, m.t("schedule."+string(sc.State)), m.when(sc),
			m.tableTime(sc.NextRun), sc.Announcement.Title)
	}
	tw.Flush()
	if shown == 0 {
		fmt.Fprintln(m.Stdout, m.t("cli.no_schedules"))
	}
	return nil
}

// scheduleShow prints one schedule and its latest runs.
func (m *Main) scheduleShow(ctx context.Context, args []string) error {
	fs := m.flags("schedule show")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("schedule show takes a schedule id")
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	d, err := c.Schedule(ctx, pos[0])
	if err != nil {
		return err
	}
	sc := d.Schedule
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\n", sc.ID)
	fmt.Fprintf(tw, "%s\t%s\n", m.t("cli.title"), sc.Announcement.Title)
	fmt.Fprintf(tw, "%s\t%s\n", m.t("cli.schedule"), m.when(sc))
	fmt.Fprintf(tw, "%s\t%s\n", m.t("cli.state"), m.t("schedule."+string(sc.State)))
	fmt.Fprintf(tw, "%s\t%s\n", m.t("cli.next_run"), m.tableTime(sc.NextRun))
	fmt.Fprintf(tw, "%s\t%s\n", m.t("cli.last_run"), m.tableTime(sc.LastRun))
	tw.Flush()
	if len(d.Runs) == 0 {
		return nil
	}
	fmt.Fprintln(m.Stdout)
	tw = tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.t("cli.fire_at"), m.t("cli.state"), m.t("cli.announcement"), m.t("cli.result"))
	for _, run := range d.Runs {
		result := run.Error
		if run.State == crier.RunPublished {
			result = locale.N(m.lang(), "cli.deliveries", run.Deliveries)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.tableTime(run.FireAt), m.t("run."+string(run.State)), run.Announcement,
			firstLine(result))
	}
	return tw.Flush()
}

// when describes when a schedule fires: "einmalig" for a one-off, else
// its spec (without the default zone), and its end: the last day when it
// ends at midnight, as --until 2026-12-31 makes it.
func (m *Main) when(sc *crier.Schedule) string {
	if sc.OneOff() {
		return m.t("cli.schedule_once")
	}
	s := strings.TrimPrefix(sc.Spec, "CRON_TZ="+crier.DefaultScheduleZone+" ")
	if u := sc.Until.In(berlin); !sc.Until.IsZero() {
		end := m.tableTime(u)
		if u.Hour() == 0 && u.Minute() == 0 {
			end = u.AddDate(0, 0, -1).Format("2006-01-02")
		}
		s += " " + m.t("cli.schedule_until", end)
	}
	return s
}

// tableTime writes t in Europe/Berlin for a table; "–" for none.
func (m *Main) tableTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.In(berlin).Format("2006-01-02 15:04")
}

// sentenceTime writes t in Europe/Berlin for a sentence; "–" for none.
func (m *Main) sentenceTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return locale.DateTime(m.lang(), t.In(berlin))
}
