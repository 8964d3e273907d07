package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/crierhq/crier"
)

// maxLoginBody bounds the body of POST /api/v1/login.
const maxLoginBody = 4 << 10

// Logins signs users in with their password and hands out and revokes
// their API tokens (access.Accounts).
type Logins interface {
	// Login returns the principal of the user name with password, for a
	// request from the client address addr; an unauthorized error that
	// does not say why, or one with code CodeTooManyRequests and a
	// RetryAfter over the login rate limit.
	Login(ctx context.Context, name, password, addr string) (*crier.Principal, error)
	// IssueToken makes an API token named name for p's user and returns
	// its secret.
	IssueToken(ctx context.Context, p *crier.Principal, name string) (string, *crier.APIToken, error)
	// RevokeToken revokes the token p signed in with; a conflict error
	// for the admin token.
	RevokeToken(ctx context.Context, p *crier.Principal) error
}

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// TokenName names the new token, such as the machine it is for.
	TokenName string `json:"token_name,omitempty"`
}

// LoginResult is the answer of POST /api/v1/login: a new API token for
// the user, shown this once.
type LoginResult struct {
	Token     string     `json:"token"`
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	User      string     `json:"user"`
	Role      crier.Role `json:"role"`
	Towns     []string   `json:"towns"`
	CreatedAt time.Time  `json:"created_at"`
}

// login answers POST /api/v1/login, the one API route without a bearer
// token: it checks a user's name and password (rate-limited per account
// and per client address) and answers 201 with a new API token; 401 for
// any wrong name or password, 429 with Retry-After over the limit, 501
// when the server keeps no accounts.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.logins == nil {
		s.error(w, r, crier.Errorf(CodeNotImplemented, "this server keeps no accounts"))
		return
	}
	var req LoginRequest
	if err := decodeJSON(w, r, &req, maxLoginBody, false); err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.logins.Login(r.Context(), req.Name, req.Password, s.peers.clientKey(r))
	if err != nil {
		var e *crier.Error
		if errors.As(err, &e) && e.Code == CodeTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
		s.error(w, r, err)
		return
	}
	if req.TokenName == "" {
		req.TokenName = "crier login"
	}
	secret, t, err := s.logins.IssueToken(r.Context(), p, req.TokenName)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "login", "user", p.Name, "token", t.ID)
	s.writeJSON(w, r, http.StatusCreated, LoginResult{Token: secret, ID: t.ID, Name: t.Name, User: p.Name,
		Role: p.Role, Towns: p.Towns, CreatedAt: t.CreatedAt})
}

// logout answers POST /api/v1/logout: the token of the request is revoked
// at once (204); 409 for the admin token.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if s.logins == nil {
		s.error(w, r, crier.Errorf(CodeNotImplemented, "this server keeps no accounts"))
		return
	}
	if err := s.logins.RevokeToken(r.Context(), crier.PrincipalFrom(r.Context())); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
