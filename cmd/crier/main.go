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
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // time zones on machines without zone data

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
)

// version can be set at build time with -ldflags "-X main.version=…";
// left at "dev", the module version from the build information is shown.
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

// command is one entry of the command table. Every command and
// sub-command answers -h and --help with its synopsis, what it does, its
// flags and an example, all taken from here.
type command struct {
	name, args, help string
	run              func(m *Main, ctx context.Context, args []string) error
	example          string    // one command line, without the leading "crier "
	usage            string    // the synopsis without "crier ", when it is not "NAME ARGS"
	subs             []command // sub-commands; their run is unused
}

// commands returns the command table, in the order "crier help" shows it.
func commands() []command {
	return []command{
		{name: "serve", args: "[--config FILE]", help: "run the API, the delivery workers and the queue", run: (*Main).serve,
			example: "serve --config /etc/crier/crier.yaml"},
		{name: "publish", args: "FILE [--wait] [--again] [--submit | --skip-approval]", help: "publish an announcement file (Markdown with YAML front matter); where approval is required it waits for an approver", run: (*Main).publish,
			example: "publish notice.md --wait"},
		{name: "preview", args: "FILE [--town ID] [--channel ID]", help: "render every message and list every problem, without a server", run: (*Main).preview,
			example: "preview notice.md --town soest"},
		{name: "check", args: "[--config FILE] [--timeout D] [--endpoint-timeout D]", help: "check every endpoint over its network, without a server; exit 0 all primaries up, 3 some channel only on a secondary, 1 some channel down", run: (*Main).check,
			example: "check --timeout 30s"},
		{name: "update", args: "ID FILE [--wait] [--submit | --skip-approval]", help: "publish a correction: channels edit or answer their posts, email and webhooks send it", run: (*Main).update,
			example: "update k7xq2m4vbn3c5dfe correction.md --wait"},
		{name: "cancel", args: "ID [--reason TEXT] [--wait]", help: "withdraw an announcement: posts are deleted, unsent deliveries never go out", run: (*Main).cancel,
			example: `cancel k7xq2m4vbn3c5dfe --reason "Die Störung ist behoben."`},
		{name: "pending", args: "[--all]", help: "list what waits for approval in your towns; --all adds what was approved, rejected (with the reason) or withdrawn", run: (*Main).pending,
			example: "pending"},
		{name: "approve", args: "ID [--wait]", help: "approve what an editor submitted: it is published, or scheduled at its publish_at", run: (*Main).approve,
			example: "approve k7xq2m4vbn3c5dfe --wait"},
		{name: "reject", args: "ID --reason TEXT", help: "reject what an editor submitted; the author sees the reason", run: (*Main).reject,
			example: `reject k7xq2m4vbn3c5dfe --reason "Telefonnummer fehlt."`},
		{name: "withdraw", args: "ID", help: "take back your own submission while it waits for approval", run: (*Main).withdraw,
			example: "withdraw k7xq2m4vbn3c5dfe"},
		{name: "status", args: "ID [--watch]", help: "show delivery progress of an announcement", run: (*Main).status,
			example: "status k7xq2m4vbn3c5dfe --watch"},
		{name: "deliveries", args: "ID [--town ID] [--channel ID] [--state S]", help: "list deliveries of an announcement", run: (*Main).deliveries,
			example: "deliveries k7xq2m4vbn3c5dfe --state failed"},
		{name: "retry", args: "ID [--failed] [--unknown]", help: "queue failed or unknown deliveries of the latest revision again", run: (*Main).retry,
			example: "retry k7xq2m4vbn3c5dfe --failed"},
		{name: "list", args: "[-n N]", help: "list recent announcements with their state, newest first", run: (*Main).list,
			example: "list -n 50"},
		{name: "captures", args: "[ID] [-n N] [--full]", help: "show what the exercise sink received, newest first", run: (*Main).captures,
			example: "captures k7xq2m4vbn3c5dfe --full"},
		{name: "subscribers", args: "import|export|add|remove|invite|erase|show …", help: "manage a town's email list", run: (*Main).subscribers,
			example: "subscribers export --town soest", subs: []command{
				{name: "import", args: "FILE --town ID [--confirmed --source TEXT] [--max-size SIZE]", help: "add or update addresses from a CSV file (email[,name], optional header); every bad row is reported before anything is written",
					example: "subscribers import --town soest liste.csv"},
				{name: "export", args: "--town ID [--state S]", help: "write a town's list as CSV to stdout",
					example: "subscribers export --town soest --state confirmed"},
				{name: "add", args: "ADDRESS --town ID [--name NAME] [--confirmed --source TEXT]", help: "add or update one address",
					example: "subscribers add --town soest anna@example.org"},
				{name: "remove", args: "ADDRESS --town ID", help: "unsubscribe one address",
					example: "subscribers remove --town soest anna@example.org"},
				{name: "invite", args: "--town ID", help: "send every pending address a confirmation mail, as the subscribe form does (at most one per address and hour)",
					example: "subscribers invite --town soest"},
				{name: "erase", args: "(--town ID | --all-towns) ADDRESS", help: "erase an address (DSGVO Art. 17): off the list, and a pseudonym in its place in every delivery, attempt and capture; mail still queued to it is canceled",
					example: "subscribers erase --all-towns anna@example.org"},
				{name: "show", args: "ADDRESS", help: "write everything stored about an address as JSON (DSGVO Art. 15): list entries, deliveries with their attempts, captures",
					example: "subscribers show anna@example.org > auskunft.json"},
			}},
		{name: "purge", args: "", help: "apply the retention period (privacy.retention) now; serve also does every hour", run: (*Main).purge,
			example: "purge"},
		{name: "schedule", args: "add|list|show|edit|pause|resume|remove", help: "publish later: once (publish_at) or by a cron spec", run: (*Main).schedules,
			example: "schedule list", subs: []command{
				{name: "add", args: "FILE [--cron SPEC | --at TIME] [--until DATE] [--expires-after D] [--again]", help: "publish a file later: once, or on every run of a cron spec",
					example: `schedule add sprechstunde.md --cron "0 8 * * 1-5" --until 2026-12-31`},
				{name: "list", args: "[--all]", help: "list the schedules that are still to fire",
					example: "schedule list --all"},
				{name: "show", args: "ID", help: "show a schedule and its runs",
					example: "schedule show p3rt6yw2hq8sm4na"},
				{name: "edit", args: "ID [FILE] [--cron SPEC] [--at TIME] [--until DATE] [--expires-after D]", help: "change a schedule's text or times",
					example: `schedule edit p3rt6yw2hq8sm4na --at "2026-12-01 09:00"`},
				{name: "pause", args: "ID", help: "stop a schedule from firing until it is resumed",
					example: "schedule pause p3rt6yw2hq8sm4na"},
				{name: "resume", args: "ID", help: "let a paused schedule fire again",
					example: "schedule resume p3rt6yw2hq8sm4na"},
				{name: "remove", args: "ID", help: "remove a schedule: it never fires again",
					example: "schedule remove p3rt6yw2hq8sm4na"},
			}},
		{name: "endpoints", args: "[reset CHANNEL ENDPOINT]", help: "show the running server's view of every endpoint, or clear one that is gone", run: (*Main).endpoints,
			example: "endpoints", subs: []command{
				{name: "reset", args: "CHANNEL ENDPOINT", help: "clear gone, a refused probe and an open breaker of one endpoint",
					example: "endpoints reset radio radio.example"},
			}},
		{name: "services", args: "TOWN [set|remove|clear …]", help: "show or change a town's service status on the website, without an announcement", run: (*Main).services,
			example: "services soest", subs: []command{
				{name: "set", usage: "services TOWN set SERVICE up|limited|down|- TEXT", help: "add or replace one line of the town's list",
					example: `services soest set Bürgerbüro down "geschlossen bis Montag"`},
				{name: "remove", usage: "services TOWN remove SERVICE", help: "remove one line",
					example: "services soest remove Bürgerbüro"},
				{name: "clear", usage: "services TOWN clear", help: "go back to the list in the configuration",
					example: "services soest clear"},
			}},
		{name: "users", args: "add|list|disable|reset-password|set …", help: "manage the accounts of press officers, mayors and operators (works next to a running serve)", run: (*Main).users,
			example: "users list", subs: []command{
				{name: "add", args: "NAME --role admin|editor|approver|viewer [--towns LIST] [--actual] [--password-stdin]", help: "add a user with a role in some towns or groups; the password (at least 12 characters, not a common one) is prompted without echo or read from stdin; --actual lets them publish real notices, not only exercises",
					example: "users add anna --role editor --towns soest,werl"},
				{name: "list", args: "", help: "list every user with role, towns and whether disabled",
					example: "users list"},
				{name: "disable", args: "NAME", help: "disable a user: their API tokens stop working with the next request",
					example: "users disable anna"},
				{name: "reset-password", args: "NAME [--password-stdin]", help: "set a new password for a user",
					example: "users reset-password anna"},
				{name: "set", args: "NAME --actual=true|false", help: "allow a user to publish real notices (mode actual), or take it back; new users publish exercises only",
					example: "users set anna --actual=true"},
			}},
		{name: "login", args: "[NAME] [--server URL] [--password-stdin]", help: "sign in at the server with your name and password; later commands use the API token it saves (when CRIER_TOKEN is not set)", run: (*Main).login,
			example: "login anna --server https://krisen.kreis-soest.example"},
		{name: "logout", args: "[--server URL]", help: "revoke the token crier login saved for the server and forget it", run: (*Main).logout,
			example: "logout --server https://krisen.kreis-soest.example"},
		{name: "tokens", args: "add|list|revoke …", help: "manage the users' API tokens (works next to a running serve)", run: (*Main).tokens,
			example: "tokens list anna", subs: []command{
				{name: "add", args: "USER [--name NAME]", help: "make an API token for a user; it is printed this once only, for CRIER_TOKEN",
					example: "tokens add anna --name laptop"},
				{name: "list", args: "[USER]", help: "list tokens with when they were made, last used and revoked, never their secrets",
					example: "tokens list anna"},
				{name: "revoke", args: "ID", help: "revoke a token: its next request is refused",
					example: "tokens revoke 3"},
			}},
		{name: "audit", args: "[--since T] [--until T] [--user N] [--action A] [--town ID] [--format F] | verify", help: "export the audit trail (who changed what, when, from where; admins only), or verify its hash chain", run: (*Main).audit,
			example: "audit --since 2026-12-01 --format csv > audit.csv", subs: []command{
				{name: "verify", args: "[--config FILE] [--data-dir DIR] [--known N:HASH]", help: "check the hash chain in the database file (works next to a running serve): exit 0 and the head (N:HASH, to note elsewhere) when intact and every --known head is still there, 1 naming the first broken entry",
					example: "audit verify"},
			}},
		{name: "site", args: "export DIR [--base-url URL]", help: "write the emergency website as static files (works next to a running serve)", run: (*Main).siteCommand,
			example: "site export /var/www/notfall", subs: []command{
				{name: "export", args: "DIR [--config FILE] [--data-dir DIR] [--base-url URL]", help: "write every page, feed and CAP document to DIR",
					example: "site export /var/www/notfall --base-url https://notfall.example"},
			}},
		{name: "bench", args: "[--smoke] [--row NAMES] [--json FILE]", help: "measure crier here against loopback sinks: one table, pass/fail per target", run: (*Main).bench,
			example: "bench --smoke"},
		{name: "version", args: "", help: "print the version, the commit and when it was built", run: (*Main).printVersion,
			example: "version"},
	}
}

// Run runs the command named by args[0] and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) > 1 && args[0] == "help" {
		// "crier help publish" is "crier publish -h"; "crier help
		// subscribers add" is "crier subscribers add -h".
		return m.Run(ctx, append(args[1:len(args):len(args)], "-h"))
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage(m.Stdout)
		return exitOK
	}
	for _, c := range commands() {
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
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %-40s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nRun \"crier COMMAND -h\" for a command's synopsis, flags and an example.")
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
	case crier.ErrorCode(err) == crier.EINVALID, crier.ErrorCode(err) == server.CodeTooLarge:
		// The first line says what was refused; each problem follows in
		// the reader's language.
		head, _, _ := strings.Cut(err.Error(), "\n")
		fmt.Fprintf(m.Stderr, "crier: %s\n", head)
		for _, p := range crier.ErrorDetails(err) {
			fmt.Fprintf(m.Stderr, "  %s\n", m.problemText(m.localProblem(p)))
		}
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
	fs := m.flags("version")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError("version takes no arguments")
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	fmt.Fprintln(m.Stdout, "crier", versionString(version, bi))
	return nil
}

// versionString says which crier this is: the version set with -ldflags,
// else the module version, followed by the commit, its time, whether the
// work tree had changes, and the Go version, as far as the build recorded
// them:
//
//	v1.2.0 (commit 3f2c1a9e8b7d, 2026-12-01T10:00:00Z, modified, go1.26.8)
//
// Without build information it is "dev", or what -ldflags set.
func versionString(set string, bi *debug.BuildInfo) string {
	if bi == nil {
		return set
	}
	v := set
	if v == "dev" {
		v = bi.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var details []string
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		details = append(details, "commit "+rev[:min(len(rev), 12)])
	}
	if t := settings["vcs.time"]; t != "" {
		details = append(details, t)
	}
	if settings["vcs.modified"] == "true" {
		details = append(details, "modified")
	}
	if bi.GoVersion != "" {
		details = append(details, bi.GoVersion)
	}
	if len(details) == 0 {
		return v
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}

// flags returns a flag set that prints to the command's stderr.
func (m *Main) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("crier "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { printHelp(fs.Output(), name, fs) }
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
