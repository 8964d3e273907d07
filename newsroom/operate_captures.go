package newsroom

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/crierhq/crier"
)

// Bounds of the captures page.
const (
	capturesPerPage = 20
	// maxShown bounds each text of a capture on the page; the API has the
	// whole of it.
	maxShown = 20000
)

// captureRoutes adds what exercise mode captured in a person's towns.
func (n *Newsroom) captureRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/operate/captures", n.signedIn(n.listCaptures))
}

// captureView is one capture as the page shows it.
type captureView struct {
	*crier.Capture
	// Recipient is shown to admins only: it is a subscriber's address.
	Recipient string
	// Body is the payload, or the text, cut to maxShown; HTML likewise.
	Body, HTML string
}

type capturesData struct {
	Captures []captureView
	// Next is the before parameter of the next page; 0 on the last.
	Next int64
	// Later is set on any page but the first.
	Later bool
}

func (n *Newsroom) listCaptures(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := crier.Authorize(v.p, crier.ActionRead, nil); err != nil {
		n.fail(w, r, v, err)
		return
	}
	if n.captures == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server keeps no captures"))
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	admin := crier.Authorize(v.p, crier.ActionAdmin, nil) == nil
	var towns []string // every town's, for an admin
	if !admin {
		towns = []string{}
		for _, t := range n.townsAllowed(v.p, crier.ActionRead) {
			towns = append(towns, t.ID)
		}
	}
	// Mails to one address are an admin's to read, as the subscriber
	// lists: they hold the address and its unsubscribe link.
	cs, err := n.captures.FindCaptures(r.Context(), crier.CaptureFilter{Towns: towns, Personal: admin, Newest: true,
		Before: max(before, 0), Limit: capturesPerPage + 1})
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	d := &capturesData{Later: before > 0}
	if len(cs) > capturesPerPage {
		cs = cs[:capturesPerPage]
		d.Next = cs[len(cs)-1].ID
	}
	for _, c := range cs {
		view := captureView{Capture: c, Body: cutShown(c.Text), HTML: cutShown(c.HTML)}
		if len(c.Payload) > 0 {
			view.Body = cutShown(string(c.Payload))
		}
		if admin {
			view.Recipient = c.Recipient
		}
		d.Captures = append(d.Captures, view)
	}
	p := v.page("operate")
	p.Title = p.T("operate.captures.title")
	p.Data = d
	n.render(w, http.StatusOK, "operate_captures", p)
}

// cutShown returns s, or its first maxShown characters and an ellipsis.
func cutShown(s string) string {
	if utf8.RuneCountInString(s) <= maxShown {
		return s
	}
	return string([]rune(s)[:maxShown]) + " …"
}
