package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Error codes that belong to HTTP alone; every other code is crier's.
const (
	// CodeBadRequest: the request body could not be read as the expected
	// JSON (HTTP 400).
	CodeBadRequest = "bad_request"
	// CodeMethodNotAllowed: the path exists, but not for this method (HTTP 405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeNotImplemented: this server does not offer the route, e.g. it
	// keeps no service status lists (HTTP 501).
	CodeNotImplemented = "not_implemented"
	// CodeTooManyRequests: the client holds too many connections to this
	// server (HTTP 429, with Retry-After).
	CodeTooManyRequests = "too_many_requests"
	// CodeTooLarge: the request body is larger than the route accepts
	// (HTTP 413).
	CodeTooLarge = "too_large"
)

// errorResponse is the body of every API error.
type errorResponse struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details []crier.Problem `json:"details,omitempty"`
}

// httpStatus maps an error code to its HTTP status.
func httpStatus(code string) int {
	switch code {
	case crier.EINVALID:
		return http.StatusUnprocessableEntity
	case crier.ENOTFOUND:
		return http.StatusNotFound
	case crier.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case crier.EFORBIDDEN:
		return http.StatusForbidden
	case crier.ECONFLICT:
		return http.StatusConflict
	case CodeBadRequest:
		return http.StatusBadRequest
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeNotImplemented:
		return http.StatusNotImplemented
	case CodeTooManyRequests:
		return http.StatusTooManyRequests
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// error is the one place where errors become HTTP answers. Errors with a
// code a client can act on are shown with their message and details;
// everything else is logged with its whole chain and answered with a
// generic 500.
//
// A request whose client has gone gets no answer: nobody reads it.
// Problems are summarized (SummarizeProblems) so that an answer stays
// small whatever the request.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		s.log.InfoContext(r.Context(), "client has gone", "method", r.Method, "path", logPath(r))
		return
	}
	code := crier.ErrorCode(err)
	status := httpStatus(code)
	body := errorBody{Code: code, Message: crier.ErrorMessage(err),
		Details: s.summarize(r, localizeProblems(crier.ErrorDetails(err), locale.Accept(r.Header.Get("Accept-Language"))))}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed",
			"method", r.Method, "path", logPath(r), "err", err)
		body = errorBody{Code: crier.EINTERNAL, Message: "internal error"}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="crier"`)
	}
	s.writeJSON(w, r, status, errorResponse{Error: body})
}

// localizeProblems returns a copy of ps with each problem's text in lang
// (German unless the request asks for English); Code and Args stay for
// programs, and a problem without a code keeps its English text.
func localizeProblems(ps []crier.Problem, lang string) []crier.Problem {
	if len(ps) == 0 {
		return ps
	}
	out := make([]crier.Problem, len(ps))
	for i, p := range ps {
		p.Message, _ = locale.Problem(lang, p.Code, p.Args, p.Message)
		out[i] = p
	}
	return out
}

// writeJSON answers with v as JSON. It encodes before writing the header,
// so that an encoding failure still becomes a proper 500.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		if _, isError := v.(errorResponse); isError {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.error(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a failed write means the client has gone
}

// decodeJSON reads the request body into v strictly: one JSON value, no
// unknown fields, at most limit bytes. When optional is true an empty body
// leaves v as it is. Errors have CodeBadRequest.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64, optional bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		return bodyError(err, limit)
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return bodyError(err, limit)
	}
	return badRequest(crier.Problemf("", "request.trailing", "request body holds more than one JSON value"))
}

// bodyError explains why a request body could not be decoded.
func bodyError(err error, limit int64) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		p := crier.Problemf("", "request.too_large", "request body is larger than the limit of %v", crier.SizeText(limit))
		return &crier.Error{Code: CodeTooLarge, Message: "cannot read request body: " + p.Message,
			Details: []crier.Problem{p}}
	case errors.Is(err, io.EOF):
		return badRequest(crier.Problemf("", "request.empty", "request body is empty"))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(crier.Problemf("", "request.truncated", "request body ends in the middle of a JSON value"))
	case errors.As(err, &syntax):
		return badRequest(crier.Problemf("", "request.malformed", "malformed JSON at byte %v: %v",
			syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.As(err, &wrongType):
		// encoding/json names a field promoted from an embedded struct with
		// the struct's Go name first; a publish_at request embeds the
		// announcement, whose fields the client knows without it.
		field := strings.TrimPrefix(wrongType.Field, "Announcement.")
		return badRequest(crier.Problemf(field, "request.wrong_type", "expects %v, not a JSON %v", wrongType.Type, wrongType.Value))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return badRequest(crier.Problemf(strings.Trim(name, `"`), "request.unknown_field", "unknown field"))
	}
	// Anything else encoding/json says has no translation.
	return badRequest(crier.Problem{Message: msg})
}

// badRequest is a CodeBadRequest error about the problem p with one field
// of the body, or with the body as a whole when p.Field is empty.
func badRequest(p crier.Problem) error {
	msg := "cannot read request body: " + p.Message
	if p.Field != "" {
		msg = fmt.Sprintf("cannot read request body: %s: %s", p.Field, p.Message)
	}
	return &crier.Error{
		Code:    CodeBadRequest,
		Message: msg,
		Details: []crier.Problem{p},
	}
}

// query reads URL query parameters and collects every problem with them.
type query struct {
	r        *http.Request
	problems []crier.Problem
}

func (q *query) str(name string) string { return q.r.URL.Query().Get(name) }

// add records a problem with a parameter.
func (q *query) add(p crier.Problem) { q.problems = append(q.problems, p) }

// limit reads a page size: DefaultPage when absent, at most MaxPage.
func (q *query) limit() int {
	s := q.str("limit")
	if s == "" {
		return DefaultPage
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		q.add(crier.Problemf("limit", "request.not_positive", "%q is not a positive whole number", s))
		return DefaultPage
	}
	return min(n, MaxPage)
}

// id reads a non-negative delivery id; 0 when absent.
func (q *query) id(name string) int64 {
	s := q.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		q.add(crier.Problemf(name, "request.delivery_id", "%q is not a delivery id", s))
		return 0
	}
	return n
}

// err returns an EINVALID error listing every problem, or nil.
func (q *query) err() error {
	return crier.Invalid("invalid query parameters", q.problems)
}
