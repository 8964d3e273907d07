// Package slackfake runs a fake of the Slack Web API and of an incoming
// webhook in the test process, on an httptest server. It reads requests as
// Slack does (form or JSON bodies, the token in the form's "token" field or
// in an "Authorization: Bearer" header), checks tokens, channels and Block
// Kit limits, answers in Slack's shape, records what was posted, updated
// and deleted, and answers as the test says: any status, a Slack error
// code, never, or with a connection lost in the middle of the answer.
//
// It serves auth.test, chat.postMessage, chat.update and chat.delete under
// URL() and one incoming webhook at WebhookURL(). The channel tests of package slack
// and crier's end-to-end tests use the same fake, so that both test
// against one model of Slack.
//
// Slack has no idempotency key. A message's key, as Accepted reports it,
// is the "key" field of the message metadata's event_payload for
// chat.postMessage, and otherwise the block_id of the message's first
// block without its "crier:" prefix (incoming webhooks carry no
// metadata).
package slackfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
)

// KeyPrefix starts the block_id that carries a message's key in its first
// block.
const KeyPrefix = "crier:"

// Slack's limits, as the fake enforces them.
const (
	maxBlocks    = 50
	maxHeader    = 150
	maxSection   = 3000
	maxContext   = 10
	maxBlockID   = 255
	maxText      = 40000
	webhookTeam  = "T0CRIER00"
	webhookBot   = "B0CRIER00"
	botID        = "B0CRIERBOT"
	webhookLabel = "#incoming-webhook"
)

// The workspace and bot user auth.test names for every accepted token.
const (
	TeamID   = webhookTeam
	TeamName = "Crier Test"
	UserID   = "U0CRIERBOT"
	UserName = "crier"
)

// Options configure a Server.
type Options struct {
	// Tokens lists the accepted bot tokens; empty accepts any token that
	// starts with "xoxb-".
	Tokens []string
	// Channels lists the known channels, by name ("#krisenstab" or
	// "krisenstab") or id ("C0123ABCD"); empty knows every channel, giving
	// each new name an id on first use. The incoming webhook posts to the
	// first one.
	Channels []string
	// Clock supplies message timestamps; default crier.SystemClock.
	Clock crier.Clock
}

// Message is one message posted to the fake, with the updates and the
// deletion applied to it.
type Message struct {
	// Channel is the id of the channel it is in.
	Channel string
	// TS is its timestamp, Slack's id of a message within a channel.
	TS string
	// ThreadTS is the timestamp of the message it answers, if it is a
	// reply in a thread.
	ThreadTS string
	// Text is the current top-level text (the notification fallback).
	Text string
	// Blocks is the current Block Kit array as posted.
	Blocks json.RawMessage
	// Token is the token that posted it; empty for webhook posts.
	Token string
	// Webhook is set for messages posted through the incoming webhook.
	Webhook bool
	// Key is the key the message carries (see the package doc).
	Key string
	// Edits lists the texts of the chat.update calls applied, in order.
	Edits []string
	// Deleted is set once chat.delete removed it.
	Deleted bool
}

// Request is one request the fake got.
type Request struct {
	// Path is the URL path: "/api/chat.postMessage" or the webhook's.
	Path string
	// API is the Web API method, e.g. "chat.postMessage"; empty for
	// webhook requests.
	API    string
	Header http.Header
	Body   []byte
	// Token is the token read from the form or the Authorization header.
	Token string
	// Webhook is set for requests to the incoming webhook.
	Webhook bool
}

// Server is a fake Slack on an httptest server. Its methods are safe for
// concurrent use.
type Server struct {
	tokens  []string
	clock   crier.Clock
	srv     *httptest.Server
	hook    string // the webhook's path
	release chan struct{}

	mu       sync.Mutex
	answer   answer
	ids      map[string]string // channel name → id
	known    map[string]bool   // channel ids
	strict   bool              // only the listed channels exist
	revoked  map[string]bool   // tokens
	hookChan string            // the webhook's channel id
	seq      int
	messages []*Message
	requests []*Request
	accepted []string
}

// answer is how the fake treats the following requests.
type answer struct {
	kind       answerKind
	status     int
	header     http.Header
	slackError string
}

type answerKind int

const (
	normal answerKind = iota
	respond
	hang
	drop
)

var (
	_ channeltest.Remote = (*Server)(nil)
	_ http.Handler       = (*Server)(nil)
)

// NewServer starts a fake Slack. It shuts down when tb and its subtests
// have finished: hanging requests end without an answer, and the cleanup
// returns only after every request has been handled.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{
		tokens:  slices.Clone(opts.Tokens),
		clock:   opts.Clock,
		hook:    "/services/" + webhookTeam + "/" + webhookBot + "/" + randomHex(tb, 12),
		release: make(chan struct{}),
		ids:     map[string]string{},
		known:   map[string]bool{},
		revoked: map[string]bool{},
		strict:  len(opts.Channels) > 0,
	}
	if s.clock == nil {
		s.clock = crier.SystemClock{}
	}
	for _, c := range opts.Channels {
		s.add(c)
	}
	if len(opts.Channels) > 0 {
		s.hookChan, _ = s.resolve(opts.Channels[0], true)
	} else {
		s.hookChan = s.add(webhookLabel)
	}
	s.srv = httptest.NewServer(s)
	tb.Cleanup(func() {
		close(s.release)
		s.srv.Close()
	})
	return s
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("slackfake: %v", err)
	}
	return hex.EncodeToString(b)
}

// URL returns the base of the fake Web API, ending with "/", for
// slack.OptionAPIURL.
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// WebhookURL returns the URL of the fake's incoming webhook. Other paths
// under /services/ answer 404 no_service, as Slack does for a removed
// webhook.
func (s *Server) WebhookURL() string { return s.srv.URL + s.hook }

// ChannelID returns the id of a channel given by name or id, and whether
// the fake knows it.
func (s *Server) ChannelID(channel string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolve(channel, true)
}

// Messages returns copies of the messages posted so far, in order, with
// updates and deletions applied.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Message, len(s.messages))
	for i, m := range s.messages {
		c := *m
		c.Blocks = slices.Clone(m.Blocks)
		c.Edits = slices.Clone(m.Edits)
		out[i] = &c
	}
	return out
}

// Requests returns every request the fake got, in the order their bodies
// had been read.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Accepted returns the keys of the messages posted so far (see the package
// doc), in order, including messages deleted later. Slack does not
// deduplicate: a key posted twice is listed twice.
func (s *Server) Accepted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accepted)
}

// Respond makes the fake answer the following requests with status and
// header instead of handling them; nothing is posted.
//
// For the Web API, status 200 answers {"ok":false,"error":slackError};
// 429 answers {"ok":false,"error":"ratelimited"} unless slackError says
// otherwise; other statuses answer slackError as a JSON error when it is
// set and an HTML page otherwise, as Slack's front ends do. For the
// webhook, the answer's body is slackError in plain text, and status 200
// with a slackError picks the status Slack gives that error (404 for
// channel_not_found and no_service, 410 for channel_is_archived, 403 for
// action_prohibited, 400 otherwise).
//
// Respond(0, nil, "") goes back to handling requests normally.
func (s *Server) Respond(status int, header http.Header, slackError string) {
	if status == 0 {
		s.set(answer{kind: normal})
		return
	}
	if status < 200 || status > 599 {
		panic(fmt.Sprintf("slackfake: Respond with status %d, want 0 or 200–599", status))
	}
	s.set(answer{kind: respond, status: status, header: header.Clone(), slackError: slackError})
}

// Hang makes the fake read each following request's body and never
// answer: the request ends when the client gives up, or when the fake
// shuts down, which closes the connection without an answer. Nothing is
// posted.
func (s *Server) Hang() { s.set(answer{kind: hang}) }

// Drop makes the fake read each following request's body, write the start
// of an answer and close the connection. Nothing is posted.
func (s *Server) Drop() { s.set(answer{kind: drop}) }

// Accept makes the fake handle the following requests normally.
func (s *Server) Accept() { s.Respond(0, nil, "") }

// Set makes the fake answer as b says, for the conformance suite of package
// channeltest: Reject is channel_not_found (200 for the Web API, 404 for
// the webhook), Unavailable 503, RateLimited 429 with Retry-After in whole
// seconds.
func (s *Server) Set(b channeltest.Behavior) {
	switch b.Kind {
	case channeltest.Accept:
		s.Accept()
	case channeltest.Reject:
		s.Respond(http.StatusOK, nil, "channel_not_found")
	case channeltest.Unavailable:
		s.Respond(http.StatusServiceUnavailable, nil, "")
	case channeltest.RateLimited:
		s.Respond(http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(int(b.RetryAfter / time.Second))}}, "")
	case channeltest.Hang:
		s.Hang()
	case channeltest.Drop:
		s.Drop()
	default:
		panic(fmt.Sprintf("slackfake: unknown behavior %v", b.Kind))
	}
}

// Revoke revokes token: every later call with it is answered
// {"ok":false,"error":"token_revoked"}, as when an admin removes the app.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[token] = true
}

func (s *Server) set(a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = a
}

// ServeHTTP handles one Web API or webhook request.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the client went away
	}
	q := &Request{Path: req.URL.Path, Header: req.Header.Clone(), Body: body}
	api, isAPI := strings.CutPrefix(req.URL.Path, "/api/")
	switch {
	case isAPI:
		q.API = api
	case strings.HasPrefix(req.URL.Path, "/services/"):
		q.Webhook = true
	default:
		http.NotFound(w, req)
		return
	}
	var p params
	if !q.Webhook {
		p, err = parseParams(req, body)
		q.Token = p.token(req)
	}

	s.mu.Lock()
	s.requests = append(s.requests, q)
	a := s.answer
	s.mu.Unlock()

	switch a.kind {
	case hang:
		select {
		case <-req.Context().Done():
		case <-s.release:
			// Returning would send an empty 200; no answer is the hang's end.
			panic(http.ErrAbortHandler)
		}
		return
	case drop:
		dropResponse(w)
		return
	case respond:
		s.respond(w, a, q.Webhook)
		return
	}
	if q.Webhook {
		s.serveWebhook(w, q, body)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusOK, errorBody("invalid_form_data"))
		return
	}
	switch api {
	case "auth.test":
		s.authTest(w, q)
	case "chat.postMessage":
		s.postMessage(w, q, p)
	case "chat.update":
		s.update(w, q, p)
	case "chat.delete":
		s.delete(w, q, p)
	default:
		writeJSON(w, http.StatusOK, errorBody("unknown_method"))
	}
}

// respond writes an answer set with Respond.
func (s *Server) respond(w http.ResponseWriter, a answer, webhook bool) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if webhook {
		status, body := a.status, a.slackError
		if status == http.StatusOK && body != "" {
			status = webhookStatus(body)
		}
		if body == "" {
			body = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		return
	}
	code := a.slackError
	if code == "" && a.status == http.StatusTooManyRequests {
		code = "ratelimited"
	}
	if code == "" && a.status != http.StatusOK {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", a.status, http.StatusText(a.status))
		return
	}
	writeJSON(w, a.status, errorBody(code))
}

// webhookStatus returns the status Slack answers a webhook error code with.
func webhookStatus(code string) int {
	switch code {
	case "channel_not_found", "no_service", "no_team":
		return http.StatusNotFound
	case "channel_is_archived":
		return http.StatusGone
	case "action_prohibited", "posting_to_general_channel_denied", "team_disabled":
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// params are the fields of a Web API request, from a form or a JSON body.
type params struct {
	form   url.Values
	fields map[string]json.RawMessage // JSON bodies
}

func parseParams(req *http.Request, body []byte) (params, error) {
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if ct == "application/json" {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(body, &f); err != nil {
			return params{}, err
		}
		return params{fields: f}, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params{}, err
	}
	for k, v := range req.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	return params{form: form}, nil
}

// token returns the caller's token as Slack reads it: the Authorization
// header first, then the form's token field. JSON bodies must use the
// header.
func (p params) token(req *http.Request) string {
	if t, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return p.form.Get("token")
}

// str returns a string field.
func (p params) str(name string) string {
	if p.fields == nil {
		return p.form.Get(name)
	}
	var s string
	if json.Unmarshal(p.fields[name], &s) == nil {
		return s
	}
	return ""
}

// raw returns a JSON-valued field (blocks, metadata): a JSON string in a
// form, the value itself in a JSON body.
func (p params) raw(name string) json.RawMessage {
	if p.fields == nil {
		if v := p.form.Get(name); v != "" {
			return json.RawMessage(v)
		}
		return nil
	}
	v := p.fields[name]
	var s string
	if json.Unmarshal(v, &s) == nil {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	return v
}

// authorize checks the token and returns Slack's error code, or "".
func (s *Server) authorize(token string) string {
	s.mu.Lock()
	revoked := s.revoked[token]
	s.mu.Unlock()
	switch {
	case token == "":
		return "not_authed"
	case revoked:
		return "token_revoked"
	case len(s.tokens) == 0 && strings.HasPrefix(token, "xoxb-"):
		return ""
	case slices.Contains(s.tokens, token):
		return ""
	}
	return "invalid_auth"
}

// authTest names the token's workspace and bot user, as auth.test does.
func (s *Server) authTest(w http.ResponseWriter, q *Request) {
	if code := s.authorize(q.Token); code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "url": "https://crier-test.slack.com/",
		"team": TeamName, "user": UserName, "team_id": TeamID, "user_id": UserID,
		"bot_id": botID, "is_enterprise_install": false,
	})
}

func (s *Server) postMessage(w http.ResponseWriter, q *Request, p params) {
	if code := s.authorize(q.Token); code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	text := p.str("text")
	blocks := p.raw("blocks")
	key, code := messageKey(text, blocks, p.raw("metadata"))
	if code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.resolve(p.str("channel"), true)
	if !ok {
		writeJSON(w, http.StatusOK, errorBody("channel_not_found"))
		return
	}
	m := &Message{Channel: ch, Text: text, Blocks: blocks, Token: q.Token, Key: key}
	// A reply to a message that is gone, or that never was, is posted
	// outside any thread, as Slack does.
	if parent := s.find(ch, p.str("thread_ts")); parent != nil && !parent.Deleted {
		m.ThreadTS = parent.TS
		if parent.ThreadTS != "" {
			m.ThreadTS = parent.ThreadTS
		}
	}
	s.store(m)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "channel": m.Channel, "ts": m.TS,
		"message": messageBody(m),
	})
}

func (s *Server) update(w http.ResponseWriter, q *Request, p params) {
	if code := s.authorize(q.Token); code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	text := p.str("text")
	blocks := p.raw("blocks")
	key, code := messageKey(text, blocks, p.raw("metadata"))
	if code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, code := s.target(p, q.Token, "cant_update_message")
	if code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	m.Text, m.Blocks = text, blocks
	if key != "" {
		m.Key = key
	}
	m.Edits = append(m.Edits, text)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text,
		"message": messageBody(m),
	})
}

func (s *Server) delete(w http.ResponseWriter, q *Request, p params) {
	if code := s.authorize(q.Token); code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, code := s.target(p, q.Token, "cant_delete_message")
	if code != "" {
		writeJSON(w, http.StatusOK, errorBody(code))
		return
	}
	m.Deleted = true
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
}

// target finds the message chat.update and chat.delete act on: channel
// must be an id, as Slack requires there. Messages of the webhook or of
// another token cannot be changed with this token.
func (s *Server) target(p params, token, cant string) (*Message, string) {
	ch, ok := s.resolve(p.str("channel"), false)
	if !ok {
		return nil, "channel_not_found"
	}
	m := s.find(ch, p.str("ts"))
	switch {
	case m == nil || m.Deleted:
		return nil, "message_not_found"
	case m.Webhook || m.Token != token:
		return nil, cant
	}
	return m, ""
}

func (s *Server) serveWebhook(w http.ResponseWriter, q *Request, body []byte) {
	w.Header().Set("Content-Type", "text/html")
	if q.Path != s.hook {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no_service")
		return
	}
	var p struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "invalid_payload")
		return
	}
	if string(p.Blocks) == "null" {
		p.Blocks = nil
	}
	key, code := messageKey(p.Text, p.Blocks, nil)
	if code != "" {
		if code == "invalid_blocks_format" {
			code = "invalid_blocks"
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, code)
		return
	}
	s.mu.Lock()
	s.store(&Message{Channel: s.hookChan, Text: p.Text, Blocks: p.Blocks, Webhook: true, Key: key})
	s.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// store gives m a timestamp and records it. s.mu is held.
func (s *Server) store(m *Message) {
	s.seq++
	m.TS = fmt.Sprintf("%d.%06d", s.clock.Now().Unix(), s.seq%1_000_000)
	s.messages = append(s.messages, m)
	s.accepted = append(s.accepted, m.Key)
}

// find returns the message with ts in channel, or nil. s.mu is held.
func (s *Server) find(channel, ts string) *Message {
	if ts == "" {
		return nil
	}
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// add registers a channel by name or id and returns its id. s.mu is held
// or the server is not serving yet.
func (s *Server) add(c string) string {
	if isID(c) {
		s.known[c] = true
		return c
	}
	name := strings.TrimPrefix(c, "#")
	if id, ok := s.ids[name]; ok {
		return id
	}
	id := fmt.Sprintf("C0CRIER%04d", len(s.ids)+1)
	s.ids[name] = id
	s.known[id] = true
	return id
}

// resolve returns the id of a channel given by id or, when byName, by
// name. Unknown channels are added unless the server only knows the
// listed ones. s.mu is held.
func (s *Server) resolve(c string, byName bool) (string, bool) {
	switch {
	case c == "":
		return "", false
	case isID(c):
		if !s.known[c] && s.strict {
			return "", false
		}
		s.known[c] = true
		return c, true
	case !byName:
		return "", false
	}
	if id, ok := s.ids[strings.TrimPrefix(c, "#")]; ok {
		return id, true
	}
	if s.strict {
		return "", false
	}
	return s.add(c), true
}

// isID reports whether c looks like a Slack conversation id: C, G or D
// followed by upper-case letters and digits.
func isID(c string) bool {
	if len(c) < 9 || !strings.ContainsRune("CGD", rune(c[0])) {
		return false
	}
	for _, r := range c[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// messageKey checks a message's text and blocks as Slack does and returns
// its key, or Slack's error code.
func messageKey(text string, blocks, metadata json.RawMessage) (key, code string) {
	if text == "" && len(blocks) == 0 {
		return "", "no_text"
	}
	if utf8.RuneCountInString(text) > maxText {
		return "", "msg_too_long"
	}
	first, code := checkBlocks(blocks)
	if code != "" {
		return "", code
	}
	if len(metadata) > 0 {
		var md struct {
			EventType    string         `json:"event_type"`
			EventPayload map[string]any `json:"event_payload"`
		}
		if json.Unmarshal(metadata, &md) != nil || md.EventType == "" {
			return "", "invalid_metadata_format"
		}
		if k, ok := md.EventPayload["key"].(string); ok {
			return k, ""
		}
	}
	k, _ := strings.CutPrefix(first, KeyPrefix)
	if k == first {
		k = ""
	}
	return k, ""
}

// block holds the fields of a Block Kit block that the fake checks.
type block struct {
	Type     string     `json:"type"`
	BlockID  string     `json:"block_id"`
	Text     *textObj   `json:"text"`
	Elements []*textObj `json:"elements"`
}

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// checkBlocks checks a blocks array against Slack's limits and returns the
// first block's block_id, or Slack's error code.
func checkBlocks(raw json.RawMessage) (firstID, code string) {
	if len(raw) == 0 {
		return "", ""
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", "invalid_blocks_format"
	}
	if len(blocks) > maxBlocks {
		return "", "invalid_blocks"
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		if b.BlockID != "" && (seen[b.BlockID] || len(b.BlockID) > maxBlockID) {
			return "", "invalid_blocks"
		}
		seen[b.BlockID] = true
		if !validBlock(b) {
			return "", "invalid_blocks"
		}
	}
	if len(blocks) > 0 {
		firstID = blocks[0].BlockID
	}
	return firstID, ""
}

func validBlock(b block) bool {
	switch b.Type {
	case "header":
		return b.Text != nil && b.Text.Type == "plain_text" && validText(b.Text, maxHeader)
	case "section":
		return b.Text != nil && validText(b.Text, maxSection)
	case "context":
		if len(b.Elements) == 0 || len(b.Elements) > maxContext {
			return false
		}
		for _, e := range b.Elements {
			if !validText(e, maxSection) {
				return false
			}
		}
		return true
	case "":
		return false
	}
	return true // other block types are not checked
}

func validText(t *textObj, limit int) bool {
	n := utf8.RuneCountInString(t.Text)
	return (t.Type == "plain_text" || t.Type == "mrkdwn") && n > 0 && n <= limit
}

func messageBody(m *Message) map[string]any {
	b := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "bot_id": botID}
	if m.ThreadTS != "" {
		b["thread_ts"] = m.ThreadTS
	}
	if len(m.Blocks) > 0 {
		b["blocks"] = m.Blocks
	}
	return b
}

func errorBody(code string) map[string]any {
	return map[string]any{"ok": false, "error": code}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// dropResponse writes the status line and some headers of an answer and
// closes the connection before the header ends.
func dropResponse(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	}
	defer conn.Close()
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 64\r\n")
	_ = buf.Flush()
}
