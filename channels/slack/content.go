package slack

import (
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// Slack's limits.
const (
	maxHeader  = 150 // characters of a header block's text
	maxSection = 3000
	maxBlocks  = 50
	maxBlockID = 255
)

// Where a message's key travels (see the package doc).
const (
	keyPrefix = "crier:" // first block's block_id
	eventType = "crier_announcement"
)

// content is a message rendered for Slack.
type content struct {
	blocks   []slackapi.Block
	text     string // the fallback for notifications, escaped
	key      string
	metadata slackapi.SlackMetadata
}

// content renders m, or fails permanently when it does not fit Slack.
func (c *Channel) content(m *crier.Message, what string) (*content, error) {
	ct, problems := render(m)
	if len(problems) > 0 {
		return nil, crier.Permanent(crier.Invalid(what+": message does not fit slack", problems))
	}
	return ct, nil
}

// TextLimit returns Slack's limit on a message's text: the characters of
// its section block, counted as Check counts them (escaped, without the
// leading banner and subject the header shows, with the closing link as
// Slack shows it).
func (c *Channel) TextLimit() crier.Limit { return TextLimit() }

// TextLimit returns what Channel.TextLimit returns, without a channel.
func TextLimit() crier.Limit {
	return crier.Limit{Max: maxSection, Length: func(m *crier.Message) int {
		return utf8.RuneCountInString(section(m))
	}}
}

// options returns the chat.postMessage and chat.update options for ct.
func (ct *content) options() []slackapi.MsgOption {
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(ct.text, false), // escaped in render
		slackapi.MsgOptionBlocks(ct.blocks...),
	}
	if ct.key != "" {
		opts = append(opts, slackapi.MsgOptionMetadata(ct.metadata))
	}
	return opts
}

// render builds the Block Kit message for m: a header with the subject,
// prefixed with the mode's tag ("ÜBUNG: ") unless m is actual; a context
// block with the mode's banner unless m is actual; a section with the
// text, whose closing link becomes "<link|Mehr Informationen>"; and the
// fallback text. It returns the problems that keep m from fitting Slack.
func render(m *crier.Message) (*content, []crier.Problem) {
	head := headline(m)
	body := section(m)
	var problems []crier.Problem
	if head == "" && body == "" {
		problems = append(problems, crier.Problemf("text", "slack.empty", "is empty, and so is the subject; Slack needs one of them"))
	}
	if n := utf8.RuneCountInString(body); n > maxSection {
		problems = append(problems, crier.Problemf("text", "slack.too_long",
			"is %v characters long as Slack counts it (escaped, with the link), more than the %v a section allows", n, maxSection))
	}

	id := ""
	if m.Key != "" && len(keyPrefix)+len(m.Key) <= maxBlockID {
		id = keyPrefix + m.Key
	}
	// nextID hands the key's block_id to the first block.
	nextID := func() string {
		s := id
		id = ""
		return s
	}
	var blocks []slackapi.Block
	if head != "" {
		blocks = append(blocks, slackapi.NewHeaderBlock(
			&slackapi.TextBlockObject{Type: slackapi.PlainTextType, Text: head},
			slackapi.HeaderBlockOptionBlockID(nextID())))
	}
	if banner := modeText(m, "banner"); banner != "" {
		blocks = append(blocks, slackapi.NewContextBlock(nextID(),
			&slackapi.TextBlockObject{Type: slackapi.PlainTextType, Text: banner}))
	}
	if body != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(
			&slackapi.TextBlockObject{Type: slackapi.MarkdownType, Text: body}, nil, nil,
			slackapi.SectionBlockOptionBlockID(nextID()),
			slackapi.SectionBlockOptionExpand(true)))
	}
	if len(blocks) > maxBlocks {
		problems = append(problems, crier.Problemf("text", "slack.too_many_blocks", "needs %v blocks, more than the %v Slack allows", len(blocks), maxBlocks))
	}

	ct := &content{blocks: blocks, text: fallback(m, head), key: m.Key}
	if m.Key != "" {
		ct.metadata = slackapi.SlackMetadata{EventType: eventType, EventPayload: map[string]any{
			"key":          m.Key,
			"announcement": m.Announcement,
			"revision":     m.Revision,
			"town":         m.Town,
		}}
	}
	return ct, problems
}

// headline returns the header's plain text: the subject, with the mode's
// tag in front unless m is actual, cut to Slack's limit.
func headline(m *crier.Message) string {
	h := strings.TrimSpace(m.Subject)
	if h == "" {
		return ""
	}
	if tag := modeText(m, "tag"); tag != "" {
		h = tag + ": " + h
	}
	return cut(h, maxHeader)
}

// section returns the section's mrkdwn: m's text escaped, with the link it
// ends with (or, failing that, a link after it) made clickable under a
// short label.
func section(m *crier.Message) string {
	s := strings.TrimSpace(escape(withoutHeadline(m)))
	if m.Link == "" {
		return s
	}
	link := "<" + strings.ReplaceAll(escape(m.Link), "|", "%7C") + "|" + escape(locale.T(m.Language, "notice.more_info")) + ">"
	if rest, ok := strings.CutSuffix(s, escape(m.Link)); ok {
		return rest + link
	}
	if s == "" {
		return link
	}
	return s + "\n\n" + link
}

// withoutHeadline returns m's text without the leading paragraphs that the
// header and context blocks already show: the mode's banner and the
// subject (the shared social text starts with both).
func withoutHeadline(m *crier.Message) string {
	paras := strings.Split(strings.TrimSpace(m.Text), "\n\n")
	banner, subject := modeText(m, "banner"), strings.TrimSpace(m.Subject)
	for len(paras) > 1 {
		p := strings.TrimSpace(paras[0])
		if (banner == "" || p != banner) && (subject == "" || p != subject) {
			break
		}
		paras = paras[1:]
	}
	return strings.Join(paras, "\n\n")
}

// fallback returns the top-level text Slack shows in notifications and
// reads to screen readers: the headline, then the text.
func fallback(m *crier.Message, head string) string {
	text := strings.TrimSpace(m.Text)
	if text == "" {
		text = m.Link
	}
	switch {
	case head == "":
		return escape(text)
	case text == "":
		return escape(head)
	}
	return escape(head) + "\n\n" + escape(text)
}

// modeText returns the mode's tag ("ÜBUNG") or banner ("ÜBUNG – keine
// echte Meldung") in m's language, or "" for an actual message.
func modeText(m *crier.Message, form string) string {
	switch m.Mode {
	case crier.ModeExercise, crier.ModeTest:
		return locale.T(m.Language, "mode."+string(m.Mode)+"."+form)
	}
	return ""
}

// escape escapes the three characters Slack's markup reserves.
func escape(s string) string { return escaper.Replace(s) }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// cut shortens s to at most n characters, ending it with "…" when it cuts.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
