package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/crierhq/crier"
)

// The data directory is its user's only: the database holds subscribers'
// addresses and the audit trail, admin-token opens the API, and secret
// signs the links in subscriber mails. crier creates the directory 0700
// and every file in it 0600. One it finds open to group or others is
// refused in actual mode and named in a warning in exercise and test mode,
// with the command that closes it. The configuration reads no secret from
// a file of its own: secrets come from the environment (${NAME}).

// privateDataDir creates dir with mode 0700 when it does not exist, and
// checks dir and the secret files in it (admin-token, secret) when it
// does.
func (m *Main) privateDataDir(dir string, mode crier.Mode, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := m.private(dir, fi, "700", "datadir.open_dir", mode, log); err != nil {
		return err
	}
	for _, name := range []string{tokenFile, secretFile} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // created 0600 when first needed
		}
		if err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		if err := m.private(path, fi, "600", "datadir.open_file", mode, log); err != nil {
			return err
		}
	}
	return nil
}

// private returns an EINVALID error in actual mode when group or others
// have any access to path, and logs a warning in the other modes. perm is
// the mode that fixes it. Windows has no such modes.
func (m *Main) private(path string, fi fs.FileInfo, perm, key string, mode crier.Mode, log *slog.Logger) error {
	if runtime.GOOS == "windows" || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	msg := m.t(key, path, fi.Mode().Perm(), perm, path)
	if mode == crier.ModeActual {
		return crier.Errorf(crier.EINVALID, "%s", msg)
	}
	log.Warn(msg + " " + m.t("datadir.fine_in_mode", mode))
	return nil
}
