package newsroom

import "net/http"

// composeRoutes adds the pages for writing an announcement: the compose form, the live preview matrix of every town × channel, drafts, and publishing.
func (n *Newsroom) composeRoutes(mux *http.ServeMux) {}
