package newsroom

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/site"
)

// Bounds of the watch pages.
const (
	// listPage is the number of announcements on a page of the list.
	listPage = 25
	// deliveryPage is the number of deliveries on a page.
	deliveryPage = 50
	// maxShownError bounds the error text shown per delivery.
	maxShownError = 500
	// maxReason bounds a cancel's reason, as crier.Announcement.Validate.
	maxReason = 1000
)

// watchRoutes adds the pages for following announcements: the list, one
// announcement's page with live progress, retry, update and cancel.
func (n *Newsroom) watchRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/announcements", n.signedIn(n.announcements))
	mux.Handle("GET /admin/announcements/{id}", n.signedIn(n.announcement))
	mux.Handle("GET /admin/announcements/{id}/events", n.signedIn(n.events))
	mux.Handle("POST /admin/announcements/{id}/retry", n.signedIn(n.retryDeliveries))
	mux.Handle("POST /admin/announcements/{id}/cancel", n.signedIn(n.cancelAnnouncement))
}

// townsOf returns the towns an announcement concerns: its targets with
// groups and "all" expanded, and a target the configuration no longer
// knows kept as it is, so that only an admin has rights in it.
func (n *Newsroom) townsOf(a *crier.Announcement) []string {
	var towns []string
	for _, t := range a.Towns {
		ids, problems := n.engine.Directory.Resolve([]string{t})
		if len(problems) > 0 {
			ids = []string{t}
		}
		for _, id := range ids {
			if !slices.Contains(towns, id) {
				towns = append(towns, id)
			}
		}
	}
	return towns
}

// readableTowns returns those of towns that p may read.
func readableTowns(p *crier.Principal, towns []string) []string {
	var out []string
	for _, t := range towns {
		if crier.Authorize(p, crier.ActionRead, []string{t}) == nil {
			out = append(out, t)
		}
	}
	return out
}

// listFilter selects, in the store's query, the announcements p may read:
// those that target one of p's towns, directly, through a group or as
// "all"; every one for an admin.
func (n *Newsroom) listFilter(p *crier.Principal) crier.AnnouncementFilter {
	var f crier.AnnouncementFilter
	if p.Role != crier.RoleAdmin {
		f.Scope = n.engine.Directory.Targeting(p.Towns)
	}
	return f
}

// readableAnnouncement returns the announcement {id} of r and those of
// its towns that v's person may read: not found when there is no such
// announcement, forbidden when they may read none of its towns.
func (n *Newsroom) readableAnnouncement(r *http.Request, v *visit) (*crier.Announcement, []string, error) {
	if err := crier.Authorize(v.p, crier.ActionRead, nil); err != nil {
		return nil, nil, err
	}
	a, err := n.store.Announcement(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	all := n.townsOf(a)
	towns := readableTowns(v.p, all)
	if len(towns) == 0 {
		return nil, nil, crier.Authorize(v.p, crier.ActionRead, all)
	}
	return a, towns, nil
}

// townRef is a town as the pages show it.
type townRef struct{ ID, Name string }

func (n *Newsroom) townRefs(ids []string) []townRef {
	out := make([]townRef, len(ids))
	for i, id := range ids {
		out[i] = townRef{ID: id, Name: id}
		if t := n.engine.Directory.Town(id); t != nil {
			out[i].Name = t.Name
		}
	}
	return out
}

// location is where the times of an announcement for towns are told:
// the first town's time zone.
func (n *Newsroom) location(towns []string) *time.Location {
	for _, id := range towns {
		if t := n.engine.Directory.Town(id); t != nil && t.TimeZone != "" {
			if loc, err := time.LoadLocation(t.TimeZone); err == nil {
				return loc
			}
		}
	}
	return time.UTC
}

// tally counts deliveries by what a person makes of their state.
type tally struct {
	Total    int `json:"total"`
	Pending  int `json:"pending"` // queued, waiting or sending
	Sent     int `json:"sent"`
	Failed   int `json:"failed"`
	Unknown  int `json:"unknown"`
	Canceled int `json:"canceled"`
	Expired  int `json:"expired"`
}

func (t *tally) add(s crier.State, n int) {
	t.Total += n
	switch s {
	case crier.StateSent:
		t.Sent += n
	case crier.StateFailed:
		t.Failed += n
	case crier.StateUnknown:
		t.Unknown += n
	case crier.StateCanceled:
		t.Canceled += n
	case crier.StateExpired:
		t.Expired += n
	default:
		t.Pending += n
	}
}

// progressCell is one town × channel of the progress table.
type progressCell struct {
	Town    string `json:"town"`
	Channel string `json:"channel"`
	tally
}

// progress is the progress table: what the page shows and the stream
// sends.
type progress struct {
	Cells []progressCell `json:"cells"`
	Total tally          `json:"total"`
	// Done says that every delivery is final.
	Done bool `json:"done"`
	// Summary says the totals in a sentence, for people.
	Summary string `json:"summary"`
}

// newProgress makes the progress table of counts in towns, in the order
// of towns and then by channel.
func newProgress(lang string, counts []crier.Count, towns []string, done bool) progress {
	order := make(map[string]int, len(towns))
	for i, t := range towns {
		order[t] = i
	}
	type key struct{ town, channel string }
	cells := make(map[key]int)
	var p progress
	for _, c := range counts {
		if _, ok := order[c.Town]; !ok {
			continue
		}
		i, ok := cells[key{c.Town, c.Channel}]
		if !ok {
			i = len(p.Cells)
			cells[key{c.Town, c.Channel}] = i
			p.Cells = append(p.Cells, progressCell{Town: c.Town, Channel: c.Channel})
		}
		p.Cells[i].add(c.State, c.N)
		p.Total.add(c.State, c.N)
	}
	slices.SortFunc(p.Cells, func(a, b progressCell) int {
		return cmp.Or(cmp.Compare(order[a.Town], order[b.Town]), strings.Compare(a.Channel, b.Channel))
	})
	if p.Cells == nil {
		p.Cells = []progressCell{}
	}
	p.Done = done
	t := p.Total
	p.Summary = locale.T(lang, "watch.summary", t.Sent, t.Total, t.Failed, t.Unknown, t.Pending)
	if done {
		p.Summary = locale.T(lang, "watch.summary_done", p.Summary)
	}
	return p
}

// listItem is one announcement of the list.
type listItem struct {
	ID, Title, Event string
	Mode             crier.Mode
	Towns            []townRef
	When             string
	Progress         tally
	// Byline names the author, and the approver or an emergency publish.
	Byline string
}

// listView is the data of the list page.
type listView struct {
	Items []listItem
	// Prev and Next link to the newer and the older page, if any.
	Prev, Next string
}

// announcements lists the announcements the person may read, newest
// first, a page at a time.
func (n *Newsroom) announcements(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := crier.Authorize(v.p, crier.ActionRead, nil); err != nil {
		n.fail(w, r, v, err)
		return
	}
	f := n.listFilter(v.p)
	f.Limit = listPage + 1 // one more tells whether there is an older page
	var err error
	q := r.URL.Query()
	if f.Before, err = crier.ParseCursor(q.Get("before")); err == nil {
		f.After, err = crier.ParseCursor(q.Get("after"))
	}
	if err != nil {
		n.errorPage(w, r, v, http.StatusBadRequest, "error.notfound")
		return
	}
	as, err := n.store.FindAnnouncements(r.Context(), f)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	var view listView
	more := len(as) > listPage
	as = as[:min(len(as), listPage)]
	if len(as) > 0 {
		// Newer pages are there when this one starts after something.
		if !f.Before.IsZero() || !f.After.IsZero() && more {
			view.Prev = "/admin/announcements?after=" + url.QueryEscape(crier.CursorOf(as[0]).String())
		}
		if more || !f.After.IsZero() {
			view.Next = "/admin/announcements?before=" + url.QueryEscape(crier.CursorOf(as[len(as)-1]).String())
		}
	}
	for _, a := range as {
		towns := readableTowns(v.p, n.townsOf(a))
		counts, err := n.store.Counts(r.Context(), a.ID)
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		item := listItem{ID: a.ID, Title: a.Title, Event: eventName(a.Event), Mode: a.Mode, Towns: n.townRefs(towns),
			When: locale.DateTime(v.lang, a.CreatedAt.In(n.location(towns))), Byline: byline(v.lang, a)}
		item.Progress = newProgress(v.lang, counts, towns, false).Total
		view.Items = append(view.Items, item)
	}
	p := v.page("announcements")
	p.Title = p.T("watch.list.title")
	p.Data = view
	n.render(w, http.StatusOK, "announcements", p)
}

// eventName is the word for an announcement's latest revision:
// published, updated or canceled.
func eventName(event string) string {
	name, _ := strings.CutPrefix(event, "announcement.")
	return name
}

// deliveryRow is one delivery of the detail page.
type deliveryRow struct {
	ID        int64
	Town      string
	Channel   string
	Recipient string
	State     crier.State
	Attempts  int
	Error     string
	// URL is the remote post's address, only when it is http or https.
	URL string
}

// body is an announcement's text for one town.
type body struct {
	Town townRef
	HTML template.HTML
}

// revision is one revision of an announcement.
type revision struct {
	N     int
	Event string
}

// deliveryQuery is the filter of the deliveries table.
type deliveryQuery struct {
	State, Town, Channel string
	After                int64
}

// announcementView is the data of one announcement's page.
type announcementView struct {
	A        *crier.Announcement
	Byline   string
	Event    string
	When     string
	Towns    []townRef
	AllTowns int
	// Partial says that the person sees some of the towns only.
	Partial   bool
	Channels  []string
	Progress  progress
	Events    string // the stream's address while deliveries are under way
	Bodies    []body
	Revisions []revision

	Deliveries   []deliveryRow
	Query        deliveryQuery
	FilterTowns  []townRef
	AnyTown      bool // the filter may leave the town open
	States       []crier.State
	Next, First  string
	ShowReceiver bool

	CanRetry, CanCancel, CanUpdate bool
	Retryable                      int
	Status                         string // what the last action did
	Problems                       []string
	Reason                         string
}

// announcement shows one announcement: its text, progress, deliveries,
// and the actions the person may take.
func (n *Newsroom) announcement(w http.ResponseWriter, r *http.Request, v *visit) {
	n.showAnnouncement(w, r, v, http.StatusOK, nil, "")
}

// showAnnouncement renders the page of the announcement {id} with status,
// and with the problems of a refused cancel and the reason typed.
func (n *Newsroom) showAnnouncement(w http.ResponseWriter, r *http.Request, v *visit, status int, problems []string, reason string) {
	a, towns, err := n.readableAnnouncement(r, v)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	view, err := n.announcementView(r, v, a, towns)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	view.Problems, view.Reason = problems, reason
	p := v.page("announcements")
	p.Title = a.Title
	p.Data = view
	n.render(w, status, "announcement", p)
}

func (n *Newsroom) announcementView(r *http.Request, v *visit, a *crier.Announcement, towns []string) (*announcementView, error) {
	ctx := r.Context()
	all := n.townsOf(a)
	view := &announcementView{A: a, Byline: byline(v.lang, a), Event: eventName(a.Event), Towns: n.townRefs(towns), AllTowns: len(all),
		Partial: len(towns) < len(all), Channels: a.Channels, States: crier.States,
		When:         locale.DateTime(v.lang, a.CreatedAt.In(n.location(towns))),
		ShowReceiver: crier.Authorize(v.p, crier.ActionAdmin, nil) == nil,
		CanRetry:     crier.Authorize(v.p, crier.ActionRetry, all) == nil,
		CanUpdate:    a.Event != crier.EventCanceled && crier.Authorize(v.p, crier.ActionUpdate, all) == nil,
		CanCancel:    a.Event != crier.EventCanceled && crier.Authorize(v.p, crier.ActionCancel, all) == nil,
	}
	counts, err := n.store.Counts(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	view.Progress = newProgress(v.lang, counts, towns, final(counts))
	if !view.Progress.Done {
		view.Events = "/admin/announcements/" + url.PathEscape(a.ID) + "/events"
	}
	view.Retryable = view.Progress.Total.Failed + view.Progress.Total.Unknown
	if len(view.Channels) == 0 {
		for _, c := range view.Progress.Cells {
			if !slices.Contains(view.Channels, c.Channel) {
				view.Channels = append(view.Channels, c.Channel)
			}
		}
		slices.Sort(view.Channels)
	}
	msgs, err := n.store.Messages(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if !slices.ContainsFunc(view.Revisions, func(x revision) bool { return x.N == m.Revision }) {
			view.Revisions = append(view.Revisions, revision{N: m.Revision, Event: eventName(m.Event)})
		}
	}
	slices.SortFunc(view.Revisions, func(x, y revision) int { return cmp.Compare(x.N, y.N) })
	for _, t := range view.Towns {
		b, ok := site.BodyFromMessages(msgs, t.ID, a.Revision)
		if !ok {
			b = site.Body{Text: a.Body} // plain text, escaped
		}
		view.Bodies = append(view.Bodies, body{Town: t, HTML: b.SafeHTML()})
	}
	if err := n.deliveries(ctx, r.URL.Query(), a, towns, view); err != nil {
		return nil, err
	}
	switch r.URL.Query().Get("done") {
	case "retried":
		count, _ := strconv.Atoi(r.URL.Query().Get("n"))
		view.Status = locale.T(v.lang, "watch.retried", count)
	case "canceled":
		view.Status = locale.T(v.lang, "watch.canceled")
	}
	return view, nil
}

// deliveries fills in one page of the announcement's deliveries as the
// query q filters them, in towns only.
func (n *Newsroom) deliveries(ctx context.Context, q url.Values, a *crier.Announcement, towns []string, view *announcementView) error {
	f := deliveryQuery{State: q.Get("state"), Town: q.Get("town"), Channel: q.Get("channel")}
	f.After, _ = strconv.ParseInt(q.Get("after"), 10, 64)
	if !crier.State(f.State).Valid() {
		f.State = ""
	}
	if !slices.Contains(view.Channels, f.Channel) {
		f.Channel = ""
	}
	// Someone who may read some of the towns only sees one at a time:
	// the store filters by one town.
	view.AnyTown = !view.Partial
	if !slices.Contains(towns, f.Town) {
		f.Town = ""
		if !view.AnyTown {
			f.Town = towns[0]
		}
	}
	view.Query, view.FilterTowns = f, view.Towns
	ds, err := n.store.Deliveries(ctx, crier.DeliveryFilter{Announcement: a.ID, Town: f.Town, Channel: f.Channel,
		State: crier.State(f.State), AfterID: max(f.After, 0), Limit: deliveryPage + 1})
	if err != nil {
		return err
	}
	link := func(after int64) string {
		v := url.Values{}
		for k, s := range map[string]string{"state": f.State, "town": f.Town, "channel": f.Channel} {
			if s != "" {
				v.Set(k, s)
			}
		}
		if after > 0 {
			v.Set("after", strconv.FormatInt(after, 10))
		}
		u := "/admin/announcements/" + url.PathEscape(a.ID)
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		return u + "#deliveries"
	}
	if len(ds) > deliveryPage {
		ds = ds[:deliveryPage]
		view.Next = link(ds[len(ds)-1].ID)
	}
	if f.After > 0 {
		view.First = link(0)
	}
	for _, d := range ds {
		if !slices.Contains(towns, d.Town) {
			continue
		}
		row := deliveryRow{ID: d.ID, Town: d.Town, Channel: d.Channel, State: d.State, Attempts: d.Attempts,
			Error: ellipsize(d.Error, maxShownError), URL: webURL(d.URL)}
		if view.ShowReceiver {
			row.Recipient = d.Recipient
		}
		view.Deliveries = append(view.Deliveries, row)
	}
	return nil
}

// webURL returns s when it is an absolute http or https URL, and ""
// otherwise: a remote post's address is shown as a link only then.
func webURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2000 {
		return ""
	}
	return u.String()
}

// ellipsize shortens s to at most n characters and an ellipsis.
func ellipsize(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// storedAnnouncement returns the announcement {id} of r once the person
// may do action in every one of its towns.
func (n *Newsroom) storedAnnouncement(r *http.Request, v *visit, action crier.Action) (*crier.Announcement, error) {
	if err := crier.Authorize(v.p, action, nil); err != nil {
		return nil, err
	}
	a, err := n.store.Announcement(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if err := crier.Authorize(v.p, action, n.townsOf(a)); err != nil {
		return nil, err
	}
	return a, nil
}

// retryDeliveries puts the announcement's failed and unknown deliveries
// back in the queue and returns to its page, which says how many.
func (n *Newsroom) retryDeliveries(w http.ResponseWriter, r *http.Request, v *visit) {
	a, err := n.storedAnnouncement(r, v, crier.ActionRetry)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	count, err := n.store.Retry(r.Context(), a.ID, []crier.State{crier.StateFailed, crier.StateUnknown}, n.clock.Now())
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	if count > 0 && n.engine.Notify != nil {
		n.engine.Notify()
	}
	n.log.InfoContext(r.Context(), "newsroom: deliveries requeued", "user", v.p.Name, "announcement", a.ID, "n", count)
	http.Redirect(w, r, "/admin/announcements/"+url.PathEscape(a.ID)+"?done=retried&n="+strconv.Itoa(count),
		http.StatusSeeOther)
}

// cancelAnnouncement withdraws the announcement with the reason given,
// once the person has ticked the confirmation; otherwise the page comes
// back with the problems.
func (n *Newsroom) cancelAnnouncement(w http.ResponseWriter, r *http.Request, v *visit) {
	a, err := n.storedAnnouncement(r, v, crier.ActionCancel)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var problems []crier.Problem
	switch {
	case reason == "":
		problems = append(problems, crier.Problemf("reason", "cancel.reason_missing", "a cancellation needs a reason"))
	case utf8.RuneCountInString(reason) > maxReason:
		problems = append(problems, crier.Problemf("reason", "cancel.reason_long",
			"is %v characters long, at most %v are allowed", utf8.RuneCountInString(reason), maxReason))
	}
	if r.PostFormValue("confirm") != "yes" {
		problems = append(problems, crier.Problemf("confirm", "cancel.unconfirmed", "tick the box to confirm the cancellation"))
	}
	if len(problems) == 0 {
		_, err = n.engine.Cancel(r.Context(), a.ID, reason, "")
		if err == nil {
			n.log.InfoContext(r.Context(), "newsroom: announcement canceled", "user", v.p.Name, "announcement", a.ID)
			http.Redirect(w, r, "/admin/announcements/"+url.PathEscape(a.ID)+"?done=canceled", http.StatusSeeOther)
			return
		}
		if crier.ErrorCode(err) != crier.EINVALID && crier.ErrorCode(err) != crier.ECONFLICT {
			n.fail(w, r, v, err)
			return
		}
		problems = crier.ErrorDetails(err)
		if len(problems) == 0 {
			msg := err.Error()
			if e := (*crier.Error)(nil); errors.As(err, &e) {
				msg = e.Message
			}
			problems = []crier.Problem{{Message: msg}}
		}
	}
	texts := make([]string, len(problems))
	for i, p := range problems {
		texts[i], _ = locale.Problem(v.lang, p.Code, p.Args, p.Message)
	}
	n.showAnnouncement(w, r, v, http.StatusUnprocessableEntity, texts, reason)
}
