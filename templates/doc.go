// Package templates renders announcements into messages, one per town and
// channel: it implements crier.Renderer.
//
// # Channel types and templates
//
// Each channel type is rendered from named templates:
//
//	email              email.subject, email.html, email.text
//	mastodon, slack    social.text (a post: banner, title, body, hashtag, link;
//	                   see Social posts and their limit)
//	webhook            webhook.payload (built-in: a Standard Webhooks JSON payload)
//	site               none: the rendered body (HTML and text) and the title,
//	                   the town's page on the emergency website
//
// The built-in templates are embedded. A file named <name>.tmpl overrides
// one, looked up in the override directory (Options.Dir) in this order,
// most specific first:
//
//	<town>/channel/<channel>/<name>.tmpl   one town on one channel
//	<town>/<name>.tmpl                     one town on every channel
//	channel/<channel>/<name>.tmpl          one channel for every town
//	<name>.tmpl                            every town and channel
//	(built-in)
//
// <town> is the town's id and <channel> the channel's id. Every override is
// parsed by New, so a broken, misnamed or misplaced file fails at start,
// with its name and line.
//
// Text parts use text/template and the HTML part html/template, all with
// missingkey=error: {{.Vars.fax}} for a town without a fax is an error that
// names the town, the channel, the template, the line and the variable.
// Write {{with index .Vars "fax"}}…{{end}} where a variable is optional. A
// webhook.payload override must produce valid JSON; the json function
// quotes values.
//
// # Template data
//
// Templates see a Data: the town (.Town.ID, .Town.Name, .Town.AGS,
// .Town.Language), its variables (.Vars), its contact details (.Contacts),
// the announcement (.ID, .Revision, .Title, .Category, .Urgency, .Severity,
// .Certainty, .Mode, .Banner, .ModeTag, .Expires, .Timestamp), .Link (the
// public page), .UnsubscribeURL, the rendered body as .Body (HTML) and
// .BodyText (plain text), and for social posts .Limit, .Short and .Room
// (see below). Times are in the town's time zone, Europe/Berlin
// unless the town names another. The functions are:
//
//	t KEY ARGS...    the locale text KEY in the town's language
//	date TIME        "Donnerstag, 31. Dezember 2026"
//	datetime TIME    "Donnerstag, 31. Dezember 2026, 18:00 Uhr"
//	oneline S        S with every run of white space made one space
//	excerpt N S      the first paragraph of S, shortened to N characters
//	lead N S         the leading paragraphs of S that fit into N characters,
//	                 or the excerpt of N when the first alone does not
//	hashtag S        "#BadSassendorf" from "Bad Sassendorf"
//	runes S          the number of characters in S
//	sub A B          A - B
//	json V           V as JSON, e.g. a quoted string
//
// # Social posts and their limit
//
// A Mastodon or Slack post carries the whole body when it fits the
// channel's limit, and a summary with the link when it does not; the
// template decides what the summary is. .Limit is the limit in the
// channel's own counting (Mastodon: graphemes of the post and its content
// warning, every link as 23 characters or what the instance says, against
// the instance's limit as a probe stored it, 500 while none is known;
// Slack: the 3000 characters of the message's section, without the banner
// and title its header shows), or 0 for none. The renderer first runs
// social.text with .Short false. When that post is over the limit, it
// runs it again with .Short true and .Room, the characters the template
// may spend on what it shortens: first 0, to learn what the rest of the
// post takes, then what that leaves of the limit, lowered by what the post
// is still over until it fits or .Room is 0. When even that does not fit,
// the post with the whole text stays, and the channel's check refuses the
// announcement.
//
// The built-in template's short form is the banner, the title, the
// leading paragraphs that fit (lead .Room .BodyText), the hashtag and
// "Mehr: <link>". Whatever the template, the message's Omitted says which
// of the body's paragraphs the post lacks, wholly or in part, how many
// characters, and where the missing text begins; a preview shows it per
// town and channel.
//
// # The body
//
// An announcement's body is Markdown and itself a template over the same
// data, without .Body: "rufen Sie {{.Vars.phone}} an". It is executed first,
// with the town's values escaped for Markdown so that they show as written
// and never become markup, then converted with goldmark: raw HTML is
// dropped, links and images pointing anywhere but http, https, mailto and
// tel are reduced to their text, and bare web addresses become links. The
// plain-text form keeps paragraphs, list bullets and link targets.
//
// The body comes from whoever sends the announcement, so its work is
// bounded (see limit.go): it may range only over a list of the data
// (.Contacts, .Vars), not over a number, a variable or a function's
// result, and not inside another range; it may not call templates
// ({{template}}, {{block}}); print, printf, println, html, js and urlquery
// count what they produce. Every rendered part is at most
// crier.RenderRequest.MaxSize bytes, and rendering stops at the next write
// once crier.RenderRequest.Context is done.
//
// # Unsubscribe links
//
// Email is rendered once per town, not per recipient. .UnsubscribeURL is
// crier.UnsubscribePlaceholder, which HTML escaping leaves as it is; the
// delivery worker replaces it in the text and HTML of each recipient's copy.
package templates
