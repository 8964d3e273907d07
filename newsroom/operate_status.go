package newsroom

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/crierhq/crier"
)

// emptyStatusRows is how many empty rows the form offers for new lines.
const emptyStatusRows = 3

// statusRoutes adds the towns' service status lists: everyone reads
// their towns' lists; those with crier.ActionServiceStatus for a town
// change its list.
func (n *Newsroom) statusRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/operate/status", n.signedIn(n.statusList))
	mux.Handle("GET /admin/operate/status/{town}", n.signedIn(n.townStatus))
	mux.Handle("POST /admin/operate/status/{town}", n.signedIn(n.setTownStatus))
}

// townStatus is one town's list as a page shows it.
type townStatusView struct {
	Town *crier.Town
	// Lines is the list the website shows; Configured is set when it is
	// the configured one, none being stored.
	Lines      []crier.ServiceStatus
	Configured bool
	// May is set when the person may change the list.
	May bool
}

// statusRow is one row of the form.
type statusRow struct {
	Service, Availability, Text string
	// Number counts the rows from 1.
	Number int
}

type statusData struct {
	Towns []townStatusView
	// Town, Rows and Problems are the form of one town.
	Town     *townStatusView
	Rows     []statusRow
	Problems fieldProblems
	Done     string
}

// Availabilities lists the choices of a line's availability.
func (statusData) Availabilities() []string {
	return []string{"", string(crier.ServiceUp), string(crier.ServiceLimited), string(crier.ServiceDown)}
}

func (n *Newsroom) statusList(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := crier.Authorize(v.p, crier.ActionRead, nil); err != nil {
		n.fail(w, r, v, err)
		return
	}
	if n.statuses == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server keeps no service status lists"))
		return
	}
	p := v.page("operate")
	d := &statusData{Done: doneNote(r, p)}
	for _, t := range n.townsAllowed(v.p, crier.ActionRead) {
		view, err := n.townStatusOf(r, v, t)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		d.Towns = append(d.Towns, *view)
	}
	p.Title = p.T("operate.status.title")
	p.Data = d
	n.render(w, http.StatusOK, "operate_status", p)
}

// townStatusOf returns t's list as the website shows it.
func (n *Newsroom) townStatusOf(r *http.Request, v *visit, t *crier.Town) (*townStatusView, error) {
	lines, err := n.statuses.ServiceStatus(r.Context(), t.ID)
	if err != nil {
		return nil, err
	}
	view := &townStatusView{Town: t, Lines: lines,
		May: crier.Authorize(v.p, crier.ActionServiceStatus, []string{t.ID}) == nil}
	if len(lines) == 0 {
		view.Lines, view.Configured = n.defaults[t.ID], len(n.defaults[t.ID]) > 0
	}
	return view, nil
}

// statusTown returns the town {town} for an action on its list, or
// answers 404, 403 or 501 and returns nil.
func (n *Newsroom) statusTown(w http.ResponseWriter, r *http.Request, v *visit, action crier.Action) *crier.Town {
	t := n.engine.Directory.Town(r.PathValue("town"))
	switch {
	case t == nil:
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "no town %q", r.PathValue("town")))
	case n.statuses == nil:
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server keeps no service status lists"))
	default:
		if err := crier.Authorize(v.p, action, []string{t.ID}); err != nil {
			n.fail(w, r, v, err)
			return nil
		}
		return t
	}
	return nil
}

func (n *Newsroom) townStatus(w http.ResponseWriter, r *http.Request, v *visit) {
	t := n.statusTown(w, r, v, crier.ActionRead)
	if t == nil {
		return
	}
	view, err := n.townStatusOf(r, v, t)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	var rows []statusRow
	for _, l := range view.Lines {
		rows = append(rows, statusRow{Service: l.Service, Availability: string(l.Availability), Text: l.Text})
	}
	p := v.page("operate")
	n.showTownStatus(w, p, http.StatusOK, &statusData{Town: view, Rows: rows, Done: doneNote(r, p)})
}

func (n *Newsroom) showTownStatus(w http.ResponseWriter, p *page, status int, d *statusData) {
	for range emptyStatusRows {
		d.Rows = append(d.Rows, statusRow{})
	}
	for i := range d.Rows {
		d.Rows[i].Number = i + 1
	}
	p.Title = p.T("operate.status.town_title", d.Town.Town.Name)
	p.Data = d
	n.render(w, status, "operate_status_town", p)
}

// statusField finds the line and the field of a problem of
// crier.CheckServiceStatus.
var statusField = regexp.MustCompile(`^status\[(\d+)\]\.(service|availability|text)$`)

// setTownStatus replaces a town's whole list with the form's rows; rows
// left empty are dropped, and a list left empty shows the configured one
// again. Every problem is shown next to its field, and nothing changes
// while there is one.
func (n *Newsroom) setTownStatus(w http.ResponseWriter, r *http.Request, v *visit) {
	t := n.statusTown(w, r, v, crier.ActionServiceStatus)
	if t == nil {
		return
	}
	services, avails, texts := r.PostForm["service"], r.PostForm["availability"], r.PostForm["text"]
	count := max(len(services), len(avails), len(texts))
	at := func(vs []string, i int) string {
		if i < len(vs) {
			return vs[i]
		}
		return ""
	}
	var rows []statusRow
	var lines []crier.ServiceStatus
	var rowOf []int // the form row of each line
	for i := range min(count, crier.MaxServiceStatusLines+emptyStatusRows+10) {
		row := statusRow{Service: strings.TrimSpace(at(services, i)), Availability: at(avails, i), Text: strings.TrimSpace(at(texts, i))}
		rows = append(rows, row)
		if row.Service == "" && row.Text == "" {
			continue
		}
		lines = append(lines, crier.ServiceStatus{Service: row.Service, Availability: crier.Availability(row.Availability), Text: row.Text})
		rowOf = append(rowOf, len(rows)-1)
	}
	ps := crier.CheckServiceStatus(lines)
	if count > len(rows) {
		ps = append(ps, crier.Problemf("status", "status.too_many", "has %v lines, at most %v", strconv.Itoa(count), strconv.Itoa(crier.MaxServiceStatusLines)))
	}
	if len(ps) > 0 {
		p := v.page("operate")
		view, err := n.townStatusOf(r, v, t)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		probs := formProblems(p.Lang, ps, func(field string) string {
			m := statusField.FindStringSubmatch(field)
			if m == nil {
				return field
			}
			i, _ := strconv.Atoi(m[1])
			if i < len(rowOf) {
				return fmt.Sprintf("%s-%d", m[2], rowOf[i])
			}
			return field
		})
		n.showTownStatus(w, p, http.StatusUnprocessableEntity, &statusData{Town: view, Rows: rows, Problems: probs})
		return
	}
	if err := n.statuses.SetServiceStatus(r.Context(), t.ID, lines, n.clock.Now()); err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: service status set", "by", v.p.Name, "town", t.ID, "lines", len(lines))
	afterPost(w, r, "/admin/operate/status/"+url.PathEscape(t.ID)+"?done=status_set&what="+url.QueryEscape(t.Name))
}
