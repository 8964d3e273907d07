package schedule_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without zone data

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// local returns a wall-clock time in Europe/Berlin.
func local(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, berlin)
}

// clock is a crier.Clock that stands still until a test moves it. Like a
// real timer, After fires once the clock has been moved past its
// deadline, so that Scheduler.Run can be driven without sleeping.
type clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	// waiting receives a value each time someone starts waiting.
	waiting chan struct{}
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newClock(now time.Time) *clock { return &clock{now: now, waiting: make(chan struct{}, 100)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t and fires the waiters whose time has come.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.c <- t
	}
	c.waiters = kept
}

// After returns a channel that receives once the clock reads now+d.
func (c *clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, waiter{at: c.now.Add(d), c: ch})
	}
	select {
	case c.waiting <- struct{}{}:
	default:
	}
	return ch
}

// stub is a channel that is never asked to send: the engine only renders.
type stub struct{}

func (stub) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return nil, errors.New("stub does not send")
}

// fixture is a scheduler over a real SQLite file and a real engine with
// the built-in templates, for two towns with a webhook channel each.
type fixture struct {
	t      *testing.T
	path   string
	clock  *clock
	db     *sqlite.DB
	engine *crier.Engine
	sched  *schedule.Scheduler
	logs   *logBuffer
	ids    int
}

func newFixture(t *testing.T, now time.Time) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "crier.db"), clock: newClock(now), logs: &logBuffer{}}
	f.open()
	t.Cleanup(func() {
		if f.db != nil {
			f.db.Close()
		}
	})
	return f
}

// open opens the database and builds a new engine and scheduler on it:
// what a crier process does when it starts.
func (f *fixture) open() {
	f.t.Helper()
	db, err := sqlite.Open(context.Background(), f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := templates.New(templates.Options{Clock: f.clock})
	if err != nil {
		f.t.Fatal(err)
	}
	towns := []*crier.Town{
		{ID: "soest", Name: "Stadt Soest", AGS: "05974040", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02921 103-0"}, Channels: []string{"radio"}},
		{ID: "werl", Name: "Stadt Werl", AGS: "05974052", Language: "de", TimeZone: "Europe/Berlin",
			Vars: map[string]string{"phone": "02922 800-0"}, Channels: []string{"radio"}},
	}
	f.db = db
	f.engine = &crier.Engine{
		Directory: crier.NewDirectory(towns, map[string][]string{"kreis-soest": {"soest", "werl"}}),
		Channels:  map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Deduplicates: true, Channel: stub{}}},
		Renderer:  r, Store: db, Clock: f.clock, Mode: crier.ModeExercise, PublicURL: "https://krisen.example",
	}
	f.sched = &schedule.Scheduler{
		Store: db, Engine: f.engine, Clock: f.clock,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		NewID: func() string {
			f.ids++
			return "sched" + string(rune('a'+f.ids-1))
		},
	}
}

// restart closes the database as a process that stops or dies would, and
// opens it again with a new engine and scheduler at the clock's time.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

// tick runs the scheduler once at t and fails the test on an error.
func (f *fixture) tick(t time.Time) time.Time {
	f.t.Helper()
	f.clock.Set(t)
	next, err := f.sched.Tick(context.Background())
	if err != nil {
		f.t.Fatalf("Tick at %v: %v", t, err)
	}
	return next
}

// create creates a schedule and fails the test on an error. It creates
// a repeat of a pending schedule as well: tests that two schedules of one
// notice fire apart need them.
func (f *fixture) create(sc *crier.Schedule) *crier.Schedule {
	f.t.Helper()
	stored, _, err := f.sched.Create(context.Background(), sc, "", true)
	if err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return stored
}

// announcements returns every announcement in the database by id.
func (f *fixture) announcements() []*crier.Announcement {
	f.t.Helper()
	as, err := f.db.Announcements(context.Background(), 0)
	if err != nil {
		f.t.Fatal(err)
	}
	sort.Slice(as, func(i, j int) bool { return as[i].ID < as[j].ID })
	return as
}

// runs returns a schedule's runs, oldest first.
func (f *fixture) runs(id string) []*crier.ScheduleRun {
	f.t.Helper()
	rs, err := f.db.Runs(context.Background(), id, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

func (f *fixture) schedule(id string) *crier.Schedule {
	f.t.Helper()
	sc, err := f.db.Schedule(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return sc
}

// notice is the recurring outage notice of the issue.
func notice() *crier.Announcement {
	return &crier.Announcement{
		Title: "IT-Ausfall: Stand {{date}}",
		Body:  "Am {{weekday}}, {{date}}, {{time}} Uhr, ist die {{.Town.Name}} telefonisch unter {{.Vars.phone}} erreichbar.",
		Towns: []string{"kreis-soest"},
	}
}

// logBuffer collects log lines; it is safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
