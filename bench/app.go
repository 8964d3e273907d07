package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier"
)

// App is crier as serve builds it from a configuration, on one data
// directory, with nothing started.
type App struct {
	Engine  *crier.Engine
	Workers *crier.Workers
	Store   Store
	// Close releases the channels' connections and the store.
	Close func() error
}

// Store is what the rows use of crier's store.
type Store interface {
	crier.AnnouncementStore
	crier.SubscriberStore
	crier.Queue
}

// Builder builds crier from the configuration file config, with its data
// in dataDir, exactly as "crier serve" does, and starts nothing. Package
// bench gets it from the command, the one place that wires crier, so that
// the rows measure the same wiring serve runs: endpoint chains, breakers,
// networks, templates and signed unsubscribe links.
type Builder func(ctx context.Context, config, dataDir string) (*App, error)

// build writes config to dir/crier.yaml and builds crier on dir/data.
func (r *runner) build(ctx context.Context, dir, config string) (*App, error) {
	path, err := writeConfig(dir, config)
	if err != nil {
		return nil, err
	}
	return r.opts.Build(ctx, path, dataDir(dir))
}

// dataDir is the data directory of the crier configured in dir.
func dataDir(dir string) string { return filepath.Join(dir, "data") }

// writeConfig writes config to dir/crier.yaml and returns its path.
func writeConfig(dir, config string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "crier.yaml")
	return path, os.WriteFile(path, []byte(config), 0o600)
}

// finals counts the deliveries whose attempt ended in a final state, as
// the workers report them through their Observe hook, so that waiting for
// the end costs no queries while the workers run.
type finals struct {
	n, want atomic.Int64
	once    sync.Once
	done    chan struct{}
}

// watch makes w report to a new finals counter; call it before w runs.
func watch(w *crier.Workers) *finals {
	f := &finals{done: make(chan struct{})}
	f.want.Store(-1)
	w.Observe = func(_ *crier.Job, o *crier.Outcome, _ time.Duration) {
		if o.State.Final() && f.n.Add(1) == f.want.Load() {
			f.once.Do(func() { close(f.done) })
		}
	}
	return f
}

// expect sets how many final outcomes to wait for. It may be called after
// the deliveries have started.
func (f *finals) expect(n int) {
	f.want.Store(int64(n))
	if f.n.Load() >= int64(n) {
		f.once.Do(func() { close(f.done) })
	}
}

// wait returns once n outcomes are final and recorded: the workers
// reported them and the queue holds nothing queued or sending, which is
// one exchange later.
func (f *finals) wait(ctx context.Context, q crier.Queue, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	select {
	case <-f.done:
	case <-ctx.Done():
		return fmt.Errorf("%d of %d deliveries final after %v", f.n.Load(), f.want.Load(), within)
	}
	for {
		depth, err := q.Depth(ctx)
		if err != nil {
			return fmt.Errorf("queue depth: %w", err)
		}
		left := 0
		for _, n := range depth {
			left += n
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d deliveries still queued or sending after %v", left, within)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// allSent checks that every delivery of the announcement was sent.
func allSent(ctx context.Context, s crier.AnnouncementStore, id string, want int) error {
	counts, err := s.Counts(ctx, id)
	if err != nil {
		return err
	}
	sent, other := 0, map[crier.State]int{}
	for _, c := range counts {
		if c.State == crier.StateSent {
			sent += c.N
		} else {
			other[c.State] += c.N
		}
	}
	if sent != want {
		return fmt.Errorf("%d of %d deliveries sent; the others: %v", sent, want, other)
	}
	return nil
}

// runWorkers runs w until the returned stop is called; stop waits for
// them to finish.
func runWorkers(ctx context.Context, w *crier.Workers) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	return func() error {
		cancel()
		return <-ran
	}
}
