package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// noConfig explains a configuration file that is not there: which places
// were tried, as full paths (a command run from another directory finds
// neither default), and how to name the file.
func (m *Main) noConfig(path string) error {
	env := m.Getenv("CRIER_CONFIG")
	var tried []string
	switch {
	case env != "" && path == env:
		tried = []string{"$CRIER_CONFIG=" + env + " → " + absPath(path)}
	case env == "" && path == "crier.yaml":
		tried = []string{m.t("cli.config_env_unset"), absPath("crier.yaml"), absPath("config.example.yaml")}
	default:
		tried = []string{"--config " + path + " → " + absPath(path)}
	}
	var b strings.Builder
	b.WriteString(m.t("cli.config_missing"))
	for _, p := range tried {
		fmt.Fprintf(&b, "\n  %s", p)
	}
	b.WriteString("\n" + m.t("cli.config_hint"))
	return usageError(b.String())
}

// absPath returns path made absolute against the working directory, or
// path itself when that cannot be found out.
func absPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	return filepath.Join(wd, path)
}
