package newsroom

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// Defaults of WatchLimits.
const (
	// DefaultWatchInterval is how often the deliveries of an announcement
	// that somebody follows are counted: often enough for a person, and
	// one query a second for the whole server however many follow it.
	DefaultWatchInterval = time.Second
	// MinWatchInterval bounds the interval from below.
	MinWatchInterval = 100 * time.Millisecond
	// DefaultHeartbeat keeps a quiet stream open through proxies that
	// close idle connections (nginx: 60 s).
	DefaultHeartbeat = 15 * time.Second
	// DefaultStreams and DefaultSessionStreams bound the open streams of
	// the server and of one session (a few tabs).
	DefaultStreams        = 200
	DefaultSessionStreams = 4
	// DefaultStreamLifetime ends a stream after a while even when its
	// deliveries are still under way; the browser opens it again, and the
	// session is checked again.
	DefaultStreamLifetime = 30 * time.Minute
)

// WatchLimits bound the live progress of announcements. Zero fields take
// the defaults above.
type WatchLimits struct {
	// Interval is how often an announcement that somebody follows is
	// polled, at least MinWatchInterval.
	Interval time.Duration
	// Heartbeat is how long a stream may go without a write; it is
	// counted in intervals.
	Heartbeat time.Duration
	// Lifetime ends a stream, by the newsroom's clock, at its first
	// change or heartbeat after it; the browser reconnects.
	Lifetime time.Duration
	// Streams bounds the open streams of the server, SessionStreams those
	// of one session; a stream beyond either is refused with 429.
	Streams        int
	SessionStreams int
	// Ticks returns a channel that ticks every d and a function that stops
	// it; time.NewTicker's when nil. Tests drive it.
	Ticks func(d time.Duration) (<-chan time.Time, func())
}

// hub shares one watcher per announcement among all the streams that
// follow it, so that the store is polled once per interval whoever
// watches, and not at all when nobody does.
type hub struct {
	store    crier.AnnouncementStore
	log      *slog.Logger
	limits   WatchLimits
	beatEach int // intervals per heartbeat

	mu       sync.Mutex
	watchers map[string]*watcher
	streams  int
	sessions map[[32]byte]int
}

// watcher polls the counts of one announcement for its subscribers.
type watcher struct {
	id   string
	subs map[*subscriber]bool
	last *snapshot // the latest counts, nil before the first poll
	quit chan struct{}
}

// snapshot is the counts of an announcement at one poll.
type snapshot struct {
	counts []crier.Count
	done   bool // every delivery is final
}

// subscriber is one stream. Its fields but notify belong to hub.mu: the
// watcher leaves the latest snapshot and a heartbeat there and nudges the
// stream, which takes them when it can, so that a slow client only ever
// misses intermediate counts.
type subscriber struct {
	notify chan struct{}
	snap   *snapshot
	beat   bool
}

func newHub(store crier.AnnouncementStore, log *slog.Logger, l WatchLimits) *hub {
	l.Interval = max(cmp.Or(l.Interval, DefaultWatchInterval), MinWatchInterval)
	l.Heartbeat = cmp.Or(l.Heartbeat, DefaultHeartbeat)
	l.Lifetime = cmp.Or(l.Lifetime, DefaultStreamLifetime)
	l.Streams = cmp.Or(l.Streams, DefaultStreams)
	l.SessionStreams = cmp.Or(l.SessionStreams, DefaultSessionStreams)
	if l.Ticks == nil {
		l.Ticks = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	return &hub{store: store, log: log, limits: l,
		beatEach: max(int(l.Heartbeat/l.Interval), 1),
		watchers: make(map[string]*watcher), sessions: make(map[[32]byte]int)}
}

// join adds a stream of session for announcement id, or returns false
// when the server or the session has as many streams open as allowed.
func (h *hub) join(id string, session [32]byte) (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams >= h.limits.Streams || h.sessions[session] >= h.limits.SessionStreams {
		return nil, false
	}
	h.streams++
	h.sessions[session]++
	s := &subscriber{notify: make(chan struct{}, 1)}
	w := h.watchers[id]
	if w == nil {
		w = &watcher{id: id, subs: make(map[*subscriber]bool), quit: make(chan struct{})}
		h.watchers[id] = w
		go h.run(w)
	}
	w.subs[s] = true
	if w.last != nil {
		s.snap = w.last
		s.nudge()
	}
	return s, true
}

// leave ends a stream; the last to leave stops its watcher.
func (h *hub) leave(id string, session [32]byte, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.streams--
	if h.sessions[session]--; h.sessions[session] <= 0 {
		delete(h.sessions, session)
	}
	w := h.watchers[id]
	if w == nil || !w.subs[s] {
		return
	}
	delete(w.subs, s)
	if len(w.subs) == 0 {
		delete(h.watchers, id)
		close(w.quit)
	}
}

// take returns what the watcher left for s since the last take.
func (h *hub) take(s *subscriber) (*snapshot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	snap, beat := s.snap, s.beat
	s.snap, s.beat = nil, false
	return snap, beat
}

func (s *subscriber) nudge() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// run polls the counts of w's announcement at once and then at every
// tick, hands every change to the subscribers and a heartbeat to them
// when nothing changed for a while, until every delivery is final or the
// last subscriber left.
func (h *hub) run(w *watcher) {
	ticks, stop := h.limits.Ticks(h.limits.Interval)
	defer stop()
	idle := 0
	for {
		counts, err := h.store.Counts(context.Background(), w.id)
		if err != nil {
			h.log.Error("newsroom: count deliveries", "announcement", w.id, "err", err)
		}
		if h.poll(w, counts, err == nil, &idle) {
			return
		}
		select {
		case <-w.quit:
			return
		case <-ticks:
		}
	}
}

// poll hands the counts of one poll to w's subscribers and reports
// whether the watcher is finished.
func (h *hub) poll(w *watcher, counts []crier.Count, ok bool, idle *int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-w.quit:
		return true
	default:
	}
	if ok && (w.last == nil || !slices.Equal(w.last.counts, counts)) {
		*idle = 0
		w.last = &snapshot{counts: counts, done: final(counts)}
		for s := range w.subs {
			s.snap = w.last
			s.nudge()
		}
		if w.last.done {
			// Finished: the streams end with this snapshot. A stream that
			// opens later starts a watcher of its own.
			if h.watchers[w.id] == w {
				delete(h.watchers, w.id)
			}
			return true
		}
		return false
	}
	if *idle++; *idle >= h.beatEach {
		*idle = 0
		for s := range w.subs {
			s.beat = true
			s.nudge()
		}
	}
	return false
}

// final reports whether every delivery counted is final.
func final(counts []crier.Count) bool {
	for _, c := range counts {
		if c.N > 0 && !c.State.Final() {
			return false
		}
	}
	return true
}

// events streams the progress of one announcement as server-sent events:
// an event "progress" with the progress table's data as JSON (see
// progress) whenever it changes, the first at once; a comment as a
// heartbeat; and an event "end" once every delivery is final. It shows
// only the towns the person may read, and refuses a stream beyond the
// limits with 429.
func (n *Newsroom) events(w http.ResponseWriter, r *http.Request, v *visit) {
	a, towns, err := n.readableAnnouncement(r, v)
	if err != nil {
		n.fail(w, r, v, err)
		return
	}
	session := crier.TokenHash(v.secret)
	s, ok := n.hub.join(a.ID, session)
	if !ok {
		w.Header().Set("Retry-After", "10")
		n.errorPage(w, r, v, http.StatusTooManyRequests, "watch.too_many_streams")
		return
	}
	defer n.hub.leave(a.ID, session, s)

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	// The browser waits this long before it opens a stream again that
	// ended without "end" (its lifetime, a restart).
	write := func(b []byte) bool {
		// The server's write timeout would end a long stream; each write
		// gets its own deadline instead, which a stuck client misses.
		_ = rc.SetWriteDeadline(time.Now().Add(2*n.hub.limits.Heartbeat + 10*time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: " + strconv.Itoa(int(max(n.hub.limits.Interval, 2*time.Second)/time.Millisecond)) + "\n\n")) {
		return
	}
	var last []byte
	end := n.clock.Now().Add(n.hub.limits.Lifetime)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.notify:
		}
		snap, beat := n.hub.take(s)
		if !n.clock.Now().Before(end) {
			return // without "end": the browser opens it again, signed in or not
		}
		if snap != nil {
			data, err := json.Marshal(newProgress(v.lang, snap.counts, towns, snap.done))
			if err != nil {
				n.log.Error("newsroom: encode progress", "err", err)
				return
			}
			if !bytes.Equal(data, last) {
				last = data
				if !write(sseEvent("progress", data)) {
					return
				}
			}
			if snap.done {
				write(sseEvent("end", []byte("{}")))
				return
			}
		}
		if beat {
			if !write([]byte(": ping\n\n")) {
				return
			}
		}
	}
}

// sseEvent formats one server-sent event; data is JSON and has no line
// breaks.
func sseEvent(name string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(name)+16)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
