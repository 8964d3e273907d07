package site

import (
	"net/url"
	"strings"
)

// Site paths, relative to the site's root. The server answers the short
// forms ("soest/", "soest/ID"); an export writes files ("soest/index.html",
// "soest/ID.html"), so that it works from any web space and from file://.
// Both use the same names for feeds and CAP documents, and every page links
// relatively, so the site can live under any path prefix.
//
//	server          export               what
//	/               index.html           overview: current notices, towns
//	/feed.atom      feed.atom            every town's notices (Atom 1.0)
//	/feed.rss       feed.rss             the same as RSS 2.0
//	/soest/         soest/index.html     the town: notices, status, contacts
//	/soest/ID       soest/ID.html        one notice with its revisions
//	/soest/ID.cap.xml                    CAP 1.2 of the latest revision
//	/soest/ID.cap.json                   the same in CAP's shape as JSON
//	/soest/feed.atom, /soest/feed.rss    the town's feeds
//
// crier serve answers /soest/subscribe, the town's subscribe form, beside
// the site; an export links to it at the server's absolute address.
type paths struct {
	// files selects the export's file names.
	files bool
}

func seg(s string) string { return url.PathEscape(s) }

func (p paths) index() string {
	if p.files {
		return "index.html"
	}
	return ""
}

func (p paths) town(town string) string {
	if p.files {
		return seg(town) + "/index.html"
	}
	return seg(town) + "/"
}

func (p paths) notice(town, id string) string {
	if p.files {
		return seg(town) + "/" + seg(id) + ".html"
	}
	return seg(town) + "/" + seg(id)
}

// subscribe returns the path of a town's subscribe form on the server.
func (p paths) subscribe(town string) string { return seg(town) + "/subscribe" }

func (p paths) capXML(town, id string) string  { return seg(town) + "/" + seg(id) + ".cap.xml" }
func (p paths) capJSON(town, id string) string { return seg(town) + "/" + seg(id) + ".cap.json" }

// feed returns the path of a town's feed, or of the combined one for "".
// kind is "atom" or "rss".
func (p paths) feed(town, kind string) string {
	if town == "" {
		return "feed." + kind
	}
	return seg(town) + "/feed." + kind
}

// rel returns the link from the document at path from to the path to, both
// relative to the site's root: "../feed.atom", "k3v7", "./".
func rel(from, to string) string {
	dir := from[:strings.LastIndex(from, "/")+1]
	if strings.HasPrefix(to, dir) {
		to = strings.TrimPrefix(to, dir)
	} else {
		to = strings.Repeat("../", strings.Count(dir, "/")) + to
	}
	if to == "" || strings.HasPrefix(to, "#") {
		return "./" + to
	}
	if i := strings.IndexAny(to, ":/"); i >= 0 && to[i] == ':' {
		return "./" + to // a first segment with a colon would read as a scheme
	}
	return to
}

// abs returns the absolute address of path under the site's base URL, or
// the link from the document at from when there is no base URL.
func (s *Site) abs(from, path string) string {
	if s.base == nil {
		return rel(from, path)
	}
	return s.base.String() + path
}

// validSegment reports whether a town or announcement id can be a path
// segment and a file name as it is: ASCII letters, digits, "-" and "_".
// Ids with anything else (a dot would make "feed.atom" or "x.cap.xml"
// ambiguous) are left out of the site; crier's own ids and town slugs
// never have them.
func validSegment(id string) bool {
	if id == "" || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
