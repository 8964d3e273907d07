package newsroom

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crierhq/crier"
)

// Bounds of the subscribers pages.
const (
	subscribersPerPage = 50
	maxSearch          = 254 // the longest address
	// maxImportProblems is how many problems of an import are listed.
	maxImportProblems = 50
	// maxImport bounds a CSV upload: every newsroom form's bound, about
	// 25 000 addresses. Larger lists go through crier subscribers import.
	maxImport = maxForm
)

// subscriberPages is a subscriber store that counts and pages through a
// town's list; the SQLite store is one.
type subscriberPages interface {
	SubscriberCounts(ctx context.Context, town string) (map[crier.SubscriberState]int, error)
	SubscriberPage(ctx context.Context, town, search string, offset, limit int) ([]*crier.Subscriber, error)
}

// subscriberRoutes adds the towns' email lists, for admins only, as in the
// API: the addresses are personal data of the towns' residents.
func (n *Newsroom) subscriberRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/operate/subscribers", n.signedIn(n.adminOnly(n.subscribers)))
	mux.Handle("POST /admin/operate/subscribers/{town}/add", n.signedIn(n.adminOnly(n.addSubscriber)))
	mux.Handle("POST /admin/operate/subscribers/{town}/remove", n.signedIn(n.adminOnly(n.removeSubscriber)))
	mux.Handle("POST /admin/operate/subscribers/{town}/import", n.limitUpload(n.signedIn(n.adminOnly(n.importSubscribers))))
	mux.Handle("GET /admin/operate/subscribers/{town}/export", n.signedIn(n.adminOnly(n.exportSubscribers)))
}

// townCount is a town's list counted by state.
type townCount struct {
	Town                             *crier.Town
	Pending, Confirmed, Unsubscribed int
}

// subscriberForm is what the forms to add and import were filled in with.
type subscriberForm struct {
	Email, Name, Source string
	Confirmed           bool
}

type subscribersData struct {
	Towns []townCount
	// Town is the town whose list is shown, with its counts.
	Town   *townCount
	Search string
	Rows   []*crier.Subscriber
	Page   int
	Next   bool
	Form   subscriberForm
	// Problems of the forms: "email", "name", "source", "file"; Import
	// lists an import's problems by row, More counts those left out.
	Problems fieldProblems
	Import   []string
	More     int
	Done     string
}

// MaxImport is the largest CSV file the import takes, for people.
func (d *subscribersData) MaxImport() string { return crier.SizeText(maxImport) }

// NextPage and PreviousPage are the numbers of the neighbouring pages.
func (d *subscribersData) NextPage() int     { return d.Page + 1 }
func (d *subscribersData) PreviousPage() int { return d.Page - 1 }

// Query returns the query of the list's page number p, search kept.
func (d *subscribersData) Query(p int) string {
	q := url.Values{"town": {d.Town.Town.ID}, "page": {fmt.Sprint(p)}}
	if d.Search != "" {
		q.Set("q", d.Search)
	}
	return q.Encode()
}

func (n *Newsroom) subscribers(w http.ResponseWriter, r *http.Request, v *visit) {
	p := v.page("operate")
	d := &subscribersData{Done: doneNote(r, p), Page: pageNumber(r, 1<<20)}
	town := r.URL.Query().Get("town")
	if town != "" && n.engine.Directory.Town(town) == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "no town %q", town))
		return
	}
	d.Search = strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(d.Search) > maxSearch {
		d.Search = string([]rune(d.Search)[:maxSearch])
	}
	n.showSubscribers(w, r, v, p, http.StatusOK, town, d)
}

// showSubscribers renders the list of every town, or the page of town.
func (n *Newsroom) showSubscribers(w http.ResponseWriter, r *http.Request, v *visit, p *page, status int, town string, d *subscribersData) {
	if n.subs == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server keeps no subscribers"))
		return
	}
	p.Title = p.T("operate.subscribers.title")
	p.Data = d
	if town == "" {
		for _, t := range n.engine.Directory.Towns() {
			c, err := n.countSubscribers(r.Context(), t)
			if err != nil {
				n.fail(w, r, v, err)
				return
			}
			d.Towns = append(d.Towns, *c)
		}
		n.render(w, status, "operate_subscribers", p)
		return
	}
	t := n.engine.Directory.Town(town)
	c, err := n.countSubscribers(r.Context(), t)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	d.Town = c
	rows, err := n.subscriberPage(r.Context(), town, d.Search, (d.Page-1)*subscribersPerPage, subscribersPerPage+1)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	if len(rows) > subscribersPerPage {
		rows, d.Next = rows[:subscribersPerPage], true
	}
	d.Rows = rows
	p.Title = p.T("operate.subscribers.town_title", t.Name)
	n.render(w, status, "operate_subscribers_town", p)
}

func (n *Newsroom) countSubscribers(ctx context.Context, t *crier.Town) (*townCount, error) {
	counts := map[crier.SubscriberState]int{}
	if sp, ok := n.subs.(subscriberPages); ok {
		var err error
		if counts, err = sp.SubscriberCounts(ctx, t.ID); err != nil {
			return nil, err
		}
	} else {
		all, err := n.subs.Subscribers(ctx, t.ID, "")
		if err != nil {
			return nil, err
		}
		for _, s := range all {
			counts[s.State]++
		}
	}
	return &townCount{Town: t, Pending: counts[crier.SubscriberPending], Confirmed: counts[crier.SubscriberConfirmed],
		Unsubscribed: counts[crier.SubscriberUnsubscribed]}, nil
}

// subscriberPage returns up to limit of town's subscribers by address from
// offset, only those containing search when it is set.
func (n *Newsroom) subscriberPage(ctx context.Context, town, search string, offset, limit int) ([]*crier.Subscriber, error) {
	if sp, ok := n.subs.(subscriberPages); ok {
		return sp.SubscriberPage(ctx, town, search, offset, limit)
	}
	all, err := n.subs.Subscribers(ctx, town, "")
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(s *crier.Subscriber) bool {
		return search != "" && !strings.Contains(strings.ToLower(s.Email), strings.ToLower(search))
	})
	slices.SortFunc(all, func(a, b *crier.Subscriber) int { return strings.Compare(a.Email, b.Email) })
	return all[min(offset, len(all)):min(offset+limit, len(all))], nil
}

// subscriberTown returns the town {town} of a subscriber route, or answers
// 404 and returns nil.
func (n *Newsroom) subscriberTown(w http.ResponseWriter, r *http.Request, v *visit) *crier.Town {
	t := n.engine.Directory.Town(r.PathValue("town"))
	if t == nil || n.subs == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "no list of town %q", r.PathValue("town")))
		return nil
	}
	return t
}

// consentForm reads where the consent of confirmed addresses came from:
// confirmed addresses need a source, as in crier subscribers add.
func consentForm(r *http.Request) (subscriberForm, []crier.Problem) {
	f := subscriberForm{Name: strings.TrimSpace(r.PostFormValue("name")), Source: strings.TrimSpace(r.PostFormValue("source")),
		Confirmed: r.PostFormValue("confirmed") != ""}
	var ps []crier.Problem
	if f.Confirmed && f.Source == "" {
		ps = append(ps, crier.Problemf("source", "operate.source_required", "confirmed addresses need the source of their consent"))
	}
	for field, s := range map[string]string{"name": f.Name, "source": f.Source} {
		if strings.ContainsFunc(s, controlChar) || utf8.RuneCountInString(s) > 300 {
			ps = append(ps, crier.Problemf(field, "operate.single_line", "must be a single line of at most %v characters", "300"))
		}
	}
	return f, ps
}

func (f subscriberForm) subscriber(town, email, name string) *crier.Subscriber {
	s := &crier.Subscriber{Town: town, Email: email, Name: name, State: crier.SubscriberPending, Source: f.Source}
	if f.Confirmed {
		s.State = crier.SubscriberConfirmed
	}
	return s
}

// addSubscriber adds one address, pending or, with its source, confirmed.
func (n *Newsroom) addSubscriber(w http.ResponseWriter, r *http.Request, v *visit) {
	t := n.subscriberTown(w, r, v)
	if t == nil {
		return
	}
	f, ps := consentForm(r)
	f.Email = strings.TrimSpace(r.PostFormValue("email"))
	email, err := crier.NormalizeEmail(f.Email)
	if err != nil {
		ps = append(ps, crier.EmailProblem("email", err))
	}
	if len(ps) == 0 {
		_, err = n.subs.AddSubscribers(r.Context(), []*crier.Subscriber{f.subscriber(t.ID, email, f.Name)}, n.clock.Now())
		if err != nil {
			n.fail(w, r, v, err)
			return
		}
		n.log.Info("newsroom: subscriber added", "by", v.p.Name, "town", t.ID)
		afterPost(w, r, "/admin/operate/subscribers?"+url.Values{"town": {t.ID}, "q": {email}, "done": {"subscriber_added"}}.Encode())
		return
	}
	p := v.page("operate")
	n.showSubscribers(w, r, v, p, http.StatusUnprocessableEntity, t.ID, &subscribersData{Page: 1, Form: f,
		Problems: formProblems(p.Lang, ps, nil)})
}

// removeSubscriber unsubscribes one address.
func (n *Newsroom) removeSubscriber(w http.ResponseWriter, r *http.Request, v *visit) {
	t := n.subscriberTown(w, r, v)
	if t == nil {
		return
	}
	email, err := crier.NormalizeEmail(r.PostFormValue("email"))
	if err != nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "no such address"))
		return
	}
	if err := n.subs.RemoveSubscriber(r.Context(), t.ID, email, n.clock.Now()); err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: subscriber removed", "by", v.p.Name, "town", t.ID)
	afterPost(w, r, "/admin/operate/subscribers?"+url.Values{"town": {t.ID}, "q": {email}, "done": {"subscriber_removed"}}.Encode())
}

// limitUpload refuses an upload larger than maxImport with 413 before
// anything of it is read, and tells the person what to do instead.
func (n *Newsroom) limitUpload(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxImport {
			n.errorPage(w, r, n.visitor(r), http.StatusRequestEntityTooLarge, "operate.subscribers.too_large",
				crier.SizeText(maxImport))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// importSubscribers adds every row of an uploaded CSV file (email[,name],
// an optional header), as crier subscribers import does: every bad row is
// listed, and nothing is written while there is one.
func (n *Newsroom) importSubscribers(w http.ResponseWriter, r *http.Request, v *visit) {
	t := n.subscriberTown(w, r, v)
	if t == nil {
		return
	}
	f, ps := consentForm(r)
	p := v.page("operate")
	file, _, err := r.FormFile("file")
	if err != nil {
		ps = append(ps, crier.Problemf("file", "operate.file_missing", "choose a CSV file"))
	}
	var subs []*crier.Subscriber
	var rows []crier.Problem
	if file != nil {
		defer file.Close()
		subs, rows = readSubscribersCSV(file, f, t.ID)
		if len(subs) == 0 && len(rows) == 0 {
			ps = append(ps, crier.Problemf("file", "operate.file_empty", "has no addresses"))
		}
	}
	if len(ps) > 0 || len(rows) > 0 {
		d := &subscribersData{Page: 1, Form: f, Problems: formProblems(p.Lang, ps, nil)}
		for i, rp := range rows {
			if i == maxImportProblems {
				d.More = len(rows) - i
				break
			}
			text, _ := problemText(p.Lang, rp)
			d.Import = append(d.Import, text)
		}
		n.showSubscribers(w, r, v, p, http.StatusUnprocessableEntity, t.ID, d)
		return
	}
	added, err := n.subs.AddSubscribers(r.Context(), subs, n.clock.Now())
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: subscribers imported", "by", v.p.Name, "town", t.ID, "added", added, "updated", len(subs)-added)
	afterPost(w, r, "/admin/operate/subscribers?"+url.Values{"town": {t.ID}, "done": {"subscribers_imported"},
		"what": {fmt.Sprintf("%d/%d", added, len(subs)-added)}}.Encode())
}

// problemText is a problem of a CSV row in lang, with its line.
func problemText(lang string, p crier.Problem) (string, bool) {
	fp := formProblems(lang, []crier.Problem{p}, nil)
	for field, texts := range fp {
		return field + ": " + strings.Join(texts, " "), true
	}
	return "", false
}

// readSubscribersCSV reads the rows of a subscriber list
// (crier.ReadSubscriberCSV) as subscribers of town with f's consent.
func readSubscribersCSV(r io.Reader, f subscriberForm, town string) ([]*crier.Subscriber, []crier.Problem) {
	rows, problems := crier.ReadSubscriberCSV(r)
	subs := make([]*crier.Subscriber, len(rows))
	for i, row := range rows {
		subs[i] = f.subscriber(town, row.Email, row.Name)
	}
	return subs, problems
}

// exportSubscribers answers a town's list, or the addresses in one state,
// as a CSV download.
func (n *Newsroom) exportSubscribers(w http.ResponseWriter, r *http.Request, v *visit) {
	t := n.subscriberTown(w, r, v)
	if t == nil {
		return
	}
	state := crier.SubscriberState(r.URL.Query().Get("state"))
	if state != "" && !state.Valid() {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "no state %q", state))
		return
	}
	subs, err := n.subs.Subscribers(r.Context(), t.ID, state)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	name := t.ID + "-subscribers"
	if state != "" {
		name += "-" + string(state)
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"email", "name", "state", "source", "created_at"})
	for _, s := range subs {
		cw.Write([]string{s.Email, cell(s.Name), string(s.State), cell(s.Source), s.CreatedAt.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
	n.log.Info("newsroom: subscribers exported", "by", v.p.Name, "town", t.ID, "rows", len(subs))
}

// cell keeps a spreadsheet from taking a text for a formula (CSV
// injection): a text that starts like one gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
