package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
)

// credentialsFile holds the API tokens of crier login, per server URL, in
// the user's configuration directory.
const credentialsFile = "credentials.json"

// credentials is the content of credentialsFile.
type credentials struct {
	Servers map[string]savedLogin `json:"servers"`
}

// savedLogin is one server's token.
type savedLogin struct {
	User  string `json:"user"`
	Token string `json:"token"`
	ID    int64  `json:"id"`
}

// credentialsPath is crier's file in the user's configuration directory:
// $XDG_CONFIG_HOME/crier/credentials.json, else the system's (on Linux
// ~/.config/crier/credentials.json).
func (m *Main) credentialsPath() (string, error) {
	dir := m.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("no configuration directory for the login: %w", err)
		}
	}
	return filepath.Join(dir, "crier", credentialsFile), nil
}

// loadCredentials reads the saved logins; none when the file is missing.
func (m *Main) loadCredentials() (*credentials, string, error) {
	path, err := m.credentialsPath()
	if err != nil {
		return nil, "", err
	}
	c := &credentials{Servers: map[string]savedLogin{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, path, fmt.Errorf("read %s: %w", path, err)
	}
	if c.Servers == nil {
		c.Servers = map[string]savedLogin{}
	}
	return c, path, nil
}

// save writes c to path with mode 0600 (directory 0700), through a
// temporary file, so that a crash leaves the old file or the new one. An
// empty c removes the file.
func (c *credentials) save(path string) error {
	if len(c.Servers) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// serverKey is how a server URL is kept: without a trailing slash.
func serverKey(base string) string { return strings.TrimRight(base, "/") }

// savedToken returns the token crier login saved for base, or "".
func (m *Main) savedToken(base string) string {
	c, _, err := m.loadCredentials()
	if err != nil {
		return ""
	}
	return c.Servers[serverKey(base)].Token
}

// login signs in at the server with a name and password and saves the
// new API token for later commands.
func (m *Main) login(ctx context.Context, args []string) error {
	fs := m.flags("login")
	r := m.remoteFlags(fs)
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of prompting")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 1 {
		return usageError("usage: crier login [NAME] [--server URL] [--password-stdin]")
	}
	base, err := m.serverURL(r)
	if err != nil {
		return err
	}
	name, pw, err := m.credentialsFromUser(pos, *stdin)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	tokenName := "crier login"
	if host != "" {
		tokenName += " on " + host
	}
	c := &server.Client{URL: base, HTTP: &http.Client{Timeout: 30 * time.Second}, Language: m.lang()}
	res, err := c.Login(ctx, name, pw, tokenName)
	if err != nil {
		return m.loginError(err)
	}
	saved, path, err := m.loadCredentials()
	if err != nil {
		return err
	}
	if old := saved.Servers[serverKey(base)]; old.Token != "" {
		// The token it replaces is revoked, so that no forgotten one
		// stays valid; one that is revoked already is no matter.
		old := &server.Client{URL: base, Token: old.Token, HTTP: c.HTTP}
		_ = old.Logout(ctx)
	}
	saved.Servers[serverKey(base)] = savedLogin{User: res.User, Token: res.Token, ID: res.ID}
	if err := saved.save(path); err != nil {
		return fmt.Errorf("save the token: %w", err)
	}
	towns := m.townNames(res.Towns)
	fmt.Fprintln(m.Stdout, m.t("cli.login.done", res.User, res.Role, towns, base))
	fmt.Fprintln(m.Stderr, m.t("cli.login.saved", path))
	return nil
}

// credentialsFromUser returns the name (the argument, else asked on the
// terminal) and the password (from stdin, else asked without echo).
func (m *Main) credentialsFromUser(pos []string, fromStdin bool) (name, pw string, err error) {
	if len(pos) == 1 {
		name = pos[0]
	}
	f, isFile := m.Stdin.(*os.File)
	terminal := isFile && isTerminal(f)
	if fromStdin {
		if name == "" {
			return "", "", usageError("with --password-stdin, give the user NAME as an argument")
		}
		line, err := bufio.NewReader(m.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", "", fmt.Errorf("read password: %w", err)
		}
		return name, strings.TrimRight(line, "\r\n"), nil
	}
	if !terminal {
		return "", "", usageError("stdin is no terminal: give the NAME as an argument and the password on stdin with --password-stdin")
	}
	if name == "" {
		fmt.Fprint(m.Stderr, m.t("cli.login.name_prompt"))
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			return "", "", fmt.Errorf("read name: %w", err)
		}
		name = strings.TrimSpace(line)
	}
	pw, err = m.prompt(f, m.t("cli.login.password_prompt", name))
	return name, pw, err
}

// loginError explains a refused login in the reader's language.
func (m *Main) loginError(err error) error {
	switch crier.ErrorCode(err) {
	case crier.EUNAUTHORIZED:
		return &crier.Error{Code: crier.EUNAUTHORIZED, Message: m.t("cli.login.refused"), Err: err}
	case server.CodeTooManyRequests:
		return &crier.Error{Code: crier.EUNAUTHORIZED, Message: m.t("cli.login.too_many"), Err: err}
	}
	return err
}

// logout revokes the saved token of the server and forgets it.
func (m *Main) logout(ctx context.Context, args []string) error {
	fs := m.flags("logout")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 0 {
		return usageError("usage: crier logout [--server URL]")
	}
	base, err := m.serverURL(r)
	if err != nil {
		return err
	}
	saved, path, err := m.loadCredentials()
	if err != nil {
		return err
	}
	login, ok := saved.Servers[serverKey(base)]
	if !ok {
		return usageError(m.t("cli.logout.none", base))
	}
	c := &server.Client{URL: base, Token: login.Token, HTTP: &http.Client{Timeout: 30 * time.Second}, Language: m.lang()}
	// A token that no longer works (revoked, its user disabled) is
	// forgotten all the same.
	if err := c.Logout(ctx); err != nil && crier.ErrorCode(err) != crier.EUNAUTHORIZED {
		return err
	}
	delete(saved.Servers, serverKey(base))
	if err := saved.save(path); err != nil {
		return fmt.Errorf("forget the token: %w", err)
	}
	fmt.Fprintln(m.Stdout, m.t("cli.logout.done", login.User, base))
	return nil
}
