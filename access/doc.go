// Package access signs people in: local accounts with a password
// (Accounts.Login), single sign-on through an OpenID Connect provider
// (OIDC), the rate limits of both (Limiter), and the API tokens a login
// hands out to the CLI. Who may do what once signed in is
// crier.Authorize's business; the sessions of the newsroom build on what
// this package returns.
package access
