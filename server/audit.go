package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/crierhq/crier"
)

// auditPage is a page of the audit trail.
type auditPage struct {
	Entries []*crier.AuditEntry `json:"entries"`
	// NextAfter is the after= value of the next page, or 0 when this page
	// is the last.
	NextAfter int64 `json:"next_after"`
}

// listAudit answers GET /api/v1/audit: the entries of the audit trail by
// sequence, filtered by the query parameters since and until (RFC 3339),
// actor, action (a prefix when it ends in '.'), town, and paged by after
// and limit.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	if s.audit == nil {
		s.error(w, r, crier.Errorf(CodeNotImplemented, "this server keeps no audit trail"))
		return
	}
	q := query{r: r}
	f := crier.AuditFilter{
		Since:  q.time("since"),
		Until:  q.time("until"),
		Actor:  q.str("actor"),
		Action: q.str("action"),
		Town:   q.str("town"),
		After:  q.seq("after"),
		Limit:  min(q.limit(), crier.MaxAuditLimit),
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	// Ask for one more than the page so that the last page says so.
	limit := f.Limit
	f.Limit++
	es, err := s.audit.AuditEntries(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page := auditPage{Entries: orEmpty(es)}
	if len(es) > limit {
		page.Entries = es[:limit]
		page.NextAfter = es[limit-1].Seq
	}
	s.writeJSON(w, r, http.StatusOK, page)
}

// time reads an RFC 3339 time; the zero time when absent.
func (q *query) time(name string) time.Time {
	v := q.str(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		q.add(crier.Problemf(name, "request.time", "%q is no time like 2026-12-07T09:00:00+01:00", v))
	}
	return t
}

// seq reads a non-negative audit entry number; 0 when absent.
func (q *query) seq(name string) int64 {
	v := q.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		q.add(crier.Problemf(name, "request.audit_seq", "%q is no number of an audit entry", v))
		return 0
	}
	return n
}

// record writes e to the audit trail for the request's principal and
// client, when the server keeps one.
func (s *Server) record(r *http.Request, e crier.AuditEntry) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(r.Context(), e, s.clock.Now())
}

// AuditQuery selects a page of the audit trail; see crier.AuditFilter.
type AuditQuery struct {
	Since, Until time.Time
	Actor        string
	Action       string
	Town         string
	// After is the sequence number after which the page starts.
	After int64
	// Limit is the page size; 0 means the server's DefaultPage.
	Limit int
}

// Audit returns a page of the audit trail and the After of the next page,
// 0 after the last. Only an admin may read it.
func (c *Client) Audit(ctx context.Context, f AuditQuery) ([]*crier.AuditEntry, int64, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		set("since", f.Since.Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		set("until", f.Until.Format(time.RFC3339))
	}
	set("actor", f.Actor)
	set("action", f.Action)
	set("town", f.Town)
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	var page auditPage
	if err := c.call(ctx, http.MethodGet, "/api/v1/audit", limitQuery(q, f.Limit), nil, &page); err != nil {
		return nil, 0, err
	}
	return page.Entries, page.NextAfter, nil
}
