// Command crier publishes one announcement for many towns through every
// channel they use, and keeps delivering when the primary infrastructure is
// down. Run "crier help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones on machines without zone data

	"github.com/crierhq/crier"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // something failed: a delivery, the server, the network
	exitInvalid = 2 // bad input or usage; nothing was changed
	// exitSecondary: crier check found every channel reachable, some only
	// through a secondary endpoint.
	exitSecondary = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC(os.Getenv)
	m := NewMain()
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main is the program: it parses the command line, builds what the command
// needs from the configuration, runs it, and closes everything. Tests run
// it in-process with their own streams, environment and clock.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Clock  crier.Clock
	// OnListen, when set, is called by serve with the API's base URL once
	// it listens.
	OnListen func(url string)
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Clock: crier.SystemClock{}}
}

type command struct {
	name, args, help string
	run              func(m *Main, ctx context.Context, args []string) error
}

var commands = []command{
	{"serve", "[--config FILE]", "run the API, the delivery workers and the queue", (*Main).serve},
	{"publish", "FILE [--wait]", "publish an announcement file (Markdown with YAML front matter)", (*Main).publish},
	{"preview", "FILE [--town ID] [--channel ID]", "render every message and list every problem, without a server", (*Main).preview},
	{"check", "[--config FILE] [--timeout D] [--endpoint-timeout D]", "check every endpoint over its network, without a server; exit 0 all primaries up, 3 some channel only on a secondary, 1 some channel down", (*Main).check},
	{"update", "ID FILE [--wait]", "publish a correction: channels edit or answer their posts, email and webhooks send it", (*Main).update},
	{"cancel", "ID [--reason TEXT] [--wait]", "withdraw an announcement: posts are deleted, unsent deliveries never go out", (*Main).cancel},
	{"status", "ID [--watch]", "show delivery progress of an announcement", (*Main).status},
	{"deliveries", "ID [--town ID] [--channel ID] [--state S]", "list deliveries of an announcement", (*Main).deliveries},
	{"retry", "ID [--failed] [--unknown]", "queue failed or unknown deliveries of the latest revision again", (*Main).retry},
	{"list", "", "list recent announcements", (*Main).list},
	{"captures", "[ID]", "show what the exercise sink received", (*Main).captures},
	{"subscribers", "import|export|add|remove …", "manage a town's email list", (*Main).subscribers},
	{"schedule", "add|list|show|edit|pause|resume|remove", "publish later: once (publish_at) or by a cron spec", (*Main).schedules},
	{"endpoints", "[reset CHANNEL ENDPOINT]", "show the running server's view of every endpoint, or clear one that is gone", (*Main).endpoints},
	{"services", "TOWN [set|remove|clear …]", "show or change a town's service status on the website, without an announcement", (*Main).services},
	{"site", "export DIR [--base-url URL]", "write the emergency website as static files (works next to a running serve)", (*Main).siteCommand},
	{"bench", "[--smoke] [--row NAMES] [--json FILE]", "measure crier here against loopback sinks: one table, pass/fail per target", (*Main).bench},
	{"version", "", "print the version", (*Main).printVersion},
}

// Run runs the command named by args[0] and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage(m.Stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return m.exit(c.run(m, ctx, args[1:]))
		}
	}
	fmt.Fprintf(m.Stderr, "crier: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
	return exitInvalid
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "crier: one announcement, every town, every channel.")
	fmt.Fprintln(w, "\nUsage: crier COMMAND [ARGS]")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %-40s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nRun \"crier COMMAND -h\" for a command's flags.")
}

// exit prints err and maps it to an exit code.
func (m *Main) exit(err error) int {
	if err == nil {
		return exitOK
	}
	var fail *failure
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &fail):
		return fail.code
	case errors.As(err, new(usageError)):
		fmt.Fprintf(m.Stderr, "crier: %v\n", err)
		return exitInvalid
	case crier.ErrorCode(err) == crier.EINVALID:
		fmt.Fprintf(m.Stderr, "crier: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(m.Stderr, "crier: %v\n", err)
	return exitFailure
}

// flagError turns a command-line error into a usage error, except a
// request for help, which has been answered already.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError(err.Error())
}

// usageError is a wrong command line.
type usageError string

func (e usageError) Error() string { return string(e) }

// failure is an outcome the command has already reported; it only carries
// the exit code.
type failure struct{ code int }

func (f *failure) Error() string { return fmt.Sprintf("exit %d", f.code) }

func (m *Main) printVersion(ctx context.Context, args []string) error {
	fmt.Fprintln(m.Stdout, "crier", version)
	return nil
}

// flags returns a flag set that prints to the command's stderr.
func (m *Main) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("crier "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs
}

// parse parses flags that may stand before and after positional arguments,
// as in "crier publish notice.md --wait".
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
