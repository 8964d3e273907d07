package server

import (
	"net/http"

	"github.com/crierhq/crier"
)

// route is one API route: its pattern, the action it needs (see
// crier.Authorize) and where the towns it concerns come from.
type route struct {
	pattern string
	action  crier.Action
	towns   townScope
	handler http.HandlerFunc
}

// townScope says which towns a route's action concerns.
type townScope int

const (
	// noTowns: the role's right to the action decides alone. Routes that
	// would show other towns' data need crier.ActionAdmin.
	noTowns townScope = iota
	// pathTown: the {town} of the path.
	pathTown
	// storedAnnouncement: every town of the stored announcement {id}
	// (groups and "all" expanded), or of its submission for approval when
	// nothing of it is published yet; an unknown id is left to the handler.
	storedAnnouncement
	// storedSchedule: every town of the stored schedule {id}'s
	// announcement; an unknown id is left to the handler.
	storedSchedule
	// bodyTowns: the handler checks the towns of the request body with
	// Server.authorize once it has decoded it.
	bodyTowns
)

// apiRoutes is the table of every API route. Lists that are not filtered
// by town yet need admin rights, so that nobody sees another town's
// announcements, subscribers or captures.
func (s *Server) apiRoutes() []route {
	routes := []route{
		{"POST /api/v1/announcements", crier.ActionPublish, bodyTowns, s.createAnnouncement},
		{"GET /api/v1/announcements", crier.ActionAdmin, noTowns, s.listAnnouncements},
		{"GET /api/v1/announcements/{id}", crier.ActionRead, storedAnnouncement, s.announcementStatus},
		{"GET /api/v1/announcements/{id}/deliveries", crier.ActionRead, storedAnnouncement, s.listDeliveries},
		{"POST /api/v1/announcements/{id}/retry", crier.ActionRetry, storedAnnouncement, s.retry},
		// The update's own towns are checked too (bodyTowns in the handler).
		{"POST /api/v1/announcements/{id}/update", crier.ActionUpdate, storedAnnouncement, s.updateAnnouncement},
		{"POST /api/v1/announcements/{id}/cancel", crier.ActionCancel, storedAnnouncement, s.cancelAnnouncement},
		{"GET /api/v1/deliveries/{id}/attempts", crier.ActionAdmin, noTowns, s.listAttempts},
		{"POST /api/v1/preview", crier.ActionPreview, bodyTowns, s.preview},
		{"GET /api/v1/subscribers", crier.ActionAdmin, noTowns, s.listSubscribers},
		{"POST /api/v1/subscribers", crier.ActionAdmin, noTowns, s.addSubscribers},
		{"DELETE /api/v1/subscribers/{town}/{email}", crier.ActionAdmin, noTowns, s.removeSubscriber},
		{"POST /api/v1/subscribers/{town}/invite", crier.ActionAdmin, noTowns, s.invite},
		{"POST /api/v1/subscribers/erase", crier.ActionAdmin, noTowns, s.eraseAddress},
		{"POST /api/v1/subscribers/show", crier.ActionAdmin, noTowns, s.showAddress},
		{"POST /api/v1/purge", crier.ActionAdmin, noTowns, s.purge},
		{"GET /api/v1/captures", crier.ActionAdmin, noTowns, s.listCaptures},
		{"GET /api/v1/towns", crier.ActionRead, noTowns, s.listTowns},
		{"GET /api/v1/channels", crier.ActionRead, noTowns, s.listChannels},
		{"GET /api/v1/endpoints", crier.ActionAdmin, noTowns, s.listEndpoints},
		{"POST /api/v1/endpoints/{channel}/{endpoint}/reset", crier.ActionAdmin, noTowns, s.resetEndpoint},
		{"GET /api/v1/towns/{town}/status", crier.ActionRead, pathTown, s.getServiceStatus},
		{"PUT /api/v1/towns/{town}/status", crier.ActionServiceStatus, pathTown, s.putServiceStatus},
	}
	routes = append(routes, s.scheduleRoutes()...)
	routes = append(routes, s.approvalRoutes()...)
	// Any principal may learn that a path is no route (404, 405).
	return append(routes, route{"/api/v1/", crier.ActionRead, noTowns, s.noRoute})
}

// authorizeRoute refuses a request whose principal may not do rt's action
// in the towns it concerns, with 403 naming them.
func (s *Server) authorizeRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := crier.PrincipalFrom(r.Context())
		err := crier.Authorize(p, rt.action, nil)
		if err == nil {
			switch rt.towns {
			case pathTown:
				err = crier.Authorize(p, rt.action, []string{r.PathValue("town")})
			case storedAnnouncement:
				err = s.authorizeAnnouncement(r, p, rt.action)
			case storedSchedule:
				err = s.authorizeSchedule(r, p, rt.action)
			}
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		rt.handler(w, r)
	})
}

// authorizeAnnouncement checks p's right to action in every town of the
// stored announcement {id}. An admin needs no lookup; an unknown id passes
// on to the handler, which answers 404.
func (s *Server) authorizeAnnouncement(r *http.Request, p *crier.Principal, action crier.Action) error {
	if p.Role == crier.RoleAdmin {
		return nil
	}
	a, err := s.store.Announcement(r.Context(), r.PathValue("id"))
	if crier.ErrorCode(err) == crier.ENOTFOUND {
		sub, err := s.submission(r, r.PathValue("id"))
		if sub == nil || err != nil {
			return err
		}
		a = sub.Announcement
	} else if err != nil {
		return err
	}
	return s.authorize(r, action, a.Towns)
}

// authorizeSchedule checks p's right to action in every town of the
// stored schedule {id}'s announcement, as authorizeAnnouncement does.
func (s *Server) authorizeSchedule(r *http.Request, p *crier.Principal, action crier.Action) error {
	if p.Role == crier.RoleAdmin || s.schedules == nil {
		return nil
	}
	sc, err := s.schedules.Store.Schedule(r.Context(), r.PathValue("id"))
	if crier.ErrorCode(err) == crier.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	var towns []string
	if sc.Announcement != nil {
		towns = sc.Announcement.Towns
	}
	return s.authorize(r, action, towns)
}

// authorize checks the request's principal's right to action in targets:
// town IDs, groups or "all", expanded first. Unknown names are left to the
// validation of the request, which reports them.
func (s *Server) authorize(r *http.Request, action crier.Action, targets []string) error {
	towns, _ := s.directory.Resolve(targets)
	return crier.Authorize(crier.PrincipalFrom(r.Context()), action, towns)
}
