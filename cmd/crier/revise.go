package main

import (
	"context"
	"fmt"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/server"
)

// update publishes an announcement file as the next revision of an
// announcement: channels edit or answer their earlier posts, email and
// webhooks send the update.
func (m *Main) update(ctx context.Context, args []string) error {
	fs := m.flags("update")
	r := m.remoteFlags(fs)
	wait := waitFlag(fs)
	key := keyFlag(fs, "update")
	approval := approvalFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 2 {
		return usageError("update takes an announcement id and an announcement file")
	}
	a, publishAt, err := readNoticeAt(pos[1], berlin, m.Clock.Now())
	if err != nil {
		return flagError(err)
	}
	if !publishAt.IsZero() {
		return usageError("an update goes out at once: remove publish_at from the file (to change a scheduled notice: crier schedule edit ID FILE)")
	}
	return m.revise(ctx, r, key(), *wait, "cli.updated", func(c *server.Client, key string) (*crier.PublishResult, error) {
		return c.UpdateWith(ctx, pos[0], a, key, approval())
	})
}

// cancel withdraws an announcement on every channel with a new revision.
func (m *Main) cancel(ctx context.Context, args []string) error {
	fs := m.flags("cancel")
	r := m.remoteFlags(fs)
	reason := fs.String("reason", "", "why the notice no longer holds; people get this text (default: a sentence saying it was canceled)")
	wait := waitFlag(fs)
	key := keyFlag(fs, "cancel")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 {
		return usageError("cancel takes an announcement id")
	}
	err = m.revise(ctx, r, key(), *wait, "cli.canceled", func(c *server.Client, key string) (*crier.PublishResult, error) {
		return c.Cancel(ctx, pos[0], *reason, key)
	})
	if crier.ErrorCode(err) != crier.ENOTFOUND {
		return err
	}
	// Not published yet: it may be waiting for its publish_at.
	return m.cancelScheduled(ctx, r, pos[0], err)
}

// cancelScheduled removes the one-off schedule of an announcement that
// has not been published yet; notFound is the error to report when there
// is none.
func (m *Main) cancelScheduled(ctx context.Context, r *remote, id string, notFound error) error {
	c, err := m.client(r)
	if err != nil {
		return err
	}
	d, err := c.Schedule(ctx, id)
	if crier.ErrorCode(err) == crier.ENOTFOUND || err == nil && !d.Schedule.OneOff() {
		return notFound
	}
	if err != nil {
		return err
	}
	if _, err := c.CancelSchedule(ctx, id); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, m.t("cli.canceled_scheduled", id))
	return nil
}

// revise sends a revision with the command's own retries and prints the
// result under the catalog key done.
func (m *Main) revise(ctx context.Context, r *remote, key string, wait bool, done string,
	call func(c *server.Client, key string) (*crier.PublishResult, error)) error {
	c, err := m.client(r)
	if err != nil {
		return err
	}
	var res *crier.PublishResult
	err = retryTransport(ctx, func() (err error) {
		res, err = call(c, key)
		return err
	})
	if err := m.invalid(err); err != nil {
		return err
	}
	if res.State != "" {
		m.waiting(res)
		return nil
	}
	a := res.Announcement
	fmt.Fprintln(m.Stdout, m.t(done, a.ID, a.Revision, locale.N(m.lang(), "cli.deliveries", res.Deliveries)))
	if !wait {
		return nil
	}
	return m.watch(ctx, c, a.ID)
}
