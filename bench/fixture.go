package bench

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// fixture is the testing.TB that the loopback fakes of the channel
// packages (smtptest, webhooktest, mastodontest, slackfake) take, for use
// outside a test. Their constructors call only Helper, Fatalf and
// Cleanup; fixture implements those and a few more, keeps the cleanups
// until close, and turns a fatal error into a panic that the row running
// the fake recovers as its error. Any other method of testing.TB would
// call the nil embedded interface and panic, which a row also reports.
type fixture struct {
	testing.TB // nil: present only to satisfy the interface's unexported method

	mu       sync.Mutex
	cleanups []func()
}

// fatal is the panic value of fixture.Fatalf.
type fatal struct{ err error }

func (f *fixture) Helper() {}

// Cleanup registers fn to run at close, after the functions registered
// later.
func (f *fixture) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

func (f *fixture) Fatalf(format string, args ...any) {
	panic(fatal{fmt.Errorf(format, args...)})
}

func (f *fixture) Fatal(args ...any) { panic(fatal{fmt.Errorf("%s", fmt.Sprint(args...))}) }

func (f *fixture) Errorf(format string, args ...any) { f.Fatalf(format, args...) }

func (f *fixture) Error(args ...any) { f.Fatal(args...) }

func (f *fixture) Logf(string, ...any) {}

func (f *fixture) Log(...any) {}

func (f *fixture) Name() string { return "crier-bench" }

// close runs the cleanups, last registered first, and forgets them.
func (f *fixture) close() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for _, fn := range slices.Backward(fns) {
		fn()
	}
}

// recoverFatal turns a fixture's fatal panic into *err; other panics go on.
func recoverFatal(err *error) {
	switch p := recover().(type) {
	case nil:
	case fatal:
		*err = p.err
	default:
		panic(p)
	}
}
