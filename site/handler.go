package site

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP serves the site's pages, feeds and CAP documents (see paths
// for the layout) relative to the root it is mounted at: mount it with
// http.StripPrefix under a prefix. Only GET and HEAD are allowed (405
// otherwise); an unknown town, announcement or path is 404; a failing
// source is 500 and logged.
//
// Every answer carries a strong ETag over its bytes, Last-Modified when
// the content's last change is known (the newest revision, a passed
// expiry, a status line's time), and Cache-Control allowing reuse for
// Options.MaxAge and, when the server is down, for a day (stale-if-error);
// conditional requests get 304. Pages are sent with a Content-Security-
// Policy that allows their own stylesheet and nothing else.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		s.fail(w, r, http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	doc, redirect, err := s.route(r.Context(), path)
	switch {
	case redirect != "":
		h.Set("Location", redirect)
		h.Set("Cache-Control", s.cacheControl())
		w.WriteHeader(http.StatusMovedPermanently)
		return
	case err != nil && errNotFound(err):
		s.fail(w, r, http.StatusNotFound)
		return
	case err != nil:
		s.log.Error("site page failed", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", doc.contentType)
	h.Set("Cache-Control", s.cacheControl())
	h.Set("ETag", etag(doc.body))
	h.Set("Access-Control-Allow-Origin", "*") // public data, for warning apps in browsers
	if strings.HasPrefix(doc.contentType, "text/html") {
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(w, r, "", doc.modified, bytes.NewReader(doc.body))
}

// route returns the document at path (relative to the site's root), or a
// relative redirect, or a not_found error.
func (s *Site) route(ctx context.Context, path string) (doc *document, redirect string, err error) {
	p := paths{}
	switch path {
	case "":
		doc, err = s.indexPage(ctx, p)
		return doc, "", err
	case "feed.atom":
		doc, err = s.atom(ctx, p, "")
		return doc, "", err
	case "feed.rss":
		doc, err = s.rss(ctx, p, "")
		return doc, "", err
	}
	town, rest, nested := strings.Cut(path, "/")
	if !validSegment(town) || strings.Contains(rest, "/") {
		return nil, "", notFound(path)
	}
	if !nested {
		if _, err := s.town(ctx, town); err != nil {
			return nil, "", err
		}
		return nil, town + "/", nil
	}
	switch {
	case rest == "":
		doc, err = s.townPage(ctx, p, town)
	case rest == "feed.atom":
		doc, err = s.atom(ctx, p, town)
	case rest == "feed.rss":
		doc, err = s.rss(ctx, p, town)
	case strings.HasSuffix(rest, ".cap.xml") && validSegment(strings.TrimSuffix(rest, ".cap.xml")):
		doc, err = s.capXML(ctx, p, town, strings.TrimSuffix(rest, ".cap.xml"))
	case strings.HasSuffix(rest, ".cap.json") && validSegment(strings.TrimSuffix(rest, ".cap.json")):
		doc, err = s.capJSON(ctx, p, town, strings.TrimSuffix(rest, ".cap.json"))
	case validSegment(rest):
		doc, err = s.noticePage(ctx, p, town, rest)
	default:
		err = notFound(path)
	}
	return doc, "", err
}

// fail answers with a status code and, for GET, a small page in the
// site's language that links back to the overview.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	if code == http.StatusInternalServerError {
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := s.errorPage(strings.TrimPrefix(r.URL.Path, "/"), code)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (s *Site) cacheControl() string {
	return "public, max-age=" + strconv.Itoa(int(s.maxAge/time.Second)) +
		", stale-while-revalidate=" + strconv.Itoa(int(s.maxAge/time.Second)) + ", stale-if-error=86400"
}

// etag returns a strong entity tag for a document's bytes.
func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}
