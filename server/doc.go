// Package server is crier's HTTP API, its Prometheus metrics, and the API
// client that the command-line tool and the tests use.
//
// # Routes
//
// Every route under /api/v1 requires the header
// "Authorization: Bearer <token>" with the instance's admin token, which
// may do everything, or a user's API token (Options.Accounts), which may
// do what the user's role allows in the user's towns (crier.Authorize);
// 403 otherwise. Each route's action is in the one route table,
// Server.apiRoutes. Lists show a user only their towns' announcements,
// deliveries and captures, and an announcement for several towns shows
// a reader of some of them their part.
// Server.apiRoutes. The one exception, marked as such in the table, is
// POST /api/v1/login, which trades a name and a password for a token.
//
//	POST   /api/v1/announcements                  publish (Idempotency-Key honoured)
//	GET    /api/v1/announcements?limit=           newest first; ?town= &state= &mode= &before= &after=
//	GET    /api/v1/announcements/{id}             Status: counts per town × channel × state
//	GET    /api/v1/announcements/{id}/deliveries  ?town= &channel= &state= &after= &limit=
//	GET    /api/v1/announcements/{id}/events      the Status as server-sent events while it changes
//	POST   /api/v1/announcements/{id}/retry       {"states":["failed","unknown"]}
//	POST   /api/v1/announcements/{id}/update      the next revision: a correction
//	POST   /api/v1/announcements/{id}/cancel      {"reason":"..."}: the last revision
//	POST   /api/v1/schedules                      {"spec","until","expires_after","announcement"} or {"at","announcement"}
//	GET    /api/v1/schedules?state=
//	GET    /api/v1/schedules/{id}                 the schedule and its runs
//	PATCH  /api/v1/schedules/{id}
//	DELETE /api/v1/schedules/{id}                 it never fires again
//	POST   /api/v1/schedules/{id}/pause
//	POST   /api/v1/schedules/{id}/resume
//	GET    /api/v1/deliveries/{id}/attempts
//	POST   /api/v1/preview                        render and check; never commits; notes in the
//	                                              Accept-Language language (German by default);
//	                                              a shortened post has "omitted" and a
//	                                              message.shortened note naming its town
//	GET    /api/v1/subscribers?town=&state=
//	POST   /api/v1/subscribers                    {"subscribers":[...]}
//	DELETE /api/v1/subscribers/{town}/{email}
//	POST   /api/v1/subscribers/{town}/invite      a confirmation mail to every pending address
//	POST   /api/v1/subscribers/erase              {"email","town"} (with Options.Privacy): erase the
//	                                              address from one town, or every town without "town"
//	POST   /api/v1/subscribers/show               {"email"} (with Options.Privacy): all stored about it
//	POST   /api/v1/purge                          (with Options.Retention): the retention purge, now
//	GET    /api/v1/captures?announcement=&limit=  what the exercise sink received
//	GET    /api/v1/towns
//	GET    /api/v1/towns/{town}/status            the service status list the website shows
//	PUT    /api/v1/towns/{town}/status            {"status":[...]} replaces it; [] restores the configured one
//	GET    /api/v1/channels                       id and type only, never secrets
//	GET    /api/v1/endpoints                      every endpoint's breaker state, last error, latency_ms
//	GET    /api/v1/audit?since=&until=&actor=&action=&town=&after=&limit=
//	                                              (with Options.Audit, admin only): the audit trail, paged
//	POST   /api/v1/login                          no bearer token (with Options.Logins): {"name","password",
//	                                              "token_name"} → 201 with a new API token; 401 for any
//	                                              wrong name or password; 429 with Retry-After past the
//	                                              login rate limit (per account and per client address)
//	POST   /api/v1/logout                         revokes the request's own token (204); 409 for the admin token
//	GET    /healthz                               no auth: the process answers
//	GET    /readyz                                no auth: 200, or 503 with the reason
//	GET    /metrics                               no auth: Prometheus
//	GET    /unsubscribe/{token}                   no auth (with Options.Tokens): asks; POST unsubscribes
//	GET    /{town}/subscribe                      no auth (with Options.Tokens): the subscribe form;
//	                                              POST answers at once, then stores pending and
//	                                              queues a confirmation mail (Server.Wait)
//	GET    /confirm/{token}                       no auth (with Options.Tokens): asks; POST confirms
//
// POSTs to the public forms from another site's page get 403 (see
// net/http.CrossOriginProtection); a mail client's one-click unsubscribe
// sends no Origin and passes.
//
// # Errors
//
// Every API error has the body
//
//	{"error": {"code": "...", "message": "...", "details": [{"field": "...", "message": "..."}]}}
//
// with crier's stable codes: invalid (422, details list every problem),
// not_found (404), unauthorized (401), forbidden (403) and conflict (409).
// Anything else is 500 with code "internal" and the message "internal
// error"; the real error goes only to the log.
//
// Some codes belong to HTTP alone. A server without a service status
// store answers the status routes 501 with code "not_implemented". A request body that cannot be read as the
// expected JSON (malformed, an unknown field, a value of the wrong type,
// or trailing data) is 400 with code "bad_request": the request was not
// understood, so its content was never checked. A body larger than the
// route's limit (Options.MaxBody, Options.MaxImportBody) is 413 with code
// "too_large", and is not read further. A known path asked with the wrong
// method is 405 with code "method_not_allowed" and an Allow header. A body
// that was understood but whose content is wrong is 422 "invalid".
//
// The details of an answer are summarized (SummarizeProblems): a problem
// that many towns share is listed once with their number and names, and
// at most Options.MaxProblems are listed, so that an answer stays small
// whatever the request. A request whose client has gone is not answered;
// its context ends the rendering it started.
//
// A client over its connection cap (Options.MaxConnsPerClient) gets 429
// with code "too_many_requests" and a Retry-After header.
//
// The Client decodes these bodies back into *crier.Error, so crier.ErrorCode
// and crier.ErrorDetails work the same on both sides of the wire.
//
// # Connections
//
// HTTPServer builds the http.Server that crier serve runs: slow headers,
// slow bodies, slow readers and idle keep-alive connections are cut off
// by its timeouts, and one client address holds at most
// Options.MaxConnsPerClient connections; requests to the API with the
// admin token do not count. Behind the reverse proxies named in
// Options.TrustedProxies, the client is the address their forwarding
// header names, for the connection cap, the subscribe rate limit and the
// request log.
package server
