// Package password hashes and checks the passwords of crier's users with
// Argon2id, and refuses passwords that are short or common.
package password

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/crierhq/crier"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes, after RFC 9106's second recommended
// option (64 MiB of memory) with one more pass: about 100 ms on a small
// server, which a person signing in does not notice but which makes
// guessing a stolen hash expensive, while a few sign-ins at once stay
// within the memory of a small machine. They are encoded into every hash,
// so they can be raised later and old hashes still verify.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	saltLen      = 16
	keyLen       = 32
)

// maxMemory bounds the memory a stored hash may ask for, in KiB.
const maxMemory = 1 << 20

// MinLength is the shortest password accepted, in characters.
const MinLength = 12

// Hash returns the PHC-style encoding of password's Argon2id hash with a
// random salt: $argon2id$v=19$m=65536,t=3,p=2$salt$hash (unpadded base64).
func Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, a hash made by Hash
// with any parameters. It fails when encoded is no such hash.
func Verify(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errors.New("verify password: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("verify password: unsupported argon2 version %q", parts[2])
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, fmt.Errorf("verify password: parameters %q: %w", parts[3], err)
	}
	// argon2.IDKey panics below these bounds; a damaged hash must not
	// take the server down, nor make it spend more than 1 GiB on one
	// sign-in.
	if time < 1 || threads < 1 || memory < 8*uint32(threads) || memory > maxMemory {
		return false, fmt.Errorf("verify password: parameters %q out of range", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verify password: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("verify password: bad hash")
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// common.txt is a list of passwords people often choose, German and
// English, written for crier: common words, names, keyboard rows and
// digit runs with the endings people add to reach a length rule.
//
//go:embed common.txt
var commonText string

var common = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
})

// Check returns the problems of a new password: shorter than MinLength
// characters, or on the list of common passwords (ignoring case). The
// problems never contain the password.
func Check(password string) []crier.Problem {
	if n := utf8.RuneCountInString(password); n < MinLength {
		return []crier.Problem{crier.Problemf("password", "password_short",
			"is %s characters long; use at least %s", strconv.Itoa(n), strconv.Itoa(MinLength))}
	}
	if common()[strings.ToLower(password)] {
		return []crier.Problem{crier.Problemf("password", "password_common",
			"is one of the most common passwords; choose another")}
	}
	return nil
}
