package newsroom

import "net/http"

// operateRoutes adds the pages for running crier: endpoints, schedules, service status, subscribers, captures, users and tokens.
func (n *Newsroom) operateRoutes(mux *http.ServeMux) {}
