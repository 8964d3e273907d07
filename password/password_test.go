package password

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("korrekt Pferd Batterie")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %q is not PHC-style argon2id with the current parameters", h)
	}
	if strings.Contains(h, "Pferd") {
		t.Error("hash contains the password")
	}
	for pw, want := range map[string]bool{"korrekt Pferd Batterie": true, "korrekt Pferd Batteri": false, "": false} {
		ok, err := Verify(h, pw)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h2, _ := Hash("korrekt Pferd Batterie")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	// Other parameters, as an older crier might have written them.
	if _, err := Verify("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$", "x"); err == nil {
		t.Error("hash without key accepted")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=16$m=1,t=1,p=1$AA$AA",
		"$argon2id$v=19$m=65536,t=0,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAA", "$argon2id$v=19$m=65536,t=3,p=0$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
		"$argon2id$v=19$m=1,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAA", "$argon2id$v=19$m=4194304,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAA"} {
		if _, err := Verify(bad, "x"); err == nil {
			t.Errorf("Verify(%q) accepted", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	for pw, code := range map[string]string{
		"kurz":                   "password_short",
		"elf Zeichen":            "password_short",
		"Passwort1234":           "password_common",
		"ICHLIEBEDICH":           "password_common",
		"schalke04schalke04":     "",
		"Mülltonne am Dienstag!": "",
	} {
		ps := Check(pw)
		got := ""
		if len(ps) > 0 {
			got = ps[0].Code
			if strings.Contains(ps[0].Message, pw) {
				t.Errorf("problem %q shows the password", ps[0].Message)
			}
		}
		if got != code {
			t.Errorf("Check(%q) = %q, want %q", pw, got, code)
		}
	}
	if n := len(common()); n < 300 {
		t.Errorf("list of common passwords has %d entries", n)
	}
}
