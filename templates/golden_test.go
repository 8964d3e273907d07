package templates

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCases are the announcements rendered for the golden files: both
// notices for two towns, each in exercise and in actual mode once.
var goldenCases = []struct {
	name string
	town string
	ann  func(crier.Mode) *crier.Announcement
	mode crier.Mode
}{
	{"soest-buergerbuero-exercise", "soest", buergerbuero, crier.ModeExercise},
	{"soest-kfz-actual", "soest", kfz, crier.ModeActual},
	{"lippstadt-buergerbuero-actual", "lippstadt", buergerbuero, crier.ModeActual},
	{"lippstadt-kfz-exercise", "lippstadt", kfz, crier.ModeExercise},
}

// TestGolden renders every built-in template for every channel type and
// compares the output with testdata/golden. Run go test ./templates -update
// to rewrite the files after a deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	r := mustNew(t, "")
	for _, c := range goldenCases {
		tw := town(t, c.town)
		a := c.ann(c.mode)
		for _, ch := range channels {
			m := mustRender(t, r, request(tw, a, ch.typ, ch.id+"-"+tw.ID))
			switch ch.typ {
			case "email":
				golden(t, c.name+".email.subject.txt", []byte(m.Subject+"\n"))
				golden(t, c.name+".email.html", []byte(m.HTML))
				golden(t, c.name+".email.txt", []byte(m.Text))
			case "webhook":
				// The payload is compact on the wire; the golden file holds
				// it indented so that a diff is readable.
				var b bytes.Buffer
				if err := json.Indent(&b, m.Payload, "", "  "); err != nil {
					t.Fatalf("%s: payload is not JSON: %v\n%s", c.name, err, m.Payload)
				}
				b.WriteByte('\n')
				golden(t, c.name+".webhook.json", b.Bytes())
			case "site":
				golden(t, c.name+".site.subject.txt", []byte(m.Subject+"\n"))
				golden(t, c.name+".site.html", []byte(m.HTML))
				golden(t, c.name+".site.txt", []byte(m.Text))
			default:
				golden(t, c.name+"."+ch.typ+".txt", []byte(m.Text+"\n"))
			}
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}
