package server

import (
	"html/template"
	"net/http"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// unsubscribePage is the one page behind every mail's unsubscribe link:
// a button, the answer after it, or the answer to a bad link. It needs no
// JavaScript and loads nothing.
var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + publicStyle + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Button}}<form method="post"><button type="submit">{{.Button}}</button></form>{{end}}
{{with .Privacy}}<p><a href="{{.URL}}" rel="external">{{.Text}}</a></p>{{end}}
</main>
</body>
</html>
`))

// publicStyle is the stylesheet of the subscriber pages: readable from a
// 320 px wide phone up, long German words broken rather than scrolled.
const publicStyle = `body{font:1.1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;` +
	`color:#1a1a1a;background:#fff;overflow-wrap:break-word}
h1{font-size:1.6rem;line-height:1.25;hyphens:auto}
button{font:inherit;padding:.6rem 1.2rem;border:2px solid #1a1a1a;background:#1a1a1a;color:#fff;border-radius:.3rem;cursor:pointer}
button:focus{outline:3px solid #0050b3;outline-offset:2px}`

// unsubscribeData fills unsubscribePage.
type unsubscribeData struct {
	Lang, Title, Text, Button string
	Privacy                   *privacyLink
}

// unsubscribe answers GET and POST /unsubscribe/{token}. GET shows a
// button, so that link scanners that follow every link in a mail
// unsubscribe nobody; POST unsubscribes, and is also the RFC 8058
// one-click request that mail clients send with the body
// "List-Unsubscribe=One-Click". The answer is the same whether or not the
// address was still on the list, and no page names the address. A bad or
// expired link gets 400 and a page that says so.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	lang := locale.Accept(r.Header.Get("Accept-Language"))
	if s.tokens == nil {
		http.NotFound(w, r)
		return
	}
	town, email, err := s.tokens.Verify(r.PathValue("token"), crier.PurposeUnsubscribe, s.clock.Now())
	if err != nil {
		s.unsubscribeAnswer(w, http.StatusBadRequest, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "unsubscribe.bad.title"), Text: locale.T(lang, "unsubscribe.bad.text")})
		return
	}
	name := town
	if t := s.directory.Town(town); t != nil {
		lang, name = locale.Match(t.Language), townName(t)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		s.unsubscribeAnswer(w, http.StatusOK, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "unsubscribe.title"), Text: locale.T(lang, "unsubscribe.ask", name),
			Button: locale.T(lang, "unsubscribe.button")})
		return
	}
	err = s.subscribers.RemoveSubscriber(r.Context(), town, email, s.clock.Now())
	if err != nil && crier.ErrorCode(err) != crier.ENOTFOUND {
		s.log.Error("unsubscribe", "town", town, "err", err)
		s.unsubscribeAnswer(w, http.StatusInternalServerError, unsubscribeData{Lang: lang,
			Title: locale.T(lang, "unsubscribe.failed.title"), Text: locale.T(lang, "unsubscribe.failed.text")})
		return
	}
	s.log.Info("unsubscribed through a mail link", "town", town)
	s.unsubscribeAnswer(w, http.StatusOK, unsubscribeData{Lang: lang,
		Title: locale.T(lang, "unsubscribe.done.title"), Text: locale.T(lang, "unsubscribe.done.text", name)})
}

func (s *Server) unsubscribeAnswer(w http.ResponseWriter, status int, d unsubscribeData) {
	d.Privacy = s.privacy(d.Lang)
	s.writePublicPage(w, status, unsubscribePage, d)
}

// publicPolicy is the Content-Security-Policy of the subscriber pages:
// they load nothing but their inline style, post only to this server, and
// no other site may frame them (clickjacking a subscribe or unsubscribe
// button).
const publicPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

// writePublicPage writes one of the subscriber pages: never cached, loading
// nothing, posting only to this server, framed by no other site, never
// sniffed as another type, telling no other site where it came from.
func (s *Server) writePublicPage(w http.ResponseWriter, status int, page *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", publicPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := page.Execute(w, data); err != nil {
		s.log.Error("write page", "page", page.Name(), "err", err)
	}
}
