package newsroom

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// composeRoutes adds the pages for writing an announcement: the compose form, the live preview matrix of every town × channel, drafts, and publishing.
func (n *Newsroom) composeRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/compose", n.signedIn(n.composePage))
	mux.Handle("POST /admin/compose", n.signedIn(n.composePreviewPage))
	mux.Handle("POST /admin/compose/preview", n.signedIn(n.composePreviewFragment))
	mux.Handle("POST /admin/compose/publish", n.signedIn(n.composePublish))
	mux.Handle("POST /admin/compose/draft", n.signedIn(n.composeSaveDraft))
	mux.Handle("POST /admin/compose/drafts/{id}/delete", n.signedIn(n.composeDeleteDraft))
}

// composeData is what the compose page shows.
type composeData struct {
	Form *composeForm
	// Towns are the principal's towns; Groups the groups of which the
	// principal has every town; Mine offers "all my towns".
	Towns, Groups []option
	Mine          bool
	Channels      []option
	Vars          []snippet
	// Selects are the CAP fields.
	Selects []*selectField
	Modes   []option
	// Update is the announcement the form corrects.
	Update *crier.Announcement
	// Preview is the live preview; Done false before the first.
	Preview *preview
	// Drafts are the person's drafts; DraftsOn is false when the
	// newsroom keeps none.
	Drafts   []draftItem
	DraftsOn bool
	// Notice says what just happened (a draft saved, a notice scheduled).
	Notice string
	// Exercise is true when the whole instance runs in exercise mode.
	Exercise bool
	// Approval offers the choices of four-eyes approval in the person's
	// towns: submitting where it is optional, and to an admin, publishing
	// without it where it is required (an emergency).
	Submittable, Emergency bool
}

// option is one choice of a select, a checkbox or a radio button.
type option struct {
	Value, Label string
	// Note says more, e.g. the towns of a channel.
	Note string
}

// selectField is one select of the form.
type selectField struct {
	Name, Value, Described string
	Options                []option
	Problems               []*shownProblem
}

// draftItem is one draft in the person's list.
type draftItem struct {
	ID    int64
	Title string
	Saved string
}

// snippet is a town variable to copy into the body.
type snippet struct {
	Code  string // {{.Vars.phone}}
	Towns string // the towns that have it
}

// Described returns the ids of the problems of field, for the input's
// aria-describedby.
func (d *composeData) Described(field string) string {
	var ids []string
	for _, p := range d.Preview.Fields[field] {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, " ")
}

// CanPublish reports whether the form may be published: no problem is
// known. The server checks again.
func (d *composeData) CanPublish() bool { return len(d.Preview.Problems) == 0 }

// N returns the text for key in the page's language, in its singular
// form (key+".one") when n is 1.
func (p *page) N(key string, n int, args ...any) string { return locale.N(p.Lang, key, n, args...) }

// composeRight checks that v's role may compose at all.
func (n *Newsroom) composeRight(w http.ResponseWriter, r *http.Request, v *visit) bool {
	if err := crier.Authorize(v.p, crier.ActionCompose, nil); err != nil {
		n.fail(w, r, v, err)
		return false
	}
	return true
}

// composePage shows the compose form: empty, a draft (?draft=ID), or the
// current revision of an announcement to correct (?update=ID).
func (n *Newsroom) composePage(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.composeRight(w, r, v) {
		return
	}
	q := r.URL.Query()
	f := newForm()
	var notice string
	switch {
	case q.Get("update") != "":
		prev, err := n.updatable(r, v, q.Get("update"))
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		f = formOf(prev)
	case q.Get("draft") != "" && n.drafts != nil:
		id, _ := strconv.ParseInt(q.Get("draft"), 10, 64)
		d, err := n.drafts.Draft(r.Context(), v.p.Name, id)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		vs, _ := url.ParseQuery(d.Form)
		f = formFields(vs)
		f.Draft = d.ID
		if q.Has("saved") {
			notice = locale.T(v.lang, "compose.draft_saved")
		}
	case q.Get("scheduled") != "" && n.sched != nil:
		// Said only of a schedule there is, of the person's towns: the
		// query is anyone's to write.
		if sc, err := n.sched.Store.Schedule(r.Context(), q.Get("scheduled")); err == nil && sc.Announcement != nil {
			towns, _ := n.engine.Directory.Resolve(sc.Announcement.Towns)
			if crier.Authorize(v.p, crier.ActionRead, towns) == nil {
				notice = locale.T(v.lang, "compose.scheduled", locale.DateTime(v.lang, sc.At.In(berlin)), sc.ID)
			}
		}
	case q.Has("deleted"):
		notice = locale.T(v.lang, "compose.draft_deleted")
	}
	d := n.composeData(r, v, f, nil)
	d.Notice = notice
	n.renderCompose(w, http.StatusOK, v, d)
}

// formOf returns a form for correcting a, with its text and settings.
func formOf(a *crier.Announcement) *composeForm {
	f := newForm()
	f.Update = a.ID
	f.Title, f.Body, f.SpoilerText = a.Title, a.Body, a.SpoilerText
	for _, t := range a.Towns {
		if t == "all" {
			t = mineTowns // every town: all of the person's, who may correct it
		}
		f.Towns = append(f.Towns, t)
	}
	if len(a.Channels) > 0 {
		f.Channels, f.AllChannels = slices.Clone(a.Channels), false
	}
	f.Category, f.Urgency, f.Severity, f.Certainty = a.Category, a.Urgency, a.Severity, a.Certainty
	f.Mode = string(a.Mode)
	if !a.Expires.IsZero() {
		f.Expires = a.Expires.In(berlin).Format(localTime)
	}
	return f
}

// updatable returns the current revision of the announcement id, when v
// may correct it in every one of its towns.
func (n *Newsroom) updatable(r *http.Request, v *visit, id string) (*crier.Announcement, error) {
	prev, err := n.store.Announcement(r.Context(), id)
	if err != nil {
		return nil, err
	}
	towns, _ := n.engine.Directory.Resolve(prev.Towns)
	if err := crier.Authorize(v.p, crier.ActionUpdate, towns); err != nil {
		return nil, err
	}
	if prev.Event == crier.EventCanceled {
		return nil, crier.Errorf(crier.ECONFLICT, "%s", locale.T(v.lang, "compose.canceled", id))
	}
	return prev, nil
}

// composePreviewPage answers the form's "Vorschau" button without
// JavaScript: the page again, with the matrix under the form.
func (n *Newsroom) composePreviewPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.composeRight(w, r, v) {
		return
	}
	f := parseCompose(r)
	pv, err := n.preview(r, v, f)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.renderCompose(w, http.StatusOK, v, n.composeData(r, v, f, pv))
}

// composePreviewFragment answers the script's preview while typing: the
// problems and the matrix alone, as HTML to put in place of the old.
func (n *Newsroom) composePreviewFragment(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.composeRight(w, r, v) {
		return
	}
	f := parseCompose(r)
	pv, err := n.preview(r, v, f)
	if err != nil {
		status := http.StatusInternalServerError
		if code := crier.ErrorCode(err); code == crier.EFORBIDDEN {
			status = http.StatusForbidden
		} else if code != crier.EINTERNAL {
			status = http.StatusBadRequest
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	p := v.page("compose")
	p.Data = n.composeData(r, v, f, pv)
	var b strings.Builder
	if err := n.pages["compose"].ExecuteTemplate(&b, "fragment", p); err != nil {
		n.log.Error("newsroom: render preview", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

// preview checks v's right to preview the form's announcement in all its
// towns, then renders it for every town × channel with v's principal in
// the context. A forbidden error comes before any work.
func (n *Newsroom) preview(r *http.Request, v *visit, f *composeForm) (*preview, error) {
	a, _, problems := f.announcement(n, v.p)
	towns, _ := n.engine.Directory.Resolve(a.Towns)
	if err := crier.Authorize(v.p, crier.ActionPreview, towns); err != nil {
		return nil, err
	}
	if f.Update != "" {
		prev, err := n.updatable(r, v, f.Update)
		if err != nil {
			return nil, err
		}
		a.ID, a.Revision, a.Event, a.Mode = prev.ID, prev.Revision+1, crier.EventUpdated, prev.Mode
	}
	if a.Mode == crier.ModeActual && !mayActual(v.p) {
		problems = append(problems, crier.Problemf("mode", "compose.actual_forbidden",
			"you may publish exercises only; an admin can allow real notices"))
	}
	if slices.ContainsFunc(problems, func(p crier.Problem) bool { return p.Field == "body" && p.Code == "too_long" }) {
		// Too long to render for every town: the problem is enough.
		return n.newPreview(v.lang, nil, problems), nil
	}
	plan, err := n.engine.Preview(r.Context(), a)
	if crier.ErrorCode(err) == crier.EINVALID {
		return n.newPreview(v.lang, nil, append(problems, crier.ErrorDetails(err)...)), nil
	}
	if err != nil {
		return nil, err
	}
	return n.newPreview(v.lang, plan, problems), nil
}

// composePublish publishes the form's announcement, schedules it, or
// publishes it as a correction of the announcement it updates. The right
// to do so in every town comes first; a problem anywhere shows the form
// again with every problem and the text kept. The form's idempotency key
// makes a double click, or the form sent again, publish once.
func (n *Newsroom) composePublish(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.composeRight(w, r, v) {
		return
	}
	ctx := r.Context()
	f := parseCompose(r)
	a, at, problems := f.announcement(n, v.p)
	towns, _ := n.engine.Directory.Resolve(a.Towns)
	action := crier.ActionPublish
	switch {
	case f.Update != "":
		action = crier.ActionUpdate
	case f.When == whenLater:
		action = crier.ActionSchedule
	}
	if err := crier.Authorize(v.p, action, towns); err != nil {
		n.fail(w, r, v, err)
		return
	}
	mode := a.Mode
	if f.Update != "" {
		prev, err := n.updatable(r, v, f.Update)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		mode = prev.Mode
		if f.When == whenLater {
			problems = append(problems, crier.Problemf("publish_at", "compose.update_now", "a correction is published at once"))
		}
	}
	if mode == "" {
		mode = n.engine.Mode
	}
	if err := crier.AuthorizeMode(v.p, mode); err != nil {
		n.fail(w, r, v, err)
		return
	}
	if len(problems) > 0 {
		n.refused(w, r, v, f, http.StatusUnprocessableEntity)
		return
	}
	key := "newsroom-" + v.p.Name + "-" + f.Key
	if !validKey(f.Key) {
		key = "" // a forged key: publish, but without the promise
	}
	o := crier.PublishOptions{Submit: f.Submit, SkipApproval: f.Emergency}
	if o.SkipApproval && v.p.Role != crier.RoleAdmin {
		n.fail(w, r, v, crier.Errorf(crier.EFORBIDDEN, "only an admin may publish without approval"))
		return
	}
	var target string
	switch {
	case f.Update != "":
		res, err := n.engine.UpdateWith(ctx, f.Update, a, key, o)
		if err != nil {
			n.publishFailed(w, r, v, f, err)
			return
		}
		target = publishedTarget(res)
	case f.When == whenLater:
		if n.sched == nil {
			n.errorPage(w, r, v, http.StatusNotImplemented, "compose.no_schedules")
			return
		}
		sc, _, err := n.sched.Create(ctx, &crier.Schedule{At: at, Announcement: a}, key, false)
		if err != nil {
			n.publishFailed(w, r, v, f, err)
			return
		}
		target = "/admin/compose?scheduled=" + url.QueryEscape(sc.ID)
	default:
		res, err := n.engine.PublishWith(ctx, a, key, o)
		if err != nil {
			n.publishFailed(w, r, v, f, err)
			return
		}
		target = publishedTarget(res)
	}
	if f.Draft != 0 && n.drafts != nil {
		if err := n.drafts.DeleteDraft(ctx, v.p.Name, f.Draft); err != nil && crier.ErrorCode(err) != crier.ENOTFOUND {
			n.log.Error("newsroom: delete published draft", "draft", f.Draft, "err", err)
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// publishedTarget is where a publish leads: the live page, or the page
// of the submission when it waits for approval.
func publishedTarget(res *crier.PublishResult) string {
	id := url.PathEscape(res.Announcement.ID)
	if res.State == crier.SubmissionPending {
		return "/admin/approvals/" + id + "?submitted=1"
	}
	return "/admin/announcements/" + id
}

// approvalChoices reports whether approval is optional in one of towns,
// so that the form offers to submit, and whether an admin would need
// approval in one of them, so that it offers an emergency publish.
func (n *Newsroom) approvalChoices(p *crier.Principal, towns []string) (submit, emergency bool) {
	pol := n.engine.Approval
	if pol == nil || n.engine.Submissions == nil {
		return false, false
	}
	for _, t := range towns {
		for _, sev := range crier.Severities {
			switch pol.Mode([]string{t}, sev) {
			case crier.ApprovalOptional:
				submit = true
			case crier.ApprovalRequired:
				emergency = p.Role == crier.RoleAdmin
			}
		}
	}
	return submit, emergency
}

// validKey reports whether a form's idempotency key looks like the ones
// the form is given.
func validKey(k string) bool {
	return len(k) > 0 && len(k) <= 64 && !strings.ContainsFunc(k, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
	})
}

// publishFailed shows the form again after the engine or the scheduler
// refused it: with every problem for an invalid announcement, the reason
// for a conflict; other errors as the error page.
func (n *Newsroom) publishFailed(w http.ResponseWriter, r *http.Request, v *visit, f *composeForm, err error) {
	switch crier.ErrorCode(err) {
	case crier.EINVALID:
		n.refused(w, r, v, f, http.StatusUnprocessableEntity, crier.ErrorDetails(err)...)
	case crier.ECONFLICT:
		d := n.composeData(r, v, f, n.newPreview(v.lang, nil, []crier.Problem{{Message: crier.ErrorMessage(err)}}))
		if details := crier.ErrorDetails(err); len(details) > 0 {
			d.Preview = n.newPreview(v.lang, nil, details)
		}
		n.renderCompose(w, http.StatusConflict, v, d)
	default:
		n.fail(w, r, v, err)
	}
}

// refused shows the form again with its preview and every problem. When
// the preview finds none, the problems of the refusal (details: the
// scheduler's, say) are shown instead, or a word that it was refused.
func (n *Newsroom) refused(w http.ResponseWriter, r *http.Request, v *visit, f *composeForm, status int, details ...crier.Problem) {
	pv, err := n.preview(r, v, f)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	if len(pv.Problems) == 0 {
		if len(details) == 0 {
			details = []crier.Problem{{Message: locale.T(v.lang, "compose.refused")}}
		}
		other := n.newPreview(v.lang, nil, details)
		pv.Problems, pv.Fields, pv.General = other.Problems, other.Fields, other.General
	}
	n.renderCompose(w, status, v, n.composeData(r, v, f, pv))
}

// composeSaveDraft keeps the form as one of the person's drafts.
func (n *Newsroom) composeSaveDraft(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.composeRight(w, r, v) {
		return
	}
	f := parseCompose(r)
	a, _, _ := f.announcement(n, v.p)
	towns, _ := n.engine.Directory.Resolve(a.Towns)
	if err := crier.Authorize(v.p, crier.ActionCompose, towns); err != nil {
		n.fail(w, r, v, err)
		return
	}
	if n.drafts == nil {
		n.errorPage(w, r, v, http.StatusNotImplemented, "compose.no_drafts")
		return
	}
	d := &crier.Draft{ID: f.Draft, User: v.p.Name, Title: f.Title, Form: f.values().Encode(), UpdatedAt: n.clock.Now()}
	err := n.drafts.SaveDraft(r.Context(), d)
	if crier.ErrorCode(err) == crier.ENOTFOUND {
		d.ID = 0 // deleted meanwhile, or never the person's: a new one
		err = n.drafts.SaveDraft(r.Context(), d)
	}
	switch crier.ErrorCode(err) {
	case "":
	case crier.EINVALID, crier.ECONFLICT:
		key := "compose.draft_too_large"
		if crier.ErrorCode(err) == crier.ECONFLICT {
			key = "compose.draft_too_many"
		}
		pv := &preview{Fields: map[string][]*shownProblem{}}
		pv.General = []*shownProblem{{ID: "problem-1", Target: "#problem-1", Text: locale.T(v.lang, key, crier.MaxDrafts)}}
		pv.Problems = pv.General
		n.renderCompose(w, status(err), v, n.composeData(r, v, f, pv))
		return
	default:
		n.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/admin/compose?draft="+strconv.FormatInt(d.ID, 10)+"&saved", http.StatusSeeOther)
}

// composeDeleteDraft deletes one of the person's drafts.
func (n *Newsroom) composeDeleteDraft(w http.ResponseWriter, r *http.Request, v *visit) {
	if !n.composeRight(w, r, v) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n.drafts == nil {
		n.errorPage(w, r, v, http.StatusNotFound, "error.notfound")
		return
	}
	if err := n.drafts.DeleteDraft(r.Context(), v.p.Name, id); err != nil {
		n.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/admin/compose?deleted", http.StatusSeeOther)
}

// renderCompose writes the compose page.
func (n *Newsroom) renderCompose(w http.ResponseWriter, status int, v *visit, d *composeData) {
	p := v.page("compose")
	p.Title = p.T("compose.title")
	if d.Update != nil {
		p.Title = p.T("compose.title_update", d.Update.Title)
	}
	p.Data = d
	n.render(w, status, "compose", p)
}

// composeData gathers what the compose page offers v, for the form f.
func (n *Newsroom) composeData(r *http.Request, v *visit, f *composeForm, pv *preview) *composeData {
	if pv == nil {
		pv = &preview{Fields: map[string][]*shownProblem{}}
	}
	d := &composeData{Form: f, Preview: pv, Exercise: n.engine.Mode != crier.ModeActual, DraftsOn: n.drafts != nil}
	dir := n.engine.Directory
	mine := n.towns(v.p)
	d.Submittable, d.Emergency = n.approvalChoices(v.p, mine)
	for _, id := range mine {
		d.Towns = append(d.Towns, option{Value: id, Label: dir.Town(id).Name})
	}
	d.Mine = len(mine) > 1
	for _, g := range dir.Groups() {
		towns, _ := dir.Resolve([]string{g})
		if len(towns) > 0 && crier.Authorize(v.p, crier.ActionPublish, towns) == nil {
			d.Groups = append(d.Groups, option{Value: g, Label: g, Note: strconv.Itoa(len(towns))})
		}
	}
	for _, id := range n.offeredChannels(v.p) {
		var names []string
		for _, t := range mine {
			if slices.Contains(dir.Town(t).Channels, id) {
				names = append(names, dir.Town(t).Name)
			}
		}
		label := id
		if ch := n.engine.Channels[id]; ch != nil {
			label = id + " (" + locale.T(v.lang, "compose.type."+typeKey(ch.Type)) + ")"
		}
		d.Channels = append(d.Channels, option{Value: id, Label: label, Note: strings.Join(names, ", ")})
	}
	d.Vars = n.snippets(mine)
	for _, sel := range []struct {
		name, value string
		values      []string
	}{
		{"category", f.Category, crier.Categories}, {"urgency", f.Urgency, crier.Urgencies},
		{"severity", f.Severity, crier.Severities}, {"certainty", f.Certainty, crier.Certainties},
	} {
		sf := &selectField{Name: sel.name, Value: sel.value, Described: d.Described(sel.name), Problems: pv.Fields[sel.name],
			Options: []option{{Value: "", Label: locale.T(v.lang, "compose.default")}}}
		for _, val := range sel.values {
			sf.Options = append(sf.Options, option{Value: val, Label: locale.T(v.lang, "compose."+sel.name+"."+val)})
		}
		d.Selects = append(d.Selects, sf)
	}
	d.Modes = []option{{Value: string(crier.ModeExercise), Label: locale.T(v.lang, "compose.mode.exercise")},
		{Value: string(crier.ModeTest), Label: locale.T(v.lang, "compose.mode.test")}}
	if mayActual(v.p) {
		d.Modes = append(d.Modes, option{Value: string(crier.ModeActual), Label: locale.T(v.lang, "compose.mode.actual")})
	}
	if f.Update != "" {
		if prev, err := n.store.Announcement(r.Context(), f.Update); err == nil {
			d.Update = prev
			d.Modes = []option{{Value: string(prev.Mode), Label: locale.T(v.lang, "compose.mode."+string(prev.Mode))}}
		}
	}
	if n.drafts != nil {
		ds, err := n.drafts.Drafts(r.Context(), v.p.Name)
		if err != nil {
			n.log.Error("newsroom: list drafts", "user", v.p.Name, "err", err)
		}
		for _, dr := range ds {
			title := dr.Title
			if title == "" {
				title = locale.T(v.lang, "compose.untitled")
			}
			d.Drafts = append(d.Drafts, draftItem{ID: dr.ID, Title: title, Saved: locale.DateTime(v.lang, dr.UpdatedAt.In(berlin))})
		}
	}
	return d
}

// typeKey is the catalogue's name of a channel type; "other" for types
// it does not name.
func typeKey(t string) string {
	switch t {
	case "mastodon", "slack", "email", "webhook", crier.PageType:
		return t
	}
	return "other"
}

// towns returns the towns p may compose for, in configuration order.
func (n *Newsroom) towns(p *crier.Principal) []string {
	var out []string
	for _, t := range n.engine.Directory.Towns() {
		if crier.Authorize(p, crier.ActionCompose, []string{t.ID}) == nil {
			out = append(out, t.ID)
		}
	}
	return out
}

// offeredChannels returns the channels of p's towns, each once, in the
// order of the towns and their channels.
func (n *Newsroom) offeredChannels(p *crier.Principal) []string {
	var out []string
	for _, t := range n.towns(p) {
		for _, id := range n.engine.Directory.Town(t).Channels {
			if !slices.Contains(out, id) && n.engine.Channels[id] != nil {
				out = append(out, id)
			}
		}
	}
	return out
}

// snippets returns the variables of towns, as the body's template writes
// them, with the towns that have each.
func (n *Newsroom) snippets(towns []string) []snippet {
	have := map[string][]string{}
	for _, id := range towns {
		t := n.engine.Directory.Town(id)
		for k := range t.Vars {
			have[k] = append(have[k], t.Name)
		}
	}
	keys := make([]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]snippet, 0, len(keys))
	for _, k := range keys {
		code := "{{.Vars." + k + "}}"
		if !identifier(k) {
			code = fmt.Sprintf("{{index .Vars %q}}", k)
		}
		if len(have[k]) < len(towns) {
			// Not every town has it: the form that may be missing.
			code = fmt.Sprintf("{{with index .Vars %q}}{{.}}{{end}}", k)
		}
		out = append(out, snippet{Code: code, Towns: strings.Join(have[k], ", ")})
	}
	return out
}

// identifier reports whether k can follow .Vars. in a template.
func identifier(k string) bool {
	for i, r := range k {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return k != ""
}
