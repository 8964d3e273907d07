// Package site renders crier's emergency website: one light page per town
// that works when the town hall's own website is down, and feeds for other
// systems (the county's control room, local radio, warning apps). The same
// files are served by a Site (an http.Handler) and written by Export for
// an outside host.
//
// # Pages, feeds and documents
//
//	/                    overview: current notices of every town, the towns, earlier notices
//	/{town}/             current notices with their text, service status, contacts, earlier notices
//	/{town}/{id}         one notice with every revision, newest first
//	/{town}/{id}.cap.xml CAP 1.2 of the notice's latest revision for the town
//	/{town}/{id}.cap.json the same document as JSON with CAP's names and nesting
//	/{town}/feed.atom    the town's notices as Atom 1.0, /{town}/feed.rss as RSS 2.0
//	/feed.atom, /feed.rss every town's notices, one entry per town and notice
//
// Export writes index.html, {town}/index.html and {town}/{id}.html in place
// of the paths ending in "/" or an id. Pages link relatively, so the site
// works under any prefix and from file://. Feeds and CAP documents link
// absolutely under Options.BaseURL when it is set, relatively otherwise.
//
// A notice is current while its latest revision is neither a cancel nor
// expired; current notices come first, with their full text, then earlier
// ones. An update shows its reason; a cancel shows why it was withdrawn.
// Notices in exercise or test mode, and every notice of an instance that is
// not in actual mode, carry the banner "ÜBUNG – keine echte Meldung"
// ("TEST – keine echte Meldung" in test mode).
//
// # Where the text comes from
//
// An announcement's body is a template over each town's variables, so the
// text differs per town. The site does not render it: a Source hands over
// each revision with the town's rendered Body (HTML and plain text), as the
// templates package produced it at publish time. crier serve and crier site
// export hand over the page stored for each town at publish time
// (crier.PageType); BodyFromMessages finds a body among channel messages
// for a source that keeps no pages (a message of MessageType, else the
// built-in webhook payload's html and text). The site trusts none of it:
// body HTML is reduced to text elements and http, https, mailto and tel
// links (sanitize), and every other value (titles, reasons, town names and
// variables, status lines) is escaped by html/template and encoding/xml.
//
// # CAP 1.2
//
// Each town gets its own alert per revision, since each carries the town's
// text and area: identifier "<sender domain>.<town>.<id>.<revision>";
// sender Options.Sender; sent the revision's time with a numeric offset
// (never "Z"); status Actual, Exercise or Test from the mode; msgType
// Alert, then Update or Cancel with references "sender,identifier,sent"
// to every earlier revision; scope Public. One info block in the town's
// language (announcements are written in one) with the announcement's
// category, urgency, severity and certainty (outage defaults Infra,
// Expected, Minor, Observed: information, not an official warning), an
// event named after the category, the headline, the town's text as
// description, the page as web, the town's phone, email and website as
// contact, expires, and one area named after the town with its official
// code as geocode (valueName AGS for 8 digits, ARS for 12).
//
// # Caching
//
// Every page, feed and CAP document has a strong ETag over its bytes,
// Last-Modified from the newest revision, passed expiry or status time it
// shows, and Cache-Control "public, max-age=60, stale-while-revalidate=60,
// stale-if-error=86400" (Options.MaxAge), so that caches may keep serving a
// page for a day while crier is unreachable. Conditional GET and HEAD are
// answered by net/http's ServeContent; other methods get 405.
//
// # Accessibility and weight
//
// Semantic HTML with the town's lang, one h1 and headings in order (a
// body's own headings move below the page's), a skip link, a single inline
// stylesheet (colours meet WCAG 2.1 AA contrast; one column that reflows
// to 320 px), no JavaScript, no images, no web fonts, nothing loaded from
// elsewhere. A page with a few notices weighs a few kilobytes, and limits
// keep the overview and the town pages under 50 KB however much is
// published: a town page shows the text of its newest current notices up
// to 20 KB and lists the rest, the overview lists at most 20 current and 10
// earlier announcements and names the number of towns instead of linking
// to more than 12. A notice's own page shows every revision in full and
// grows with them. A
// Content-Security-Policy, in a meta element and, when served, a header,
// allows the stylesheet by its hash and nothing else. Imprint and privacy
// links come from Options and are the only links to other hosts besides
// those in the towns' texts and website variables, all marked
// rel="external".
package site
