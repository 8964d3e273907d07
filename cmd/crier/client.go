package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/server"
)

// remote holds the flags of commands that talk to a running server.
type remote struct {
	config  string
	dataDir string
	server  string
	token   string
}

func (m *Main) remoteFlags(fs *flag.FlagSet) *remote {
	r := &remote{}
	fs.StringVar(&r.config, "config", "", "configuration file, to find the server and its token (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	fs.StringVar(&r.dataDir, "data-dir", "", "data directory of the server (overrides data_dir in the configuration)")
	fs.StringVar(&r.server, "server", "", "server base URL (default $CRIER_SERVER, or the address serve wrote to the data dir)")
	fs.StringVar(&r.token, "token-file", "", "`FILE` holding the API token (default: the token in $CRIER_TOKEN, else the one crier login saved, else the admin token in the data dir)")
	return r
}

// client returns an API client for the server the flags, the environment
// or the configuration's data directory point to. Its token is the one
// in --token-file, else $CRIER_TOKEN, else the one crier login saved for
// that server, else the admin token in the data directory.
func (m *Main) client(r *remote) (*server.Client, error) {
	base, err := m.serverURL(r)
	if err != nil {
		return nil, err
	}
	token := m.Getenv("CRIER_TOKEN")
	if r.token != "" {
		b, err := os.ReadFile(r.token)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		token = m.savedToken(base)
	}
	if token == "" {
		cfg, err := m.loadClientConfig(m.configPath(r.config))
		if err != nil {
			return nil, err
		}
		cfg.override(r.dataDir, "")
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, tokenFile))
		if err != nil {
			return nil, fmt.Errorf("no API token: run \"crier login\", set CRIER_TOKEN, or start \"crier serve\" once so that it creates %s: %w",
				filepath.Join(cfg.DataDir, tokenFile), err)
		}
		token = strings.TrimSpace(string(b))
	}
	return &server.Client{URL: base, Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}, Language: m.lang()}, nil
}

// serverURL returns the base URL of the server: --server, else
// $CRIER_SERVER, else the address serve wrote to the data directory, else
// the configuration's listen address.
func (m *Main) serverURL(r *remote) (string, error) {
	if base := firstNonEmpty(r.server, m.Getenv("CRIER_SERVER")); base != "" {
		return base, nil
	}
	cfg, err := m.loadClientConfig(m.configPath(r.config))
	if err != nil {
		return "", err
	}
	cfg.override(r.dataDir, "")
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, serverURLFile)); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return "http://" + cfg.Listen, nil
}

// lang returns the language for user-facing text: $CRIER_LANG, else the
// language of $LANG when it is English, else German.
func (m *Main) lang() string {
	if l := m.Getenv("CRIER_LANG"); l != "" {
		return l
	}
	if strings.HasPrefix(m.Getenv("LANG"), "en") {
		return "en"
	}
	return "de"
}

// t returns a user-facing string in the user's language.
func (m *Main) t(key string, args ...any) string {
	return locale.T(m.lang(), key, args...)
}

// retryTransport calls f until it succeeds, fails with an API error, or
// three transport failures happened. Publishing is safe to repeat because
// every try carries the same Idempotency-Key.
func retryTransport(ctx context.Context, f func() error) error {
	var err error
	for try := 0; try < 3; try++ {
		err = f()
		var apiErr *crier.Error
		if err == nil || errors.As(err, &apiErr) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try+1) * 500 * time.Millisecond):
		}
	}
	return err
}

func randomKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// invalid lists every problem of an invalid-input error and turns it into
// exit code 2; any other error, and nil, pass through.
func (m *Main) invalid(err error) error {
	if crier.ErrorCode(err) != crier.EINVALID {
		return err
	}
	m.printProblems(err)
	return &failure{exitInvalid}
}

// keyFlag registers --idempotency-key on fs for a command that creates
// what; the returned function gives the key, a fresh one when none was
// given, the same on every call so that the command's own retries reuse it.
func keyFlag(fs *flag.FlagSet, what string) func() string {
	key := fs.String("idempotency-key", "", "key that makes a repeated "+what+" return the first result "+
		"(default: a fresh key, reused for this command's own retries)")
	return func() string {
		if *key == "" {
			*key = randomKey()
		}
		return *key
	}
}

// waitFlag registers --wait on fs.
func waitFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("wait", false, "wait until every delivery is final, with a progress bar; exit 1 unless all were sent")
}

// printProblems lists every problem of an invalid-input error from the
// server, which gave their texts in the reader's language.
func (m *Main) printProblems(err error) {
	ps := crier.ErrorDetails(err)
	head := crier.ErrorMessage(err)
	if m.lang() != "en" {
		head = m.t("cli.rejected", len(ps))
	}
	fmt.Fprintf(m.Stderr, "crier: %s\n", head)
	for _, p := range ps {
		fmt.Fprintf(m.Stderr, "  - %s\n", m.problemText(p))
	}
}

// summarize groups and caps problems found on this machine as the
// server's answers do (server.SummarizeProblems).
func (m *Main) summarize(a *app, ps []crier.Problem) []crier.Problem {
	typeOf := func(id string) string {
		if ch := a.channels[id]; ch != nil {
			return ch.Type
		}
		return ""
	}
	return server.SummarizeProblems(ps, typeOf, m.lang(), cmp.Or(max(a.cfg.Limits.Problems, 0), server.MaxProblems))
}

// problemText formats p as Problem.String does, with the town and the
// channel named in the reader's language.
func (m *Main) problemText(p crier.Problem) string {
	var where []string
	if p.Town != "" {
		where = append(where, m.t("cli.problem_town", p.Town))
	}
	if p.Channel != "" {
		where = append(where, m.t("cli.problem_channel", p.Channel))
	}
	if p.Field != "" {
		where = append(where, p.Field)
	}
	msg := p.Message + p.TownList()
	if len(where) == 0 {
		return msg
	}
	sep := ": "
	if p.Field != "" && len(where) > 1 {
		// "town soest, channel radio: body: …"
		return strings.Join(where[:len(where)-1], ", ") + sep + p.Field + sep + msg
	}
	return strings.Join(where, ", ") + sep + msg
}

// localProblem gives a problem found on this machine (preview) in the
// reader's language.
func (m *Main) localProblem(p crier.Problem) crier.Problem {
	p.Message, _ = locale.Problem(m.lang(), p.Code, p.Args, p.Message)
	return p
}

// localProblems is localProblem for each of ps.
func (m *Main) localProblems(ps []crier.Problem) []crier.Problem {
	out := make([]crier.Problem, len(ps))
	for i, p := range ps {
		out[i] = m.localProblem(p)
	}
	return out
}
