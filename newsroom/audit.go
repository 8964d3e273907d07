package newsroom

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Bounds of the audit trail's page: entries a page shows, and entries one
// CSV download carries at most.
const (
	auditPage     = 50
	maxAuditCSV   = 100_000
	auditDate     = "2006-01-02" // an <input type="date">
	auditNewest   = "newest"
	auditOldest   = "oldest"
	maxAuditField = 200
)

// auditActions are the actions the filter offers, in the order of the
// select: the announcements, approval, schedules, subscribers, the
// towns' status and endpoints, people and sessions.
var auditActions = []string{
	crier.EventPublished, crier.EventUpdated, crier.EventCanceled, crier.AuditRetry,
	crier.AuditSubmissionCreate, crier.AuditSubmissionApprove, crier.AuditSubmissionReject, crier.AuditSubmissionWithdraw,
	crier.AuditScheduleCreate, crier.AuditScheduleChange, crier.AuditSchedulePause, crier.AuditScheduleResume,
	crier.AuditScheduleDelete,
	crier.AuditSubscriberAdd, crier.AuditSubscriberRemove, crier.AuditSubscriberConfirm, crier.AuditSubscriberErase,
	crier.AuditSubscriberShow, crier.AuditSubscriberPurge, crier.EventSubscriptionConfirm,
	crier.AuditServiceStatus, crier.AuditEndpointReset,
	crier.AuditUserAdd, crier.AuditUserDisable, crier.AuditUserChange, crier.AuditUserActual, crier.AuditUserPassword,
	crier.AuditTokenAdd, crier.AuditTokenRevoke,
	crier.AuditLogin, crier.AuditLogout, crier.AuditLoginFailed,
}

// auditRoutes adds the audit trail's page, its CSV download and the
// verification of its chain: for admins only.
func (n *Newsroom) auditRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/audit", n.signedIn(n.auditTrail))
	mux.Handle("GET /admin/audit/entries.csv", n.signedIn(n.auditCSV))
	mux.Handle("POST /admin/audit/verify", n.signedIn(n.auditVerify))
}

// auditQuery is the filter form as sent, kept as typed.
type auditQuery struct {
	Since, Until, Actor, Action, Town, Order string
	// Cursor is the Seq the page starts after (oldest first) or before
	// (newest first).
	Cursor int64
}

// auditRow is one entry as the page shows it.
type auditRow struct {
	Seq                                          int64
	Time, Actor, Role, Client, Action, ActionRaw string
	Subject, Towns                               string
	Detail                                       []string
}

// auditData is what the audit page shows.
type auditData struct {
	Q       auditQuery
	Rows    []auditRow
	Actions []option
	Towns   []option
	// Next links to the following page, if any; First back to the start.
	Next, First string
	// Head is the newest entry as N:HASH; CSV the download's address.
	Head, CSV string
	// Verified says what checking the chain found; Broken marks a break.
	Verified string
	Broken   bool
	// Problem says what of the filter was not understood.
	Problem string
}

// auditRight lets admins in only.
func (n *Newsroom) auditRight(w http.ResponseWriter, r *http.Request, v *visit) bool {
	if n.audit == nil {
		n.errorPage(w, r, v, http.StatusNotFound, "error.notfound")
		return false
	}
	if err := crier.Authorize(v.p, crier.ActionAdmin, nil); err != nil {
		n.fail(w, r, v, err)
		return false
	}
	return true
}

// parseAuditQuery reads the filter from q: the dates are days in
// Europe/Berlin, the until day included.
func parseAuditQuery(q url.Values) (auditQuery, crier.AuditFilter, bool) {
	line := func(k string) string { return clip(strings.TrimSpace(q.Get(k)), maxAuditField) }
	aq := auditQuery{Since: line("since"), Until: line("until"), Actor: line("actor"), Action: line("action"),
		Town: line("town"), Order: line("order")}
	if aq.Order != auditOldest {
		aq.Order = auditNewest
	}
	f := crier.AuditFilter{Actor: aq.Actor, Action: aq.Action, Town: aq.Town, Newest: aq.Order == auditNewest, Limit: auditPage + 1}
	ok := true
	if aq.Since != "" {
		t, err := time.ParseInLocation(auditDate, aq.Since, berlin)
		ok = ok && err == nil
		f.Since = t
	}
	if aq.Until != "" {
		t, err := time.ParseInLocation(auditDate, aq.Until, berlin)
		ok = ok && err == nil
		if err == nil {
			f.Until = t.AddDate(0, 0, 1)
		}
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		ok = ok && err == nil && n >= 0
		aq.Cursor = n
	}
	if f.Newest {
		f.Before = aq.Cursor
	} else {
		f.After = aq.Cursor
	}
	return aq, f, ok
}

// values is the filter as a query, without the cursor.
func (aq auditQuery) values() url.Values {
	vs := url.Values{}
	for k, v := range map[string]string{"since": aq.Since, "until": aq.Until, "actor": aq.Actor, "action": aq.Action,
		"town": aq.Town, "order": aq.Order} {
		if v != "" {
			vs.Set(k, v)
		}
	}
	return vs
}

func (n *Newsroom) auditTrail(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.auditRight(w, r, v) {
		return
	}
	n.renderAudit(w, r, v, "", false)
}

// renderAudit shows the audit page for the request's filter, with what
// checking the chain found, if it was checked.
func (n *Newsroom) renderAudit(w http.ResponseWriter, r *http.Request, v *visit, verified string, broken bool) {
	aq, f, ok := parseAuditQuery(r.URL.Query())
	d := &auditData{Q: aq, Verified: verified, Broken: broken}
	status := http.StatusOK
	if !ok {
		d.Problem = locale.T(v.lang, "review.audit_bad_filter")
		status = http.StatusBadRequest
		f = crier.AuditFilter{Newest: true, Limit: auditPage + 1}
	}
	es, err := n.audit.AuditEntries(r.Context(), f)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	if len(es) > auditPage {
		es = es[:auditPage]
		vs := aq.values()
		vs.Set("cursor", strconv.FormatInt(es[len(es)-1].Seq, 10))
		d.Next = "/admin/audit?" + vs.Encode()
	}
	if aq.Cursor != 0 {
		d.First = "/admin/audit?" + aq.values().Encode()
	}
	for _, e := range es {
		d.Rows = append(d.Rows, auditRowOf(v.lang, e))
	}
	d.CSV = "/admin/audit/entries.csv?" + aq.values().Encode()
	if head, err := n.audit.AuditEntries(r.Context(), crier.AuditFilter{Newest: true, Limit: 1}); err == nil && len(head) == 1 {
		d.Head = strconv.FormatInt(head[0].Seq, 10) + ":" + head[0].Hash
	}
	for _, a := range auditActions {
		d.Actions = append(d.Actions, option{Value: a, Label: actionWords(v.lang, a)})
	}
	for _, t := range n.engine.Directory.Towns() {
		d.Towns = append(d.Towns, option{Value: t.ID, Label: t.Name})
	}
	p := v.page("audit")
	p.Title = p.T("review.audit_title")
	p.Data = d
	n.render(w, status, "audit", p)
}

// actionWords says what action did, in lang; the action itself when the
// catalogue has no words for it.
func actionWords(lang, action string) string {
	key := "review.action." + action
	if s := locale.T(lang, key); s != key {
		return s
	}
	return action
}

func auditRowOf(lang string, e *crier.AuditEntry) auditRow {
	row := auditRow{Seq: e.Seq, Time: locale.DateTime(lang, e.Time.In(berlin)), Actor: e.Actor, Role: string(e.Role),
		Client: e.Client, Action: actionWords(lang, e.Action), ActionRaw: e.Action, Subject: e.Subject,
		Towns: strings.Join(e.Towns, ", ")}
	for k, v := range e.Detail {
		row.Detail = append(row.Detail, k+": "+v)
	}
	slices.Sort(row.Detail)
	return row
}

// auditVerify checks the whole chain and shows the page with the result.
func (n *Newsroom) auditVerify(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.auditRight(w, r, v) {
		return
	}
	rep, err := n.audit.VerifyAudit(r.Context())
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	if rep.OK() {
		n.renderAudit(w, r, v, locale.T(v.lang, "audit.intact", rep.Entries, rep.HeadSeq, rep.HeadHash), false)
		return
	}
	n.renderAudit(w, r, v, locale.T(v.lang, "audit.broken", rep.BrokenSeq, locale.T(v.lang, "audit.broken."+string(rep.Broken))), true)
}

// auditCSV streams the entries of the filter, oldest first, as CSV: at
// most maxAuditCSV, each cell safe from being taken for a formula.
func (n *Newsroom) auditCSV(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.auditRight(w, r, v) {
		return
	}
	_, f, ok := parseAuditQuery(r.URL.Query())
	if !ok {
		n.errorPage(w, r, v, http.StatusBadRequest, "review.audit_bad_filter")
		return
	}
	f.Newest, f.Before, f.After, f.Limit = false, 0, 0, crier.MaxAuditLimit
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="crier-audit.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "time", "actor", "role", "token", "client", "action", "subject", "towns", "detail", "prev_hash", "hash"})
	written := 0
	for written < maxAuditCSV {
		f.Limit = min(crier.MaxAuditLimit, maxAuditCSV-written)
		es, err := n.audit.AuditEntries(r.Context(), f)
		if err != nil {
			// The status is sent; the download ends short, and says so.
			n.log.Error("newsroom: audit CSV", "err", err)
			cw.Write([]string{"error: the download is incomplete"})
			break
		}
		for _, e := range es {
			var detail []string
			for k, v := range e.Detail {
				detail = append(detail, k+"="+v)
			}
			slices.Sort(detail)
			row := []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Actor, string(e.Role),
				strconv.FormatInt(e.Token, 10), e.Client, e.Action, e.Subject, strings.Join(e.Towns, ","),
				strings.Join(detail, " "), e.PrevHash, e.Hash}
			for i := range row {
				row[i] = cell(row[i])
			}
			cw.Write(row)
			written++
		}
		cw.Flush()
		if len(es) < f.Limit {
			break
		}
		f.After = es[len(es)-1].Seq
	}
	cw.Flush()
	n.log.Info("newsroom: audit trail exported", "by", v.p.Name, "rows", written)
}
