package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
	"github.com/crierhq/crier/store/sqlite"
)

const auditUsage = "usage: crier audit [--since TIME] [--until TIME] [--user NAME] [--action ACTION] [--town ID] [--format table|csv|json] | crier audit verify"

// shellContext returns ctx acting for the operator of this shell, for the
// commands that change the database themselves: crier.AuditShell with the
// operating system's user name when it is known.
func shellContext(ctx context.Context) context.Context {
	actor := crier.AuditShell
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor += ":" + u.Username
	}
	return crier.WithActor(ctx, actor)
}

// audit exports the audit trail through the API, page by page, or
// verifies its hash chain.
func (m *Main) audit(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return m.auditVerify(ctx, args[1:])
	}
	fs := m.flags("audit")
	r := m.remoteFlags(fs)
	since := fs.String("since", "", "first `TIME` (2026-12-07, \"2026-12-07 09:00\", RFC 3339)")
	until := fs.String("until", "", "last day or `TIME`: a day is included whole")
	actor := fs.String("user", "", "entries by this user `NAME` (or system, public, shell:NAME)")
	action := fs.String("action", "", "entries of this `ACTION` (announcement.published), or of every action under a prefix ending in '.' (schedule.)")
	town := fs.String("town", "", "entries that concern this town `ID`")
	format := fs.String("format", "table", "table, csv or json")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 || !slices.Contains([]string{"table", "csv", "json"}, *format) {
		return usageError(auditUsage)
	}
	q := server.AuditQuery{Actor: *actor, Action: *action, Town: *town, Limit: server.MaxPage}
	now := m.Clock.Now()
	if *since != "" {
		if q.Since, err = parseTime(*since, berlin, now); err != nil {
			return usageError(fmt.Sprintf("--since: %v", err))
		}
	}
	if *until != "" {
		if q.Until, err = untilTime(*until, now); err != nil {
			return usageError(fmt.Sprintf("--until: %v", err))
		}
	}
	c, err := m.client(r)
	if err != nil {
		return err
	}
	var w auditWriter
	switch *format {
	case "csv":
		w = &auditCSV{w: csv.NewWriter(m.Stdout)}
	case "json":
		w = &auditJSON{m: m}
	default:
		w = &auditTable{m: m, w: tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)}
	}
	if err := w.begin(); err != nil {
		return err
	}
	for {
		es, next, err := c.Audit(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := w.write(e); err != nil {
				return err
			}
		}
		if next == 0 {
			return w.end()
		}
		q.After = next
	}
}

// auditWriter writes entries as they come, page by page.
type auditWriter interface {
	begin() error
	write(e *crier.AuditEntry) error
	end() error
}

type auditTable struct {
	m *Main
	w *tabwriter.Writer
}

func (t *auditTable) begin() error {
	m := t.m
	_, err := fmt.Fprintf(t.w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.t("audit.seq"), m.t("cli.time"), m.t("audit.actor"),
		m.t("audit.client"), m.t("audit.action"), m.t("audit.subject"), m.t("audit.towns"))
	return err
}

func (t *auditTable) write(e *crier.AuditEntry) error {
	actor := e.Actor
	if e.Role != "" {
		actor += " (" + string(e.Role) + ")"
	}
	_, err := fmt.Fprintf(t.w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.In(berlin).Format("2006-01-02 15:04:05"),
		oneLine(actor), dash(e.Client), e.Action, dash(oneLine(e.Subject)), dash(strings.Join(e.Towns, ",")))
	return err
}

func (t *auditTable) end() error { return t.w.Flush() }

// oneLine keeps a value on its line of the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// auditCSV writes CSV with a header. A cell that a spreadsheet would take
// for a formula gets a leading apostrophe; JSON keeps every value as it
// is, for checking hashes.
type auditCSV struct{ w *csv.Writer }

func (c *auditCSV) begin() error {
	return c.w.Write([]string{"seq", "time", "actor", "role", "token", "client", "action", "subject", "towns",
		"detail", "prev_hash", "hash"})
}

func (c *auditCSV) write(e *crier.AuditEntry) error {
	var detail []string
	for k, v := range e.Detail {
		detail = append(detail, k+"="+v)
	}
	slices.Sort(detail)
	row := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Role),
		strconv.FormatInt(e.Token, 10), e.Client, e.Action, e.Subject, strings.Join(e.Towns, ","),
		strings.Join(detail, " "), e.PrevHash, e.Hash}
	for i, v := range row {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			row[i] = "'" + v
		}
	}
	return c.w.Write(row)
}

func (c *auditCSV) end() error {
	c.w.Flush()
	return c.w.Error()
}

// auditJSON writes one JSON array, an entry a line.
type auditJSON struct {
	m *Main
	n int
}

func (j *auditJSON) begin() error {
	_, err := fmt.Fprint(j.m.Stdout, "[")
	return err
}

func (j *auditJSON) write(e *crier.AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	sep := ",\n"
	if j.n == 0 {
		sep = "\n"
	}
	j.n++
	_, err = fmt.Fprintf(j.m.Stdout, "%s%s", sep, b)
	return err
}

func (j *auditJSON) end() error {
	_, err := fmt.Fprint(j.m.Stdout, "\n]\n")
	return err
}

// auditVerify reads the database file itself, without its lock, so that
// it works next to a running crier serve and trusts no server with the
// verdict about its own trail. It exits 0 with the head (number and hash)
// when the chain is intact and holds the heads noted earlier (--known),
// and 1 naming the first broken entry.
func (m *Main) auditVerify(ctx context.Context, args []string) error {
	fs := m.flags("audit verify")
	configFlag, dataDir := accountFlags(fs)
	var known []string
	fs.Func("known", "a head `N:HASH` that verify printed before: entry N must still have that hash (repeatable)", func(s string) error {
		known = append(known, s)
		return nil
	})
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError("usage: crier audit verify [--config FILE] [--data-dir DIR] [--known N:HASH]")
	}
	type head struct {
		seq  int64
		hash string
	}
	var heads []head
	for _, k := range known {
		n, hash, ok := strings.Cut(k, ":")
		seq, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || seq < 1 || hash == "" {
			return usageError(fmt.Sprintf("--known %q: want N:HASH as audit verify prints it", k))
		}
		heads = append(heads, head{seq, strings.ToLower(hash)})
	}
	cfg, err := m.loadClientConfig(m.configPath(*configFlag))
	if err != nil {
		return err
	}
	cfg.override(*dataDir, "")
	db, err := sqlite.OpenReadOnly(ctx, filepath.Join(cfg.DataDir, dbFile))
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !r.OK() {
		fmt.Fprintln(m.Stdout, m.t("audit.broken", r.BrokenSeq, m.t("audit.broken."+string(r.Broken))))
		return &failure{code: exitFailure}
	}
	for _, h := range heads {
		es, err := db.AuditEntries(ctx, crier.AuditFilter{After: h.seq - 1, Limit: 1})
		if err != nil {
			return err
		}
		if len(es) == 0 || es[0].Seq != h.seq || es[0].Hash != h.hash {
			fmt.Fprintln(m.Stdout, m.t("audit.broken", h.seq, m.t("audit.broken.known")))
			return &failure{code: exitFailure}
		}
	}
	fmt.Fprintln(m.Stdout, m.t("audit.intact", r.Entries, r.HeadSeq, r.HeadHash))
	return nil
}
