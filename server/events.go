package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// Defaults of the progress streams (GET /api/v1/announcements/{id}/events).
const (
	// DefaultStreamPoll is how often a stream reads the counts.
	DefaultStreamPoll = time.Second
	// DefaultStreamHeartbeat is the longest a stream stays silent: a
	// comment line then tells proxies and clients that it is alive.
	DefaultStreamHeartbeat = 15 * time.Second
	// DefaultMaxStreams bounds the streams open at once.
	DefaultMaxStreams = 64
	// streamWriteTimeout bounds each write of a stream, which the
	// server's write timeout does not bound.
	streamWriteTimeout = 30 * time.Second
)

// LoadStatus reads the Status of the announcement id: of all its towns
// when scope is nil, else of those of scope (the towns a principal may
// read), with Status.Scope naming them when the announcement has others.
// It returns a not_found error for an unknown id.
func LoadStatus(ctx context.Context, store crier.AnnouncementStore, dir *crier.Directory, id string, scope []string) (*Status, error) {
	a, err := store.Announcement(ctx, id)
	if err != nil {
		return nil, err
	}
	counts, err := store.Counts(ctx, id)
	if err != nil {
		return nil, err
	}
	if scope != nil {
		// Counts are one row per town × channel × state, not a list to
		// page: they are kept to the principal's towns here.
		counts = slices.DeleteFunc(counts, func(c crier.Count) bool { return !slices.Contains(scope, c.Town) })
		towns, _ := dir.Resolve(a.Towns)
		if slices.ContainsFunc(towns, func(t string) bool { return !slices.Contains(scope, t) }) {
			scope = slices.DeleteFunc(towns, func(t string) bool { return !slices.Contains(scope, t) })
		} else {
			scope = nil // every town of it is in scope
		}
	}
	st := newStatus(a, counts)
	st.Scope = scope
	return st, nil
}

// Progress follows the delivery progress of one announcement for a live
// view: each call of Next loads its Status and says whether it changed
// since the previous call. The API's event stream and the newsroom's live
// page use it alike. A Progress is for one goroutine.
type Progress struct {
	// Load reads the current status, e.g. with LoadStatus.
	Load func(ctx context.Context) (*Status, error)
	last *Status
}

// Next returns the current status, and whether it differs from the one
// the previous call returned: in its counts, its revision or its event.
// The first call's always does.
func (p *Progress) Next(ctx context.Context) (*Status, bool, error) {
	st, err := p.Load(ctx)
	if err != nil {
		return nil, false, err
	}
	changed := p.last == nil || !slices.Equal(p.last.Counts, st.Counts) ||
		p.last.Announcement.Revision != st.Announcement.Revision || p.last.Announcement.Event != st.Announcement.Event
	p.last = st
	return st, changed, nil
}

// streams bounds the progress streams open at once and ends them when
// the server shuts down.
type streams struct {
	slots   chan struct{}
	closing chan struct{}
	close   func()
}

func newStreams(n int) streams {
	closing := make(chan struct{})
	return streams{slots: make(chan struct{}, n), closing: closing, close: sync.OnceFunc(func() { close(closing) })}
}

// CloseStreams ends every open progress stream, and every one opened
// later after its first event: http.Server.Shutdown waits for running
// requests, so it must be called first. HTTPServer's server does.
func (s *Server) CloseStreams() { s.streams.close() }

// announcementEvents streams the progress of an announcement as
// server-sent events: a "progress" event with its Status (as GET
// /api/v1/announcements/{id} answers it, kept to the principal's towns)
// at once and whenever it changes, read every StreamPoll, and a comment
// line after StreamHeartbeat of silence. Once every delivery is final it
// sends a "done" event with the last status and ends; it ends too when
// the client goes away or the server shuts down. Over MaxStreams open
// streams it answers 429.
func (s *Server) announcementEvents(w http.ResponseWriter, r *http.Request) {
	id, scope := r.PathValue("id"), s.readScope(r)
	// 404 before the stream starts.
	if _, err := s.store.Announcement(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	select {
	case s.streams.slots <- struct{}{}:
		defer func() { <-s.streams.slots }()
	default:
		w.Header().Set("Retry-After", "10")
		s.error(w, r, crier.Errorf(CodeTooManyRequests, "too many progress streams open; try again later"))
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no") // a proxy passes each event on at once
	w.WriteHeader(http.StatusOK)
	send := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	p := &Progress{Load: func(ctx context.Context) (*Status, error) {
		return LoadStatus(ctx, s.store, s.directory, id, scope)
	}}
	poll := time.NewTicker(s.streamPoll)
	defer poll.Stop()
	silent := 0 * time.Second
	for {
		st, changed, err := p.Next(r.Context())
		if err != nil {
			if r.Context().Err() == nil {
				s.log.WarnContext(r.Context(), "progress stream", "announcement", id, "err", err)
			}
			return
		}
		event := ""
		switch {
		case st.Done:
			event = "done"
		case changed:
			event = "progress"
		}
		if event != "" {
			data, err := json.Marshal(st)
			if err != nil || !send("event: "+event+"\ndata: "+string(data)+"\n\n") || event == "done" {
				return
			}
			silent = 0
		} else if silent += s.streamPoll; silent >= s.streamHeartbeat {
			if !send(": heartbeat\n\n") {
				return
			}
			silent = 0
		}
		select {
		case <-poll.C:
		case <-r.Context().Done():
			return
		case <-s.streams.closing:
			return
		}
	}
}
