package templates

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		n        int
		in, want string
	}{
		{100, "Kurz.\n\nZweiter Absatz.", "Kurz."},
		{100, "Eine Zeile\nim Absatz.", "Eine Zeile im Absatz."},
		{40, "Das Bürgerbüro ist geschlossen. Termine entfallen bis Freitag.", "Das Bürgerbüro ist geschlossen."},
		{30, "Alle Termine bis 4. Dezember entfallen, auch Sonderöffnungen.", "Alle Termine bis 4. Dezember…"},
		{25, "Bitte bringen Sie z. B. Ausweise mit.", "Bitte bringen Sie z. B.…"},
		{35, "Bringen Sie den Ausweis bzw. Pass mit, sonst nichts.", "Bringen Sie den Ausweis bzw. Pass…"},
		{30, "Rufen Sie an (werktags). Danke für Ihr Verständnis.", "Rufen Sie an (werktags)."},
		{20, "Wegen eines Angriffs, der gestern begann", "Wegen eines…"},
		{10, "Donaudampfschifffahrt", "Donaudamp…"},
		{0, "Text", ""},
		{10, "", ""},
	}
	for _, tt := range tests {
		got := excerpt(tt.n, tt.in)
		if got != tt.want {
			t.Errorf("excerpt(%d, %q) = %q, want %q", tt.n, tt.in, got, tt.want)
		}
		if runes(got) > max(tt.n, 0) {
			t.Errorf("excerpt(%d, %q) = %q is %d characters long", tt.n, tt.in, got, runes(got))
		}
	}
}

func TestHashtag(t *testing.T) {
	for in, want := range map[string]string{
		"Soest":           "#Soest",
		"#Soest":          "#Soest",
		"Bad Sassendorf":  "#BadSassendorf",
		"Wickede (Ruhr)":  "#WickedeRuhr",
		"Möhnesee":        "#Möhnesee",
		"IT-Ausfall_2026": "#ITAusfall_2026",
		" # ":             "",
	} {
		if got := hashtag(in); got != want {
			t.Errorf("hashtag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMDEscape(t *testing.T) {
	for in, want := range map[string]string{
		"02921 103-0":               "02921 103-0",
		"Bürgerbüro, Am Vreithof 8": "Bürgerbüro, Am Vreithof 8",
		"<b>&</b>":                  `\<b\>\&\</b\>`,
		"*[x](y)*":                  `\*\[x\](y)\*`,
		"- Liste":                   `\- Liste`,
		"1. Etage":                  `1\. Etage`,
		"12) Punkt":                 `12\) Punkt`,
		"https://a.de/x_y?a=1&b=2":  "https://a.de/x_y?a=1&b=2",
		"https://a.de/<script>":     `https://a.de/\<script\>`,
	} {
		if got := mdEscape(in); got != want {
			t.Errorf("mdEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONValue(t *testing.T) {
	got, err := jsonValue(`Termine "entfallen" <heute> & morgen`)
	if want := `"Termine \"entfallen\" <heute> & morgen"`; err != nil || got != want {
		t.Errorf("jsonValue = %q, %v; want %q", got, err, want)
	}
}

func TestDescribe(t *testing.T) {
	if got := describe("x", errString("plain failure")); got != "plain failure" {
		t.Errorf("describe of a non-template error = %q", got)
	}
	got := describe("a.tmpl", errString(`template: b.tmpl:7:3: executing "b.tmpl" at <.Title.X>: can't evaluate field X in type string`))
	if want := "b.tmpl, line 7: {{.Title.X}}: can't evaluate field X in type string"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	if strings.Contains(got, "executing") {
		t.Error("describe keeps the executing prefix")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestLead(t *testing.T) {
	text := "Erster Absatz.\n\nZweiter Absatz\nmit zwei Zeilen.\n\n- eins\n- zwei"
	tests := []struct {
		n    int
		want string
	}{
		{1000, text},
		{14, "Erster Absatz."},
		{14 + 2 + 31, "Erster Absatz.\n\nZweiter Absatz\nmit zwei Zeilen."},
		{14 + 2 + 30, "Erster Absatz."},
		{10, "Erster…"},
		{0, ""},
	}
	for _, tt := range tests {
		if got := lead(tt.n, text); got != tt.want {
			t.Errorf("lead(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestOmission(t *testing.T) {
	body := "Das Bürgerbüro bleibt geschlossen. Termine entfallen.\n\nIm Notfall: 02921 103-0.\n\n- eins\n- zwei"
	tests := []struct {
		name, post string
		want       *crier.Omission
	}{
		{"whole, rewrapped", "Titel\n\nDas Bürgerbüro bleibt\ngeschlossen. Termine entfallen.\n\nIm Notfall: 02921 103-0.\n\n- eins - zwei\n\n#Soest https://x.example", nil},
		{"first paragraph", "Titel\n\nDas Bürgerbüro bleibt geschlossen. Termine entfallen.\n\nMehr: https://x.example",
			&crier.Omission{Paragraphs: 2, Total: 3, Characters: 24 + 13, From: "Im Notfall: 02921 103-0."}},
		{"cut in the first", "Titel\n\nDas Bürgerbüro bleibt…\n\nMehr: https://x.example",
			&crier.Omission{Paragraphs: 3, Total: 3, Characters: 31 + 24 + 13, From: "geschlossen. Termine entfallen."}},
		{"none of it", "Titel", &crier.Omission{Paragraphs: 3, Total: 3, Characters: 53 + 24 + 13, From: "Das Bürgerbüro bleibt geschlossen. …"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, omission(body, tt.post)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
