// Package newsroom is crier's web interface for the people who publish:
// press officers, mayors and the operator, under /admin/ of crier serve.
//
// Every page is rendered on the server with html/template and works
// without JavaScript; a little script, served from the same origin, only
// enhances (a live preview while typing, live progress). Pages speak German
// by default and English when the browser asks for it, through package
// locale.
//
// A person signs in with their account's password (or single sign-on) and
// gets a session: a random secret in an HttpOnly, SameSite=Lax cookie,
// Secure when the public URL is https, of which the database keeps only
// the SHA-256 hash. A session ends after an idle time and an absolute
// lifetime, and a new one is made at every sign-in. Every state-changing
// request must carry the session's CSRF token (an HMAC of the secret) and
// come from the same origin. Pages are sent with a strict
// Content-Security-Policy without inline script and may not be framed.
//
// What a person may do is decided by crier.Authorize, the same function
// the API uses, with the person's role and towns.
package newsroom
