package templates

import (
	"slices"
	"testing"
	"text/template/parse"

	"github.com/crierhq/crier/locale"
)

// TestLocaleKeys checks that every locale key the built-in templates and
// this package use exists in the catalogue; locale's own tests check that
// each key has every language.
func TestLocaleKeys(t *testing.T) {
	defaults, err := parseDefaults()
	if err != nil {
		t.Fatal(err)
	}
	used := make(map[string][]string) // key → templates
	for _, tm := range defaults {
		var tree *parse.Tree
		if tm.html != nil {
			tree = tm.html.Tree
		} else {
			tree = tm.text.Tree
		}
		for _, k := range localeKeys(tree.Root) {
			used[k] = append(used[k], tm.name)
		}
	}
	for _, k := range []string{"mode.exercise.banner", "mode.exercise.tag", "mode.test.banner", "mode.test.tag"} {
		used[k] = append(used[k], "data.go")
	}
	for _, c := range contacts("de", map[string]string{"office": "o", "phone": "p", "email": "e", "hours": "h", "website": "w"}) {
		used["contact."+c.Key] = append(used["contact."+c.Key], "data.go")
	}
	for _, k := range []string{"notice.more_info", "notice.valid_until", "mail.subscribed", "mail.unsubscribe", "contact.phone"} {
		if used[k] == nil {
			t.Errorf("the built-in templates do not use %q; the test does not find t calls", k)
		}
	}
	for k, where := range used {
		if !locale.Has(k) {
			slices.Sort(where)
			t.Errorf("locale key %q used in %v is not in the catalogue", k, slices.Compact(where))
		}
	}
}

// localeKeys returns the string keys of every {{t "key" ...}} call under n.
func localeKeys(n parse.Node) []string {
	var keys []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						keys = append(keys, s.Text)
					}
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(n)
	return keys
}
