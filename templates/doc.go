// Package templates renders announcements into messages, one per town and
// channel: it implements crier.Renderer.
//
// # Channel types and templates
//
// Each channel type is rendered from named templates:
//
//	email              email.subject, email.html, email.text
//	mastodon, slack    social.text (a short post: banner, title, lead, hashtag, link)
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
// public page), .UnsubscribeURL, and the rendered body as .Body (HTML) and
// .BodyText (plain text). Times are in the town's time zone, Europe/Berlin
// unless the town names another. The functions are:
//
//	t KEY ARGS...    the locale text KEY in the town's language
//	date TIME        "Donnerstag, 31. Dezember 2026"
//	datetime TIME    "Donnerstag, 31. Dezember 2026, 18:00 Uhr"
//	oneline S        S with every run of white space made one space
//	excerpt N S      the first paragraph of S, shortened to N characters
//	hashtag S        "#BadSassendorf" from "Bad Sassendorf"
//	runes S          the number of characters in S
//	sub A B          A - B
//	json V           V as JSON, e.g. a quoted string
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
