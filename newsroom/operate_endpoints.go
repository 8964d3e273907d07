package newsroom

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// endpointRoutes adds the endpoints' health. Everyone signed in may read
// it: in an outage an editor needs to know whether Mastodon can be
// reached, and nothing in it is secret. Only admins reset an endpoint, as
// in the API.
func (n *Newsroom) endpointRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/operate/endpoints", n.signedIn(n.endpoints))
	mux.Handle("POST /admin/operate/endpoints/{channel}/{endpoint}/reset", n.signedIn(n.adminOnly(n.resetEndpoint)))
}

// endpointRow is one endpoint's health as the page shows it.
type endpointRow struct {
	netpath.EndpointHealth
	// State is the state in words; Healthy marks it as usable, besides
	// the words.
	State   string
	Healthy bool
	Latency string
	// Reset is the path that resets the endpoint.
	Reset string
}

type endpointsData struct {
	Rows []endpointRow
	// CanReset is set for admins.
	CanReset bool
	Done     string
	// Checked is when the health was read.
	Checked time.Time
}

func (n *Newsroom) endpoints(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := crier.Authorize(v.p, crier.ActionRead, nil); err != nil {
		n.fail(w, r, v, err)
		return
	}
	p := v.page("operate")
	p.Title = p.T("operate.endpoints.title")
	d := &endpointsData{CanReset: crier.Authorize(v.p, crier.ActionAdmin, nil) == nil, Done: doneNote(r, p),
		Checked: n.clock.Now()}
	if n.health != nil {
		for _, h := range n.health() {
			row := endpointRow{EndpointHealth: h, Healthy: h.State == netpath.StateClosed && h.Refused == "",
				Reset: "/admin/operate/endpoints/" + url.PathEscape(h.Channel) + "/" + url.PathEscape(h.Endpoint) + "/reset"}
			switch {
			case h.State == netpath.StateGone:
				row.State = p.T("endpoints.gone")
			case h.Refused != "":
				row.State = p.T("check.refused")
			case h.State == netpath.StateOpen:
				row.State = p.T("endpoints.open")
			case h.State == netpath.StateHalfOpen:
				row.State = p.T("endpoints.half_open")
			default:
				row.State = p.T("endpoints.closed")
			}
			if h.Latency > 0 {
				row.Latency = fmt.Sprintf("%.0f ms", float64(h.Latency)/float64(time.Millisecond))
			}
			d.Rows = append(d.Rows, row)
		}
	}
	p.Data = d
	n.render(w, http.StatusOK, "operate_endpoints", p)
}

// resetEndpoint clears what keeps an endpoint from taking sends.
func (n *Newsroom) resetEndpoint(w http.ResponseWriter, r *http.Request, v *visit) {
	if n.reset == nil {
		n.fail(w, r, v, crier.Errorf(crier.ENOTFOUND, "this server has no endpoints"))
		return
	}
	channel, endpoint := r.PathValue("channel"), r.PathValue("endpoint")
	if err := n.reset(channel, endpoint); err != nil {
		n.fail(w, r, v, err)
		return
	}
	n.log.Info("newsroom: endpoint reset", "by", v.p.Name, "channel", channel, "endpoint", endpoint)
	afterPost(w, r, "/admin/operate/endpoints?done=endpoint_reset&what="+url.QueryEscape(channel+" / "+endpoint))
}
