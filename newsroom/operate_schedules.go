package newsroom

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/crierhq/crier"
)

// scheduleRoutes adds the schedules of the person's towns. Pausing,
// resuming and removing one need crier.ActionSchedule in every town of its
// announcement, as in the API; a forged post for another town's schedule
// is refused with 403.
func (n *Newsroom) scheduleRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/operate/schedules", n.signedIn(n.schedules))
	mux.Handle("POST /admin/operate/schedules/{id}/pause", n.signedIn(n.changeSchedule("pause")))
	mux.Handle("POST /admin/operate/schedules/{id}/resume", n.signedIn(n.changeSchedule("resume")))
	mux.Handle("POST /admin/operate/schedules/{id}/delete", n.signedIn(n.changeSchedule("delete")))
}

// scheduleRow is one schedule as the page shows it.
type scheduleRow struct {
	*crier.Schedule
	Title string
	Towns []string
	// May is set when the person may pause, resume and remove it.
	May bool
}

type schedulesData struct {
	Rows []scheduleRow
	// All is set when done and canceled schedules are listed too.
	All      bool
	Done     string
	Problems []string
}

func (n *Newsroom) schedules(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.page("operate")
	n.showSchedules(w, r, v, p, http.StatusOK, &schedulesData{All: r.URL.Query().Get("all") == "1", Done: doneNote(r, p)})
}

func (n *Newsroom) showSchedules(w http.ResponseWriter, r *http.Request, v *visit, p *page, status int, d *schedulesData) {
	if err := crier.Authorize(v.p, crier.ActionRead, nil); err != nil {
		n.fail(w, r, v, err)
		return
	}
	if n.sched == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server does not schedule announcements"))
		return
	}
	states := []crier.ScheduleState{crier.ScheduleActive, crier.SchedulePaused}
	if d.All {
		states = nil
	}
	ss, err := n.sched.Store.Schedules(r.Context(), states...)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	for _, sc := range slices.Backward(ss) { // newest first
		towns := scheduleTowns(sc)
		if !n.mayIn(v.p, crier.ActionRead, towns) {
			continue
		}
		row := scheduleRow{Schedule: sc, Towns: towns, May: n.mayIn(v.p, crier.ActionSchedule, towns)}
		if sc.Announcement != nil {
			row.Title = sc.Announcement.Title
		}
		d.Rows = append(d.Rows, row)
	}
	p.Title = p.T("operate.schedules.title")
	p.Data = d
	n.render(w, status, "operate_schedules", p)
}

// scheduleTowns returns the towns, groups or "all" of sc's announcement.
func scheduleTowns(sc *crier.Schedule) []string {
	if sc.Announcement == nil {
		return nil
	}
	return sc.Announcement.Towns
}

// changeSchedule pauses, resumes or removes the schedule {id}, when the
// person may schedule in every town of its announcement.
func (n *Newsroom) changeSchedule(op string) func(w http.ResponseWriter, r *http.Request, v *visit) {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		if n.sched == nil {
			n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server does not schedule announcements"))
			return
		}
		id := r.PathValue("id")
		sc, err := n.sched.Store.Schedule(r.Context(), id)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		if !n.mayIn(v.p, crier.ActionSchedule, scheduleTowns(sc)) {
			n.fail(w, r, v, crier.Errorf(crier.EFORBIDDEN, "%s may not change schedule %s", v.p.Name, id))
			return
		}
		change := map[string]func(context.Context, string) (*crier.Schedule, error){
			"pause": n.sched.Pause, "resume": n.sched.Resume, "delete": n.sched.Cancel,
		}[op]
		if _, err := change(r.Context(), id); err != nil {
			if ps := invalidProblems(err); len(ps) > 0 {
				p := v.page("operate")
				var texts []string
				for _, list := range formProblems(p.Lang, ps, nil) {
					texts = append(texts, list...)
				}
				n.showSchedules(w, r, v, p, http.StatusUnprocessableEntity, &schedulesData{Problems: texts})
				return
			}
			n.fail(w, r, v, err)
			return
		}
		n.log.Info("newsroom: schedule changed", "by", v.p.Name, "schedule", id, "change", op)
		afterPost(w, r, "/admin/operate/schedules?done=schedule_"+op+"&what="+url.QueryEscape(id))
	}
}
