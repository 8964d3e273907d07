//go:build !linux

package main

import (
	"errors"
	"os"
)

// isTerminal reports false: prompting without echo is only built for
// Linux, elsewhere passwords come with --password-stdin.
func isTerminal(*os.File) bool { return false }

func readNoEcho(*os.File) (string, error) {
	return "", errors.New("prompting without echo is not supported here; use --password-stdin")
}
