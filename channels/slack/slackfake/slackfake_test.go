package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	slackapi "github.com/slack-go/slack"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/slack/slackfake"
)

const token = "xoxb-1-2-fake"

var epoch = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

func newServer(t *testing.T, o slackfake.Options) *slackfake.Server {
	t.Helper()
	if o.Clock == nil {
		o.Clock = channeltest.NewClock(epoch)
	}
	return slackfake.NewServer(t, o)
}

// answer is a Web API answer.
type answer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	Message struct {
		Text     string `json:"text"`
		ThreadTS string `json:"thread_ts"`
	} `json:"message"`
}

// form posts a form to a Web API method and decodes the answer.
func form(t *testing.T, s *slackfake.Server, method string, v url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(s.URL()+method, v)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

// postJSON posts a JSON body with a bearer token, as slack-go's JSON
// methods do.
func postJSON(t *testing.T, s *slackfake.Server, method, bearer string, body any) answer {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+method, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s, want 200", resp.Status)
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("answer: %v", err)
	}
	return a
}

func hook(t *testing.T, u, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPostForm(t *testing.T) {
	s := newServer(t, slackfake.Options{Tokens: []string{token}, Channels: []string{"#krisenstab"}})
	a := form(t, s, "chat.postMessage", url.Values{
		"token":    {token},
		"channel":  {"#krisenstab"},
		"text":     {"Rathaus geschlossen – Bürgerbüro"},
		"blocks":   {`[{"type":"header","text":{"type":"plain_text","text":"Rathaus"}}]`},
		"metadata": {`{"event_type":"crier_announcement","event_payload":{"key":"a.1.soest.k"}}`},
	})
	id, ok := s.ChannelID("krisenstab")
	if !a.OK || a.Channel != id || !ok || a.TS != strconv.FormatInt(epoch.Unix(), 10)+".000001" {
		t.Fatalf("answer %+v, want ok in channel %s with a timestamp from the clock", a, id)
	}
	if a.Message.Text != "Rathaus geschlossen – Bürgerbüro" {
		t.Errorf("answer's message text %q", a.Message.Text)
	}
	msgs := s.Messages()
	want := &slackfake.Message{
		Channel: id, TS: a.TS, Text: "Rathaus geschlossen – Bürgerbüro",
		Blocks: json.RawMessage(`[{"type":"header","text":{"type":"plain_text","text":"Rathaus"}}]`),
		Token:  token, Key: "a.1.soest.k",
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if diff := cmp.Diff(want, msgs[0]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	channeltest.WantAccepted(t, s, "a.1.soest.k")
	if r := s.Requests()[0]; r.API != "chat.postMessage" || r.Token != token || r.Webhook {
		t.Errorf("request %+v", r)
	}
}

func TestPostJSON(t *testing.T) {
	s := newServer(t, slackfake.Options{})
	a := postJSON(t, s, "chat.postMessage", token, map[string]any{
		"channel": "C0123ABCDEF",
		"blocks":  []any{map[string]any{"type": "section", "block_id": "crier:k1", "text": map[string]any{"type": "mrkdwn", "text": "Hallo"}}},
	})
	if !a.OK || a.Channel != "C0123ABCDEF" {
		t.Fatalf("answer %+v, want ok in C0123ABCDEF", a)
	}
	channeltest.WantAccepted(t, s, "k1")
	if a := postJSON(t, s, "chat.postMessage", "", map[string]any{"channel": "C0123ABCDEF", "text": "x", "token": token}); a.Error != "not_authed" {
		t.Errorf("JSON with the token in the body: %+v, want not_authed: JSON bodies need the header", a)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string
		token  string
		want   string
	}{
		{"missing", nil, "", "not_authed"},
		{"any bot token", nil, "xoxb-anything", ""},
		{"user token", nil, "xoxp-anything", "invalid_auth"},
		{"listed", []string{token}, token, ""},
		{"not listed", []string{token}, "xoxb-other", "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, slackfake.Options{Tokens: tt.tokens})
			a := form(t, s, "chat.postMessage", url.Values{"token": {tt.token}, "channel": {"#k"}, "text": {"x"}})
			if a.Error != tt.want || a.OK != (tt.want == "") {
				t.Errorf("answer %+v, want error %q", a, tt.want)
			}
		})
	}
}

func TestAuthTest(t *testing.T) {
	s := newServer(t, slackfake.Options{Tokens: []string{token}})
	api := slackapi.New(token, slackapi.OptionAPIURL(s.URL()))
	got, err := api.AuthTestContext(t.Context())
	if err != nil {
		t.Fatalf("auth.test: %v", err)
	}
	got.Header = nil
	want := &slackapi.AuthTestResponse{
		URL: "https://crier-test.slack.com/", Team: slackfake.TeamName, User: slackfake.UserName,
		TeamID: slackfake.TeamID, UserID: slackfake.UserID, BotID: "B0CRIERBOT",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("auth.test (-want +got):\n%s", diff)
	}
	var se slackapi.SlackErrorResponse
	_, err = slackapi.New("xoxb-wrong", slackapi.OptionAPIURL(s.URL())).AuthTestContext(t.Context())
	if !errors.As(err, &se) || se.Err != "invalid_auth" {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}
	s.Revoke(token)
	_, err = api.AuthTestContext(t.Context())
	if !errors.As(err, &se) || se.Err != "token_revoked" {
		t.Errorf("revoked token: %v, want token_revoked", err)
	}
	a := form(t, s, "chat.postMessage", url.Values{"token": {token}, "channel": {"#k"}, "text": {"x"}})
	if a.Error != "token_revoked" {
		t.Errorf("post with a revoked token: %+v, want token_revoked", a)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages posted, want 0", n)
	}
	if n := len(s.Accepted()); n != 0 {
		t.Errorf("%d messages accepted, want 0", n)
	}
}

func TestChannels(t *testing.T) {
	strict := newServer(t, slackfake.Options{Channels: []string{"#krisenstab", "C0KNOWN001"}})
	for ch, want := range map[string]string{"#krisenstab": "", "krisenstab": "", "C0KNOWN001": "", "#presse": "channel_not_found", "C0OTHER001": "channel_not_found"} {
		a := form(t, strict, "chat.postMessage", url.Values{"token": {token}, "channel": {ch}, "text": {"x"}})
		if a.Error != want {
			t.Errorf("post to %s: %+v, want error %q", ch, a, want)
		}
	}
	open := newServer(t, slackfake.Options{})
	a1 := form(t, open, "chat.postMessage", url.Values{"token": {token}, "channel": {"#presse"}, "text": {"x"}})
	a2 := form(t, open, "chat.postMessage", url.Values{"token": {token}, "channel": {a1.Channel}, "text": {"y"}})
	if !a1.OK || !a2.OK || a1.Channel != a2.Channel || a1.TS == a2.TS {
		t.Errorf("answers %+v, %+v: want the same new channel by name and id, two timestamps", a1, a2)
	}
}

func TestLimits(t *testing.T) {
	blocks := func(n int) string {
		var b []string
		for range n {
			b = append(b, `{"type":"divider"}`)
		}
		return "[" + strings.Join(b, ",") + "]"
	}
	header := func(text string) string {
		return `[{"type":"header","text":{"type":"plain_text","text":` + strconv.Quote(text) + `}}]`
	}
	section := func(text string) string {
		return `[{"type":"section","text":{"type":"mrkdwn","text":` + strconv.Quote(text) + `}}]`
	}
	tests := []struct {
		name   string
		text   string
		blocks string
		want   string
	}{
		{"50 blocks", "x", blocks(50), ""},
		{"51 blocks", "x", blocks(51), "invalid_blocks"},
		{"header of 150", "", header(strings.Repeat("ä", 150)), ""},
		{"header of 151", "", header(strings.Repeat("ä", 151)), "invalid_blocks"},
		{"mrkdwn header", "", `[{"type":"header","text":{"type":"mrkdwn","text":"x"}}]`, "invalid_blocks"},
		{"section of 3000", "", section(strings.Repeat("ü", 3000)), ""},
		{"section of 3001", "", section(strings.Repeat("ü", 3001)), "invalid_blocks"},
		{"duplicate block_id", "x", `[{"type":"divider","block_id":"a"},{"type":"divider","block_id":"a"}]`, "invalid_blocks"},
		{"not JSON", "x", `[{"type":`, "invalid_blocks_format"},
		{"nothing", "", "", "no_text"},
		{"text of 40001", strings.Repeat("x", 40001), "", "msg_too_long"},
	}
	s := newServer(t, slackfake.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{"token": {token}, "channel": {"#k"}, "text": {tt.text}}
			if tt.blocks != "" {
				v.Set("blocks", tt.blocks)
			}
			if a := form(t, s, "chat.postMessage", v); a.Error != tt.want {
				t.Errorf("answer %+v, want error %q", a, tt.want)
			}
		})
	}
}

func TestUpdateDeleteThread(t *testing.T) {
	s := newServer(t, slackfake.Options{})
	post := func(text, thread string) answer {
		return form(t, s, "chat.postMessage", url.Values{"token": {token}, "channel": {"#k"}, "text": {text}, "thread_ts": {thread}})
	}
	orig := post("eins", "")
	reply := post("zwei", orig.TS)
	replyToReply := post("drei", reply.TS)
	if reply.Message.ThreadTS != orig.TS || replyToReply.Message.ThreadTS != orig.TS {
		t.Errorf("thread_ts %q, %q; want both %q", reply.Message.ThreadTS, replyToReply.Message.ThreadTS, orig.TS)
	}

	upd := func(tok, ch, ts, text string) answer {
		return form(t, s, "chat.update", url.Values{"token": {tok}, "channel": {ch}, "ts": {ts}, "text": {text}})
	}
	if a := upd(token, orig.Channel, orig.TS, "eins, korrigiert"); !a.OK {
		t.Errorf("update: %+v", a)
	}
	for name, tt := range map[string]struct {
		tok, ch, ts, want string
	}{
		"other token":     {"xoxb-other", orig.Channel, orig.TS, "cant_update_message"},
		"channel by name": {token, "#k", orig.TS, "channel_not_found"},
		"unknown ts":      {token, orig.Channel, "1.000009", "message_not_found"},
	} {
		if a := upd(tt.tok, tt.ch, tt.ts, "x"); a.Error != tt.want {
			t.Errorf("update with %s: %+v, want %s", name, a, tt.want)
		}
	}

	del := func() answer {
		return form(t, s, "chat.delete", url.Values{"token": {token}, "channel": {orig.Channel}, "ts": {orig.TS}})
	}
	if a := del(); !a.OK {
		t.Errorf("delete: %+v", a)
	}
	if a := del(); a.Error != "message_not_found" {
		t.Errorf("second delete: %+v, want message_not_found", a)
	}
	if a := upd(token, orig.Channel, orig.TS, "zu spät"); a.Error != "message_not_found" {
		t.Errorf("update after delete: %+v, want message_not_found", a)
	}
	if a := post("vier", orig.TS); a.Message.ThreadTS != "" {
		t.Errorf("reply to a deleted message has thread_ts %q, want none", a.Message.ThreadTS)
	}

	m := s.Messages()[0]
	if m.Text != "eins, korrigiert" || !m.Deleted || !cmp.Equal(m.Edits, []string{"eins, korrigiert"}) {
		t.Errorf("message %+v, want the update and the deletion applied", m)
	}
	if len(s.Messages()) != 4 || len(s.Accepted()) != 4 {
		t.Errorf("%d messages, %d accepted; want 4 of each", len(s.Messages()), len(s.Accepted()))
	}
}

// TestSlackGo drives the fake with slack-go itself.
func TestSlackGo(t *testing.T) {
	s := newServer(t, slackfake.Options{Tokens: []string{token}, Channels: []string{"#krisenstab"}})
	api := slackapi.New(token, slackapi.OptionAPIURL(s.URL()))
	ch, ts, err := api.PostMessageContext(t.Context(), "#krisenstab", slackapi.MsgOptionText("Hallo", false), slackapi.MsgOptionTS(""))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	if _, _, _, err := api.UpdateMessageContext(t.Context(), ch, ts, slackapi.MsgOptionText("Hallo!", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	if _, _, err := api.DeleteMessageContext(t.Context(), ch, ts); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, _, err = api.DeleteMessageContext(t.Context(), ch, ts)
	var se slackapi.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "message_not_found" {
		t.Errorf("second delete: %v, want message_not_found", err)
	}
	_, _, err = slackapi.New("xoxb-wrong", slackapi.OptionAPIURL(s.URL())).PostMessageContext(t.Context(), "#krisenstab", slackapi.MsgOptionText("x", false))
	if !errors.As(err, &se) || se.Err != "invalid_auth" {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}
	s.Respond(http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, "")
	_, _, err = api.PostMessageContext(t.Context(), "#krisenstab", slackapi.MsgOptionText("x", false))
	var rl *slackapi.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Errorf("rate limited: %v, want a RateLimitedError of 30s", err)
	}
}

func TestWebhook(t *testing.T) {
	s := newServer(t, slackfake.Options{Channels: []string{"#krisenstab"}})
	if !strings.Contains(s.WebhookURL(), "/services/") {
		t.Errorf("WebhookURL %q", s.WebhookURL())
	}
	tests := []struct {
		name   string
		url    string
		body   string
		status int
		answer string
	}{
		{"ok", s.WebhookURL(), `{"text":"Hallo","blocks":[{"type":"section","block_id":"crier:k1","text":{"type":"mrkdwn","text":"Hallo"}}]}`, 200, "ok"},
		{"not JSON", s.WebhookURL(), `{"text":`, 400, "invalid_payload"},
		{"empty", s.WebhookURL(), `{}`, 400, "no_text"},
		{"bad blocks", s.WebhookURL(), `{"blocks":[{"type":"header","text":{"type":"plain_text","text":""}}]}`, 400, "invalid_blocks"},
		{"removed", s.WebhookURL() + "x", `{"text":"Hallo"}`, 404, "no_service"},
	}
	for _, tt := range tests {
		status, answer := hook(t, tt.url, tt.body)
		if status != tt.status || answer != tt.answer {
			t.Errorf("%s: %d %q, want %d %q", tt.name, status, answer, tt.status, tt.answer)
		}
	}
	id, _ := s.ChannelID("#krisenstab")
	msgs := s.Messages()
	if len(msgs) != 1 || !msgs[0].Webhook || msgs[0].Channel != id || msgs[0].Key != "k1" || msgs[0].Token != "" {
		t.Errorf("messages %+v, want one webhook message in %s with key k1", msgs, id)
	}
	channeltest.WantAccepted(t, s, "k1")
}

func TestRespond(t *testing.T) {
	s := newServer(t, slackfake.Options{})
	post := func() (*http.Response, string) {
		resp, err := http.PostForm(s.URL()+"chat.postMessage", url.Values{"token": {token}, "channel": {"#k"}, "text": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	s.Respond(http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, "")
	if resp, body := post(); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" || !strings.Contains(body, `"error":"ratelimited"`) {
		t.Errorf("429: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if status, body := hook(t, s.WebhookURL(), `{"text":"x"}`); status != 429 {
		t.Errorf("webhook under 429: %d %s", status, body)
	}
	s.Respond(http.StatusOK, nil, "not_in_channel")
	if _, body := post(); !strings.Contains(body, `"ok":false`) || !strings.Contains(body, `"error":"not_in_channel"`) {
		t.Errorf("200 error: %s", body)
	}
	s.Respond(http.StatusOK, nil, "channel_is_archived")
	if status, body := hook(t, s.WebhookURL(), `{"text":"x"}`); status != 410 || body != "channel_is_archived" {
		t.Errorf("webhook error: %d %q, want 410 channel_is_archived", status, body)
	}
	s.Respond(http.StatusServiceUnavailable, nil, "")
	if resp, body := post(); resp.StatusCode != 503 || !strings.Contains(body, "<html>") {
		t.Errorf("503: %d %s", resp.StatusCode, body)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages posted while refusing", n)
	}
	s.Respond(0, nil, "")
	if resp, body := post(); resp.StatusCode != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("back to normal: %d %s", resp.StatusCode, body)
	}
	if n := len(s.Requests()); n != 6 {
		t.Errorf("%d requests recorded, want 6", n)
	}
}

func TestHangAndDrop(t *testing.T) {
	s := newServer(t, slackfake.Options{})
	s.Hang()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader("token="+token+"&channel=%23k&text=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err = %v, want the deadline exceeded", err)
	}
	s.Drop()
	if resp, err := http.Post(s.WebhookURL(), "application/json", strings.NewReader(`{"text":"x"}`)); err == nil {
		resp.Body.Close()
		t.Error("drop: got an answer, want the connection closed")
	}
	if len(s.Messages()) != 0 || len(s.Requests()) != 2 {
		t.Errorf("%d messages, %d requests; want 0 and 2", len(s.Messages()), len(s.Requests()))
	}
}

func TestSet(t *testing.T) {
	s := newServer(t, slackfake.Options{})
	tests := []struct {
		b          channeltest.Behavior
		status     int
		retryAfter string
		body       string
	}{
		{channeltest.Behavior{Kind: channeltest.Reject}, 404, "", "channel_not_found"},
		{channeltest.Behavior{Kind: channeltest.Unavailable}, 503, "", "service_unavailable"},
		{channeltest.Behavior{Kind: channeltest.RateLimited, RetryAfter: 37 * time.Second}, 429, "37", "too_many_requests"},
		{channeltest.Behavior{Kind: channeltest.Accept}, 200, "", "ok"},
	}
	for _, tt := range tests {
		s.Set(tt.b)
		resp, err := http.Post(s.WebhookURL(), "application/json", strings.NewReader(`{"text":"x","blocks":[{"type":"divider","block_id":"crier:k"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter || string(b) != tt.body {
			t.Errorf("%v: %d %q %q, want %d %q %q", tt.b.Kind, resp.StatusCode, resp.Header.Get("Retry-After"), b, tt.status, tt.retryAfter, tt.body)
		}
	}
	channeltest.WantAccepted(t, s, "k")
}
