package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
)

// importBatch is how many subscribers one API request carries.
const importBatch = 1000

// defaultMaxCSV is the default of subscribers import --max-size: about
// a million addresses.
const defaultMaxCSV = 64 << 20

// subscribers manages a town's email list.
func (m *Main) subscribers(ctx context.Context, args []string) error {
	if err := m.subHelp("subscribers", args); err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("subscribers needs a sub-command: import, export, add, remove, invite, erase, show")
	}
	switch args[0] {
	case "import":
		return m.subscribersImport(ctx, args[1:])
	case "export":
		return m.subscribersExport(ctx, args[1:])
	case "add":
		return m.subscribersAdd(ctx, args[1:])
	case "remove":
		return m.subscribersRemove(ctx, args[1:])
	case "invite":
		return m.subscribersInvite(ctx, args[1:])
	case "erase":
		return m.subscribersErase(ctx, args[1:])
	case "show":
		return m.subscribersShow(ctx, args[1:])
	}
	return usageError(fmt.Sprintf("unknown subscribers sub-command %q: use import, export, add, remove, invite, erase or show", args[0]))
}

// consent holds the flags that say where consent came from.
type consent struct {
	town      string
	confirmed bool
	source    string
}

func (m *Main) consentFlags(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) *consent {
	c := &consent{}
	fs.StringVar(&c.town, "town", "", "the town whose list this is (required)")
	fs.BoolVar(&c.confirmed, "confirmed", false, "mark addresses confirmed: only when consent was given elsewhere; requires --source")
	fs.StringVar(&c.source, "source", "", "where the consent came from, e.g. \"Papierliste Bürgerbüro, 2026-11-02\"")
	return c
}

func (c *consent) validate() error {
	if c.town == "" {
		return usageError("--town is required")
	}
	if c.confirmed && strings.TrimSpace(c.source) == "" {
		return usageError("--confirmed requires --source saying where the consent came from")
	}
	return nil
}

func (c *consent) subscriber(email, name string) *crier.Subscriber {
	s := &crier.Subscriber{Town: c.town, Email: email, Name: name, State: crier.SubscriberPending, Source: c.source}
	if c.confirmed {
		s.State = crier.SubscriberConfirmed
	}
	return s
}

// subscribersImport reads a CSV file (email[,name], optional header) and
// adds every row. Every bad row is reported before anything is written.
func (m *Main) subscribersImport(ctx context.Context, args []string) error {
	fs := m.flags("subscribers import")
	r := m.remoteFlags(fs)
	c := m.consentFlags(fs)
	maxSize := Size(defaultMaxCSV)
	fs.Var(&maxSize, "max-size", "the largest CSV `SIZE` read, such as 64MiB or 500KiB; a larger file is refused before anything is read")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("subscribers import takes one CSV file")
	}
	if err := c.validate(); err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	tooLarge := crier.Errorf(crier.EINVALID, "%s", m.t("cli.csv.too_large", pos[0], crier.SizeText(int64(maxSize))))
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > int64(maxSize) {
		return tooLarge
	}
	// A file that is no regular file (a pipe) is read up to the limit.
	lr := &io.LimitedReader{R: f, N: int64(maxSize) + 1}
	subs, problems := readSubscribersCSV(lr, c)
	if lr.N == 0 {
		return tooLarge
	}
	if len(problems) > 0 {
		return crier.Invalid(fmt.Sprintf("%s: %d bad row(s), nothing was imported", pos[0], len(problems)), problems)
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	added, updated := 0, 0
	for i := 0; i < len(subs); i += importBatch {
		a, u, err := cl.AddSubscribers(ctx, subs[i:min(i+importBatch, len(subs))])
		if err != nil {
			return fmt.Errorf("after %d of %d rows: %w", i, len(subs), err)
		}
		added, updated = added+a, updated+u
		fmt.Fprintf(m.Stderr, "\r%d/%d", min(i+importBatch, len(subs)), len(subs))
	}
	fmt.Fprintln(m.Stderr)
	fmt.Fprintln(m.Stdout, m.t("cli.imported", added, updated, c.town))
	return nil
}

// readSubscribersCSV reads the rows of a subscriber list
// (crier.ReadSubscriberCSV) as subscribers with c's consent.
func readSubscribersCSV(r io.Reader, c *consent) ([]*crier.Subscriber, []crier.Problem) {
	rows, problems := crier.ReadSubscriberCSV(r)
	subs := make([]*crier.Subscriber, len(rows))
	for i, row := range rows {
		subs[i] = c.subscriber(row.Email, row.Name)
	}
	return subs, problems
}

// subscribersExport writes a town's list as CSV.
func (m *Main) subscribersExport(ctx context.Context, args []string) error {
	fs := m.flags("subscribers export")
	r := m.remoteFlags(fs)
	town := fs.String("town", "", "the town (required)")
	state := fs.String("state", "", "only this state: pending, confirmed, unsubscribed")
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	if *town == "" {
		return usageError("--town is required")
	}
	if *state != "" && !crier.SubscriberState(*state).Valid() {
		return usageError(fmt.Sprintf("unknown state %q: use pending, confirmed or unsubscribed", *state))
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	subs, err := cl.Subscribers(ctx, *town, crier.SubscriberState(*state))
	if err != nil {
		return err
	}
	w := csv.NewWriter(m.Stdout)
	w.Write([]string{"email", "name", "state", "source", "created_at"})
	for _, s := range subs {
		w.Write([]string{s.Email, s.Name, string(s.State), s.Source, s.CreatedAt.UTC().Format(time.RFC3339)})
	}
	w.Flush()
	return w.Error()
}

// subscribersAdd adds one address.
func (m *Main) subscribersAdd(ctx context.Context, args []string) error {
	fs := m.flags("subscribers add")
	r := m.remoteFlags(fs)
	c := m.consentFlags(fs)
	name := fs.String("name", "", "the subscriber's name")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("subscribers add takes one address")
	}
	if err := c.validate(); err != nil {
		return err
	}
	email, err := crier.NormalizeEmail(pos[0])
	if err != nil {
		return flagError(err)
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	added, updated, err := cl.AddSubscribers(ctx, []*crier.Subscriber{c.subscriber(email, *name)})
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.imported", added, updated, c.town))
	return nil
}

// subscribersRemove unsubscribes one address.
func (m *Main) subscribersRemove(ctx context.Context, args []string) error {
	fs := m.flags("subscribers remove")
	r := m.remoteFlags(fs)
	town := fs.String("town", "", "the town (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 || *town == "" {
		return usageError("usage: crier subscribers remove --town ID ADDRESS")
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	if err := cl.RemoveSubscriber(ctx, *town, pos[0]); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.removed", pos[0], *town))
	return nil
}

// subscribersInvite sends every pending address of a town a confirmation
// mail, as the subscribe form does: addresses imported or added without
// --confirmed get onto the list only once they confirm.
func (m *Main) subscribersInvite(ctx context.Context, args []string) error {
	fs := m.flags("subscribers invite")
	r := m.remoteFlags(fs)
	town := fs.String("town", "", "the town (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 0 || *town == "" {
		return usageError("usage: crier subscribers invite --town ID")
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	res, err := cl.InviteSubscribers(ctx, *town)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.invited", res.Invited, *town, res.Skipped))
	return nil
}

// subscribersErase erases an address from one town's list, or from every
// list with --all-towns, and from every delivery, attempt and capture
// there (DSGVO Art. 17). It prints what was changed, not the address.
func (m *Main) subscribersErase(ctx context.Context, args []string) error {
	fs := m.flags("subscribers erase")
	r := m.remoteFlags(fs)
	town := fs.String("town", "", "the town whose list and deliveries lose the address")
	all := fs.Bool("all-towns", false, "erase the address from every town's list and deliveries")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 || (*town == "") == !*all {
		return usageError("usage: crier subscribers erase (--town ID | --all-towns) ADDRESS")
	}
	email, err := crier.NormalizeEmail(pos[0])
	if err != nil {
		return flagError(err)
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	e, err := cl.EraseAddress(ctx, *town, email)
	if crier.ErrorCode(err) == crier.ENOTFOUND && crier.ErrorMessage(err) == nothingStored {
		return errors.New(m.t("cli.erase.nothing"))
	}
	if err != nil {
		return err
	}
	where := m.t("cli.erase.all_towns")
	if *town != "" {
		where = m.t("cli.erase.town", *town)
	}
	fmt.Fprintln(m.Stdout, m.t("cli.erased", where, e.Subscriptions, e.Deliveries, e.Canceled, e.Captures, e.Keys))
	return nil
}

// nothingStored is the server's message when it has nothing about an
// address.
const nothingStored = "nothing is stored about this address"

// subscribersShow writes everything stored about an address as JSON
// (DSGVO Art. 15).
func (m *Main) subscribersShow(ctx context.Context, args []string) error {
	fs := m.flags("subscribers show")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("usage: crier subscribers show ADDRESS")
	}
	email, err := crier.NormalizeEmail(pos[0])
	if err != nil {
		return flagError(err)
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	d, err := cl.PersonalData(ctx, email)
	if crier.ErrorCode(err) == crier.ENOTFOUND && crier.ErrorMessage(err) == nothingStored {
		return errors.New(m.t("cli.erase.nothing"))
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// purge applies the running server's retention period now.
func (m *Main) purge(ctx context.Context, args []string) error {
	fs := m.flags("purge")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 0 {
		return usageError("usage: crier purge")
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	res, err := cl.Purge(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.purged", locale.DateTime(m.lang(), res.Before.In(berlin)),
		res.Deliveries, res.Captures, res.Confirmations, res.Attempts, res.Keys, res.Subscribers))
	return nil
}
