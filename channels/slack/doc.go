// Package slack posts messages to a Slack channel, either as a bot through
// the Web API (a token with the chat:write scope and a channel) or through
// an incoming webhook.
//
// A message becomes a Block Kit message: a header with the subject, a
// context line with the mode banner when the message is an exercise or a
// test, a section with the text, whose closing link is clickable, and a
// plain-text fallback for notifications. Check reports messages that do
// not fit Slack's limits before anything is published.
//
// Slack allows about one message per second per channel; a Channel spaces
// its posts accordingly and waits up to a second for its turn. Two
// Channels that post to the same Slack channel do not coordinate.
//
// Slack has no idempotency key, so a post whose request was written but
// never answered is an unknown outcome that is not retried: a person checks
// the channel. The message's key travels along for them to find: in the
// message metadata (event type "crier_announcement", field "key") and in
// the first block's block_id ("crier:" followed by the key).
//
// With a bot token, a Channel can also change (chat.update), withdraw
// (chat.delete) and answer in a thread (chat.postMessage with thread_ts)
// the messages it posted; an incoming webhook can only post.
//
// Probe checks a bot's token with auth.test, which posts nothing. An
// incoming webhook cannot be checked without posting to it, so Probe
// returns crier.ErrNoProbe for one.
package slack
