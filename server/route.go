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
	// principalTowns: a list that shows only the principal's towns; its
	// handler passes Server.readScope to the store query.
	principalTowns
	// someStoredTown: at least one town of the stored announcement {id},
	// or of its submission for approval when nothing of it is published
	// yet; the handler shows only the part of the principal's towns.
	someStoredTown
	// storedDelivery: the town of the stored delivery {id}; an unknown id
	// is left to the handler.
	storedDelivery
	// public: the route takes no bearer token and acts for nobody; it
	// signs the request in itself, with its own rate limit and body bound
	// (POST /api/v1/login). Its action is not checked.
	public
)

// lastScope is the last townScope, for the test of the route table.
const lastScope = public

// apiRoutes is the table of every API route. Lists show each principal
// only their towns' announcements, schedules, deliveries and captures; an
// announcement for several towns shows a reader of some of them their
// part. Subscriber lists, data protection requests and endpoints need
// admin rights.
func (s *Server) apiRoutes() []route {
	routes := []route{
		{"POST /api/v1/announcements", crier.ActionPublish, bodyTowns, s.createAnnouncement},
		{"GET /api/v1/announcements", crier.ActionRead, principalTowns, s.listAnnouncements},
		{"GET /api/v1/announcements/{id}", crier.ActionRead, someStoredTown, s.announcementStatus},
		{"GET /api/v1/announcements/{id}/deliveries", crier.ActionRead, someStoredTown, s.listDeliveries},
		{"GET /api/v1/announcements/{id}/events", crier.ActionRead, someStoredTown, s.announcementEvents},
		{"POST /api/v1/announcements/{id}/retry", crier.ActionRetry, storedAnnouncement, s.retry},
		// The update's own towns are checked too (bodyTowns in the handler).
		{"POST /api/v1/announcements/{id}/update", crier.ActionUpdate, storedAnnouncement, s.updateAnnouncement},
		{"POST /api/v1/announcements/{id}/cancel", crier.ActionCancel, storedAnnouncement, s.cancelAnnouncement},
		{"GET /api/v1/deliveries/{id}/attempts", crier.ActionRead, storedDelivery, s.listAttempts},
		{"POST /api/v1/preview", crier.ActionPreview, bodyTowns, s.preview},
		{"GET /api/v1/subscribers", crier.ActionAdmin, noTowns, s.listSubscribers},
		{"POST /api/v1/subscribers", crier.ActionAdmin, noTowns, s.addSubscribers},
		{"DELETE /api/v1/subscribers/{town}/{email}", crier.ActionAdmin, noTowns, s.removeSubscriber},
		{"POST /api/v1/subscribers/{town}/invite", crier.ActionAdmin, noTowns, s.invite},
		{"POST /api/v1/subscribers/erase", crier.ActionAdmin, noTowns, s.eraseAddress},
		{"POST /api/v1/subscribers/show", crier.ActionAdmin, noTowns, s.showAddress},
		{"POST /api/v1/purge", crier.ActionAdmin, noTowns, s.purge},
		{"GET /api/v1/captures", crier.ActionRead, principalTowns, s.listCaptures},
		{"GET /api/v1/towns", crier.ActionRead, noTowns, s.listTowns},
		{"GET /api/v1/channels", crier.ActionRead, noTowns, s.listChannels},
		{"GET /api/v1/endpoints", crier.ActionAdmin, noTowns, s.listEndpoints},
		{"POST /api/v1/endpoints/{channel}/{endpoint}/reset", crier.ActionAdmin, noTowns, s.resetEndpoint},
		{"GET /api/v1/towns/{town}/status", crier.ActionRead, pathTown, s.getServiceStatus},
		{"PUT /api/v1/towns/{town}/status", crier.ActionServiceStatus, pathTown, s.putServiceStatus},
		{"GET /api/v1/audit", crier.ActionAdmin, noTowns, s.listAudit},
	}
	routes = append(routes, s.scheduleRoutes()...)
	routes = append(routes,
		// The one route without a bearer token: name and password get one.
		route{"POST /api/v1/login", crier.ActionRead, public, s.login},
		// Every signed-in principal may revoke the token it uses.
		route{"POST /api/v1/logout", crier.ActionRead, noTowns, s.logout})
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
			case someStoredTown:
				err = s.authorizeSomeTown(r, p, rt.action)
			case storedDelivery:
				err = s.authorizeDelivery(r, p, rt.action)
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
	a, err := s.storedOrSubmitted(r)
	if a == nil || err != nil {
		return err
	}
	return s.authorize(r, action, a.Towns)
}

// storedOrSubmitted returns the stored announcement {id}, or what was
// submitted for approval under {id} while nothing of it is published, or
// nil when there is neither.
func (s *Server) storedOrSubmitted(r *http.Request) (*crier.Announcement, error) {
	a, err := s.store.Announcement(r.Context(), r.PathValue("id"))
	if crier.ErrorCode(err) != crier.ENOTFOUND {
		return a, err
	}
	sub, err := s.submission(r, r.PathValue("id"))
	if sub == nil || err != nil {
		return nil, err
	}
	return sub.Announcement, nil
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

// authorizeSomeTown checks p's right to action in at least one town of
// the stored announcement {id}: a viewer of soest may read the soest part
// of a notice for soest and werl. Without a right in any, the error names
// them all. An admin needs no lookup; an unknown id passes on to the
// handler, which answers 404.
func (s *Server) authorizeSomeTown(r *http.Request, p *crier.Principal, action crier.Action) error {
	if p.Role == crier.RoleAdmin {
		return nil
	}
	a, err := s.storedOrSubmitted(r)
	if a == nil || err != nil {
		return err
	}
	towns, _ := s.directory.Resolve(a.Towns)
	for _, t := range towns {
		if crier.Authorize(p, action, []string{t}) == nil {
			return nil
		}
	}
	if err := crier.Authorize(p, action, towns); err != nil {
		return err
	}
	// None of its targets is configured any more.
	return crier.Errorf(crier.EFORBIDDEN, "%s (role %s) may not %s announcement %s", p.Name, p.Role, action, a.ID)
}

// authorizeDelivery checks p's right to action in the town of the stored
// delivery {id}, as authorizeAnnouncement does.
func (s *Server) authorizeDelivery(r *http.Request, p *crier.Principal, action crier.Action) error {
	if p.Role == crier.RoleAdmin {
		return nil
	}
	d, err := s.delivery(r)
	if crier.ErrorCode(err) == crier.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	return crier.Authorize(p, action, []string{d.Town})
}

// readScope returns the towns whose announcements, deliveries and
// captures the request's principal may read, for a list's store query:
// nil for an admin (every town, also those no longer configured), and
// otherwise the configured towns in which crier.Authorize lets them read.
func (s *Server) readScope(r *http.Request) []string {
	p := crier.PrincipalFrom(r.Context())
	if p != nil && p.Role == crier.RoleAdmin {
		return nil
	}
	towns := []string{}
	for _, t := range s.directory.Towns() {
		if crier.Authorize(p, crier.ActionRead, []string{t.ID}) == nil {
			towns = append(towns, t.ID)
		}
	}
	return towns
}

// authorizeTownParam checks the principal's right to read the town a
// list's town= parameter asks for, so that asking for another town's is
// refused rather than answered with an empty list.
func (s *Server) authorizeTownParam(r *http.Request, town string) error {
	if town == "" {
		return nil
	}
	return crier.Authorize(crier.PrincipalFrom(r.Context()), crier.ActionRead, []string{town})
}
