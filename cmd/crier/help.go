package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Help for one command or sub-command, from the command table: a
// synopsis, what it does, its sub-commands, its flags and examples. As
// with the flag package, it goes to stderr, with exit 0 when -h or --help
// asked for it and exit 2 after a wrong flag.

// asksHelp reports whether args ask for help before a "--".
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// lookup returns the table entry for a command path such as "schedule add"
// and the path of its parent ("" for a top-level command).
func lookup(path string) (c command, parent string, ok bool) {
	name, sub, _ := strings.Cut(path, " ")
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if sub == "" {
			return c, "", true
		}
		for _, s := range c.subs {
			if s.name == sub {
				return s, name, true
			}
		}
	}
	return command{}, "", false
}

// synopsis is the command line of c, without "crier ".
func synopsis(c command, parent string) string {
	if c.usage != "" {
		return c.usage
	}
	return strings.TrimSpace(strings.TrimSpace(parent+" "+c.name) + " " + c.args)
}

// printHelp writes the help of the command at path to w; fs, when not nil,
// gives its flags.
func printHelp(w io.Writer, path string, fs *flag.FlagSet) {
	c, parent, ok := lookup(path)
	if !ok {
		fmt.Fprintf(w, "Usage: crier %s\n", path)
		if fs != nil {
			fs.PrintDefaults()
		}
		return
	}
	fmt.Fprintf(w, "Usage: crier %s\n\n%s.\n", synopsis(c, parent), upperFirst(c.help))
	examples := []string{c.example}
	if len(c.subs) > 0 {
		fmt.Fprintln(w, "\nSub-commands:")
		for _, s := range c.subs {
			fmt.Fprintf(w, "  crier %s\n      %s\n", synopsis(s, c.name), s.help)
			examples = append(examples, s.example)
		}
	}
	if fs != nil && hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	examples = slices.DeleteFunc(examples, func(e string) bool { return e == "" })
	if len(examples) == 1 {
		fmt.Fprintln(w, "\nExample:")
	} else {
		fmt.Fprintln(w, "\nExamples:")
	}
	for _, e := range examples {
		if e != "" {
			fmt.Fprintf(w, "  crier %s\n", e)
		}
	}
	if len(c.subs) > 0 && fs == nil {
		fmt.Fprintf(w, "\nRun \"crier %s SUB-COMMAND -h\" for a sub-command's flags.\n", c.name)
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// subHelp answers "crier NAME -h" for a command whose first argument is a
// sub-command: it prints the command's help and returns flag.ErrHelp, or
// nil when args do not ask for help.
func (m *Main) subHelp(name string, args []string) error {
	if len(args) == 0 || !asksHelp(args[:1]) {
		return nil
	}
	printHelp(m.Stderr, name, nil)
	return flag.ErrHelp
}
