package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/password"
	"github.com/crierhq/crier/store/sqlite"
)

// accounts is what the users and tokens commands work with: the database
// and the configured towns.
type accounts struct {
	db  sqlite.SharedAccounts
	dir *crier.Directory
}

// openAccounts opens the database of the configuration the flags name.
// It takes the database's lock when no crier serve holds it, which also
// creates and migrates it; next to a running serve it opens it shared
// (sqlite.OpenShared), and the server sees every change with its next
// request.
func (m *Main) openAccounts(ctx context.Context, configFlag, dataDir string) (*accounts, error) {
	cfg, err := m.loadClientConfig(m.configPath(configFlag))
	if err != nil {
		return nil, err
	}
	cfg.override(dataDir, "")
	var towns []*crier.Town
	for _, t := range cfg.Towns {
		towns = append(towns, t.Town())
	}
	path := filepath.Join(cfg.DataDir, dbFile)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	var db sqlite.SharedAccounts
	locked, err := sqlite.Open(ctx, path)
	switch {
	case err == nil:
		db = locked
	case crier.ErrorCode(err) == crier.ECONFLICT: // crier serve holds the lock
		db, err = sqlite.OpenShared(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	return &accounts{db: db, dir: crier.NewDirectory(towns, cfg.Groups)}, nil
}

// dateTime shows t in local time, or "-" when it is zero (never).
func (m *Main) dateTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return locale.DateTime(m.lang(), t.In(berlin))
}

// accountFlags adds the flags that find the database.
func accountFlags(fs *flag.FlagSet) (configFlag, dataDir *string) {
	configFlag = fs.String("config", "", "configuration file (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	dataDir = fs.String("data-dir", "", "data directory (overrides data_dir in the configuration)")
	return configFlag, dataDir
}

// users manages the accounts of the newsroom.
func (m *Main) users(ctx context.Context, args []string) error {
	ctx = shellContext(ctx)
	if err := m.subHelp("users", args); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("users needs a sub-command: add, list, disable, reset-password, set")
	}
	switch args[0] {
	case "add":
		return m.usersAdd(ctx, args[1:])
	case "list":
		return m.usersList(ctx, args[1:])
	case "disable":
		return m.usersDisable(ctx, args[1:])
	case "reset-password":
		return m.usersResetPassword(ctx, args[1:])
	case "set":
		return m.usersSet(ctx, args[1:])
	}
	return usageError(fmt.Sprintf("unknown users sub-command %q: use add, list, disable, reset-password or set", args[0]))
}

func (m *Main) usersAdd(ctx context.Context, args []string) error {
	fs := m.flags("users add")
	configFlag, dataDir := accountFlags(fs)
	role := fs.String("role", "", "`ROLE`: admin, editor, approver or viewer")
	townList := fs.String("towns", "", "`LIST` of towns or groups the role applies to, comma-separated (\"all\" for every town)")
	stdin := fs.Bool("password-stdin", false, "read the password from stdin instead of prompting")
	actual := fs.Bool("actual", false, "allow the user to publish real notices (mode actual); without it they publish exercises only")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: crier users add NAME --role ROLE [--towns LIST] [--actual] [--password-stdin]")
	}
	u := &crier.User{Name: pos[0], Role: crier.Role(*role), Actual: *actual, CreatedAt: m.Clock.Now().UTC()}
	ps := crier.ValidUserName(u.Name)
	if !u.Role.Valid() {
		ps = append(ps, crier.Problemf("role", "role_unknown", "%q is no role: use admin, editor, approver or viewer", *role))
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	towns, tps := crier.ParseTowns(a.dir, *townList)
	ps = append(ps, tps...)
	if len(towns) == 0 && len(tps) == 0 && u.Role.Valid() && u.Role != crier.RoleAdmin {
		ps = append(ps, crier.Problemf("towns", "towns_required", "a user with role %s needs at least one town (--towns)", u.Role))
	}
	if err := crier.Invalid("user not added", ps); err != nil {
		return err
	}
	u.Towns = towns
	if u.PasswordHash, err = m.newPassword(u.Name, *stdin); err != nil {
		return err
	}
	if err := a.db.CreateUser(ctx, u); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.users.added", u.Name, u.Role, m.townNames(u.Towns)))
	return nil
}

// townNames lists towns for people: "alle" / "all" for none (an admin).
func (m *Main) townNames(towns []string) string {
	if len(towns) == 0 {
		return m.t("cli.users.all_towns")
	}
	return strings.Join(towns, ",")
}

func (m *Main) usersList(ctx context.Context, args []string) error {
	fs := m.flags("users list")
	configFlag, dataDir := accountFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 0 {
		return usageError("usage: crier users list")
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	us, err := a.db.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, m.t("cli.users.header"))
	for _, u := range us {
		state := m.t("cli.users.active")
		if u.Disabled {
			state = m.t("cli.users.disabled_state")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, m.townNames(u.Towns), state, m.dateTime(u.CreatedAt))
	}
	return tw.Flush()
}

func (m *Main) usersDisable(ctx context.Context, args []string) error {
	fs := m.flags("users disable")
	configFlag, dataDir := accountFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: crier users disable NAME")
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if err := a.db.DisableUser(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.users.disabled", pos[0]))
	return nil
}

func (m *Main) usersResetPassword(ctx context.Context, args []string) error {
	fs := m.flags("users reset-password")
	configFlag, dataDir := accountFlags(fs)
	stdin := fs.Bool("password-stdin", false, "read the new password from stdin instead of prompting")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: crier users reset-password NAME [--password-stdin]")
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if _, err := a.db.User(ctx, pos[0]); err != nil {
		return err
	}
	hash, err := m.newPassword(pos[0], *stdin)
	if err != nil {
		return err
	}
	if err := a.db.SetPassword(ctx, pos[0], hash); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.users.password_set", pos[0]))
	return nil
}

// newPassword reads a new password for user, from stdin when fromStdin
// (its first line), else by prompting twice on the terminal without echo,
// checks it (password.Check) and returns its hash. The password is never
// written anywhere.
func (m *Main) newPassword(user string, fromStdin bool) (string, error) {
	var pw string
	switch {
	case fromStdin:
		line, err := bufio.NewReader(m.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	default:
		f, ok := m.Stdin.(*os.File)
		if !ok || !isTerminal(f) {
			return "", usageError("stdin is no terminal: give the password on stdin with --password-stdin")
		}
		var err error
		if pw, err = m.prompt(f, m.t("cli.users.prompt", user)); err != nil {
			return "", err
		}
		again, err := m.prompt(f, m.t("cli.users.prompt_again"))
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", usageError("the passwords differ; nothing was changed")
		}
	}
	if err := crier.Invalid("password refused", password.Check(pw)); err != nil {
		return "", err
	}
	return password.Hash(pw)
}

// prompt asks for a line on the terminal f without echoing it.
func (m *Main) prompt(f *os.File, question string) (string, error) {
	fmt.Fprint(m.Stderr, question)
	line, err := readNoEcho(f)
	fmt.Fprintln(m.Stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return line, nil
}

// tokens manages the users' API tokens.
func (m *Main) tokens(ctx context.Context, args []string) error {
	ctx = shellContext(ctx)
	if err := m.subHelp("tokens", args); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("tokens needs a sub-command: add, list, revoke")
	}
	switch args[0] {
	case "add":
		return m.tokensAdd(ctx, args[1:])
	case "list":
		return m.tokensList(ctx, args[1:])
	case "revoke":
		return m.tokensRevoke(ctx, args[1:])
	}
	return usageError(fmt.Sprintf("unknown tokens sub-command %q: use add, list or revoke", args[0]))
}

func (m *Main) tokensAdd(ctx context.Context, args []string) error {
	fs := m.flags("tokens add")
	configFlag, dataDir := accountFlags(fs)
	name := fs.String("name", "", "what the token is for, such as the machine it is used on")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: crier tokens add USER [--name NAME]")
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	secret := crier.NewTokenSecret()
	t := &crier.APIToken{User: pos[0], Name: *name, CreatedAt: m.Clock.Now().UTC()}
	if err := a.db.CreateToken(ctx, t, crier.TokenHash(secret)); err != nil {
		return err
	}
	fmt.Fprintln(m.Stderr, m.t("cli.tokens.added", t.ID, t.User))
	fmt.Fprintln(m.Stdout, secret)
	return nil
}

func (m *Main) tokensList(ctx context.Context, args []string) error {
	fs := m.flags("tokens list")
	configFlag, dataDir := accountFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 1 {
		return usageError("usage: crier tokens list [USER]")
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	ts, err := a.db.Tokens(ctx, strings.Join(pos, ""))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, m.t("cli.tokens.header"))
	for _, t := range ts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, strconv.Quote(t.Name),
			m.dateTime(t.CreatedAt), m.dateTime(t.LastUsed), m.dateTime(t.Revoked))
	}
	return tw.Flush()
}

func (m *Main) tokensRevoke(ctx context.Context, args []string) error {
	fs := m.flags("tokens revoke")
	configFlag, dataDir := accountFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: crier tokens revoke ID")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usageError(fmt.Sprintf("%q is no token ID: see crier tokens list", pos[0]))
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if err := a.db.RevokeToken(ctx, id, m.Clock.Now().UTC()); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.tokens.revoked", id))
	return nil
}
