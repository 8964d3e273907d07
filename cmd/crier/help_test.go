package main

import (
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpEveryCommand walks the command table: -h and --help on every
// command and sub-command exit 0 and print the synopsis and an
// example, so that a new command cannot leave its help out.
func TestHelpEveryCommand(t *testing.T) {
	type target struct{ args, synopsis, example string }
	var targets []target
	for _, c := range commands() {
		targets = append(targets, target{c.name, "Usage: crier " + synopsis(c, ""), c.example})
		for _, s := range c.subs {
			targets = append(targets, target{c.name + " " + s.name, "crier " + synopsis(s, c.name), s.example})
		}
	}
	for _, tg := range targets {
		if tg.example == "" {
			t.Errorf("crier %s: no example in the command table", tg.args)
			continue
		}
		for _, h := range []string{"-h", "--help"} {
			args := append(strings.Fields(tg.args), h)
			code, out, errOut := run(t, nil, args...)
			if code != exitOK {
				t.Errorf("crier %s: exit %d, want 0\n%s%s", strings.Join(args, " "), code, out, errOut)
				continue
			}
			for _, want := range []string{tg.synopsis, "crier " + tg.example} {
				if !strings.Contains(errOut, want) {
					t.Errorf("crier %s: help lacks %q:\n%s", strings.Join(args, " "), want, errOut)
				}
			}
			if !strings.Contains(errOut, "Example") {
				t.Errorf("crier %s: no example heading:\n%s", strings.Join(args, " "), errOut)
			}
		}
		// "crier help CMD [SUB]" shows the same help.
		args := append([]string{"help"}, strings.Fields(tg.args)...)
		if code, _, errOut := run(t, nil, args...); code != exitOK || !strings.Contains(errOut, tg.synopsis) {
			t.Errorf("crier %s: exit %d, want 0 and the synopsis\n%s", strings.Join(args, " "), code, errOut)
		}
	}
}

// TestHelpNamesSubCommandsAndFlags: a command with sub-commands lists
// them, and a command's help lists its flags.
func TestHelpNamesSubCommandsAndFlags(t *testing.T) {
	_, _, help := run(t, nil, "services", "-h")
	for _, want := range []string{"crier services TOWN set", "crier services TOWN remove", "crier services TOWN clear", "-token-file"} {
		if !strings.Contains(help, want) {
			t.Errorf("services -h lacks %q:\n%s", want, help)
		}
	}
	_, _, help = run(t, nil, "schedule", "--help")
	for _, want := range []string{"crier schedule add", "crier schedule pause", "crier schedule remove"} {
		if !strings.Contains(help, want) {
			t.Errorf("schedule --help lacks %q:\n%s", want, help)
		}
	}
	// A wrong flag is still a usage error, with the help on stderr.
	code, out, errOut := run(t, nil, "list", "--no-such-flag")
	if code != exitInvalid || out != "" || !strings.Contains(errOut, "Usage: crier list") {
		t.Errorf("list --no-such-flag: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

func TestVersionString(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/crierhq/crier", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "3f2c1a9e8b7d6c5b4a39281706f5e4d3c2b1a090"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		set  string
		bi   *debug.BuildInfo
		want string
	}{
		{"dev", bi, "v1.2.0 (commit 3f2c1a9e8b7d, 2026-12-01T10:00:00Z, modified, go1.26.8)"},
		{"v1.2.1-rc1", bi, "v1.2.1-rc1 (commit 3f2c1a9e8b7d, 2026-12-01T10:00:00Z, modified, go1.26.8)"},
		{"dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "devel (go1.26.8)"},
		{"dev", nil, "dev"},
	} {
		if got := versionString(tc.set, tc.bi); got != tc.want {
			t.Errorf("versionString(%q, …) = %q, want %q", tc.set, got, tc.want)
		}
	}
}

// TestVersionCommand: a binary with build information says more than
// "dev".
func TestVersionCommand(t *testing.T) {
	code, out, _ := run(t, nil, "version")
	if code != exitOK || !regexp.MustCompile(`^crier \S+ \(.*go1\.\d+.*\)\n$`).MatchString(out) {
		t.Errorf("crier version: exit %d, %q", code, out)
	}
}

// TestTokenFlagHelp: --token-file names a file; $CRIER_TOKEN holds the
// token itself, and the help must not read as if it named a file.
func TestTokenFlagHelp(t *testing.T) {
	_, _, help := run(t, nil, "list", "-h")
	if !strings.Contains(help, "-token-file FILE") || !strings.Contains(help, "the token in $CRIER_TOKEN") {
		t.Errorf("list -h on the token:\n%s", help)
	}
}
