package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

const announcementColumns = `id, revision, title, body, towns, channels, category, urgency, severity,
	certainty, mode, expires, created_at, event, reason, author, approver, approval`

// CreateAnnouncement commits the plan's announcement, its messages and all
// their deliveries in one transaction, queued and due at now, and its
// pages (Plan.Pages) as messages without deliveries. A message
// marked PerSubscriber gets one delivery per subscriber of its town who is
// confirmed at this moment; any other message gets one delivery. The
// announcement's CreatedAt defaults to now, and its Expires is copied into
// every stored message.
//
// When idempotencyKey is not empty and was used before, it returns the
// earlier result with Existing set and writes nothing. A plan whose
// announcement revision exists already is a conflict error; a plan without
// an announcement id or with repeated town × channel messages is invalid.
func (db *DB) CreateAnnouncement(ctx context.Context, p *crier.Plan, idempotencyKey string, now time.Time) (*crier.PublishResult, error) {
	if err := checkPlan(p); err != nil {
		return nil, err
	}
	a := *p.Announcement
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	if a.Event == "" {
		a.Event = crier.EventPublished
	}
	a.CreatedAt, a.Expires = fromNanos(nanos(a.CreatedAt)), fromNanos(nanos(a.Expires))
	var res *crier.PublishResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if idempotencyKey != "" {
			if res, err = earlierResult(ctx, tx, idempotencyKey); res != nil || err != nil {
				return err
			}
		}
		if res, err = db.insertPlan(ctx, tx, &a, p.Messages, p.Pages, now); err != nil {
			return err
		}
		if err := auditPublish(ctx, tx, p, &a, res, now); err != nil {
			return err
		}
		if idempotencyKey == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency (key, announcement, revision, deliveries, created_at)
			VALUES (?, ?, ?, ?, ?)`, idempotencyKey, a.ID, a.Revision, res.Deliveries, nanos(now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create announcement: %w", err)
	}
	return res, nil
}

// auditPublish writes the audit entry of committing the plan p as a.
func auditPublish(ctx context.Context, tx *sql.Tx, p *crier.Plan, a *crier.Announcement, res *crier.PublishResult, now time.Time) error {
	towns := p.Towns
	if len(towns) == 0 {
		towns = a.Towns
	}
	d := map[string]string{"revision": strconv.Itoa(a.Revision), "mode": string(a.Mode),
		"deliveries": strconv.Itoa(res.Deliveries)}
	// An approved revision names its approver; an admin's emergency
	// publish without the approval its towns require says so.
	if a.Approval != "" {
		d["approval"] = a.Approval
	}
	if a.Approver != "" {
		d["approver"] = a.Approver
	}
	return appendAudit(ctx, tx, crier.AuditEntry{Action: a.Event, Subject: a.ID, Towns: towns, Detail: d}, now)
}

// checkPlan returns an invalid error listing every problem of p that would
// otherwise surface as a constraint violation halfway through the commit.
func checkPlan(p *crier.Plan) error {
	if p == nil || p.Announcement == nil {
		return crier.Errorf(crier.EINVALID, "plan has no announcement")
	}
	// These check what the engine built, not anyone's input: they stay
	// in English.
	var ps []crier.Problem
	if p.Announcement.ID == "" {
		ps = append(ps, crier.Problem{Field: "id", Message: "must not be empty"})
	}
	if p.Announcement.Revision < 1 {
		ps = append(ps, crier.Problem{Field: "revision", Message: "must be at least 1"})
	}
	seen := make(map[[2]string]bool)
	all := append(slices.Clip(p.Messages), p.Pages...)
	for i, m := range all {
		field := fmt.Sprintf("messages[%d]", i)
		if i >= len(p.Messages) {
			field = fmt.Sprintf("pages[%d]", i-len(p.Messages))
		}
		switch {
		case m == nil || m.Town == "" || m.Channel == "" || m.Type == "":
			ps = append(ps, crier.Problem{Field: field, Message: "needs a town, a channel and a type"})
		case seen[[2]string{m.Town, m.Channel}]:
			ps = append(ps, crier.Problem{Field: field, Town: m.Town, Channel: m.Channel, Message: "is repeated"})
		}
		if m != nil {
			seen[[2]string{m.Town, m.Channel}] = true
		}
	}
	return crier.Invalid("invalid plan", ps)
}

// EarlierResult returns the result recorded for an idempotency key, with
// Existing set, or nil when the key is new.
func (db *DB) EarlierResult(ctx context.Context, key string) (*crier.PublishResult, error) {
	if key == "" {
		return nil, nil
	}
	return earlierResult(ctx, db.read, key)
}

// querier is what *sql.DB and *sql.Tx have in common for single rows.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// earlierResult returns the result recorded for an idempotency key, or nil
// when the key is new.
func earlierResult(ctx context.Context, tx querier, key string) (*crier.PublishResult, error) {
	var (
		id       string
		revision int
		n        int
	)
	err := tx.QueryRowContext(ctx, `SELECT announcement, revision, deliveries FROM idempotency WHERE key = ?`, key).
		Scan(&id, &revision, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	}
	row := tx.QueryRowContext(ctx, `SELECT `+announcementColumns+` FROM announcements WHERE id = ? AND revision = ?`, id, revision)
	a, err := scanAnnouncement(row)
	if err != nil {
		return nil, fmt.Errorf("read earlier announcement: %w", err)
	}
	return &crier.PublishResult{Announcement: a, Deliveries: n, Existing: true}, nil
}

// insertPlan writes the announcement, its messages and their deliveries,
// and its pages, which have none.
func (db *DB) insertPlan(ctx context.Context, tx *sql.Tx, a *crier.Announcement, msgs, pages []*crier.Message, now time.Time) (*crier.PublishResult, error) {
	if err := insertAnnouncement(ctx, tx, a); err != nil {
		return nil, err
	}
	w := &planWriter{
		message:     tx.StmtContext(ctx, db.stmts.insertMessage),
		count:       tx.StmtContext(ctx, db.stmts.setMessageDeliveries),
		subscribers: tx.StmtContext(ctx, db.stmts.queueSubscribers),
		single:      tx.StmtContext(ctx, db.stmts.queueSingle),
	}
	res := &crier.PublishResult{Announcement: a}
	for _, m := range msgs {
		n, err := w.insert(ctx, a, m, now)
		if err != nil {
			return nil, fmt.Errorf("town %s, channel %s: %w", m.Town, m.Channel, err)
		}
		res.Deliveries += n
	}
	for _, m := range pages {
		if _, err := w.store(ctx, a, m, 0); err != nil {
			return nil, fmt.Errorf("town %s, page: %w", m.Town, err)
		}
	}
	if a.Revision > 1 {
		// Set before the commit: a delivery this revision holds may be
		// released by the next outcome recorded.
		db.mayWait.Store(true)
		if err := followRevision(ctx, tx, a, now); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// followRevision links the deliveries of revision a, just inserted, to
// those of the revision before: each follows the previous delivery with its
// key on the same town × channel (× subscriber). Previous deliveries not
// yet attempted (queued or waiting, and no attempt may have arrived) are
// canceled, since a replaces or withdraws them: a new delivery then follows
// what its replaced one followed. A new delivery whose predecessor is not
// final waits for it; a cancel with nothing sent before it is canceled.
func followRevision(ctx context.Context, tx *sql.Tx, a *crier.Announcement, now time.Time) error {
	prefix := a.ID + "." + strconv.Itoa(a.Revision)
	previous := a.ID + "." + strconv.Itoa(a.Revision-1)
	replaced := fmt.Sprintf("replaced by revision %d before it was sent", a.Revision)
	if a.Event == crier.EventCanceled {
		replaced = fmt.Sprintf("withdrawn by revision %d before it was sent", a.Revision)
	}
	steps := []struct {
		what  string
		query string
		args  []any
	}{
		{"link deliveries to the previous revision", `UPDATE deliveries AS n
			SET after = iif(p.state IN ('queued', 'waiting') AND NOT p.ambiguous, p.after, p.id)
			FROM deliveries AS p
			WHERE n.announcement = ?1 AND n.revision = ?2 AND p.key = ?3 || substr(n.key, ?4)`,
			[]any{a.ID, a.Revision, previous, len(prefix) + 1}},
		{"cancel the previous revision's unsent deliveries", `UPDATE deliveries
			SET state = 'canceled', error_code = '', error = ?3, started = 0, finished = 0, network = '', next_at = 0,
				updated_at = ?4
			WHERE announcement = ?1 AND revision = ?2 AND state IN ('queued', 'waiting') AND NOT ambiguous`,
			[]any{a.ID, a.Revision - 1, replaced, nanos(now)}},
		{"hold deliveries whose predecessor is not final", `UPDATE deliveries AS n SET state = 'waiting'
			WHERE n.announcement = ?1 AND n.revision = ?2 AND n.state = 'queued' AND n.after != 0
				AND (SELECT p.state FROM deliveries p WHERE p.id = n.after) IN ('queued', 'waiting', 'sending')`,
			[]any{a.ID, a.Revision}},
	}
	if a.Event == crier.EventCanceled {
		steps = append(steps, struct {
			what  string
			query string
			args  []any
		}{"cancel deliveries with nothing to withdraw", `UPDATE deliveries AS n
			SET state = 'canceled', error = 'nothing was sent here to withdraw', next_at = 0, updated_at = ?3
			WHERE n.announcement = ?1 AND n.revision = ?2 AND n.state = 'queued' AND (n.after = 0 OR
				(SELECT p.state FROM deliveries p WHERE p.id = n.after) IN ('failed', 'expired', 'canceled'))`,
			[]any{a.ID, a.Revision, nanos(now)}})
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func insertAnnouncement(ctx context.Context, tx *sql.Tx, a *crier.Announcement) error {
	var (
		latest int
		event  string
	)
	err := tx.QueryRowContext(ctx, `SELECT revision, event FROM announcements WHERE id = ?
		ORDER BY revision DESC LIMIT 1`, a.ID).Scan(&latest, &event)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	switch {
	case latest >= a.Revision:
		return crier.Errorf(crier.ECONFLICT, "announcement %s revision %d exists already", a.ID, a.Revision)
	case latest == 0 && a.Revision > 1:
		return crier.Errorf(crier.ENOTFOUND, "announcement %s not found", a.ID)
	case latest < a.Revision-1:
		return crier.Errorf(crier.ECONFLICT, "announcement %s is at revision %d; the next is %d, not %d",
			a.ID, latest, latest+1, a.Revision)
	case event == crier.EventCanceled:
		return crier.Errorf(crier.ECONFLICT, "announcement %s was canceled in revision %d", a.ID, latest)
	}
	towns, err := json.Marshal(nonNil(a.Towns))
	if err != nil {
		return err
	}
	channels, err := json.Marshal(nonNil(a.Channels))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO announcements (`+announcementColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Revision, a.Title, a.Body, string(towns), string(channels), a.Category, a.Urgency,
		a.Severity, a.Certainty, string(a.Mode), nanos(a.Expires), nanos(a.CreatedAt), a.Event, a.Reason,
		a.Author, a.Approver, a.Approval)
	if err != nil {
		return fmt.Errorf("insert announcement: %w", err)
	}
	return nil
}

// planWriter holds the statements that store messages and queue their
// deliveries, bound to one transaction.
type planWriter struct {
	message, count, subscribers, single *sql.Stmt
}

// insert stores the rendered message m of announcement a and queues its
// deliveries; it returns how many.
func (w *planWriter) insert(ctx context.Context, a *crier.Announcement, m *crier.Message, now time.Time) (int, error) {
	key := crier.DeliveryKey(a.ID, a.Revision, m.Town, m.Channel, 0)
	if !m.PerSubscriber {
		id, err := w.store(ctx, a, m, 1)
		if err != nil {
			return 0, err
		}
		_, err = w.single.ExecContext(ctx, key, a.ID, a.Revision, m.Town, m.Channel, m.Type, id, m.Recipient, nanos(now), m.Capture)
		if err != nil {
			return 0, fmt.Errorf("queue deliveries: %w", err)
		}
		return 1, nil
	}
	id, err := w.store(ctx, a, m, 0)
	if err != nil {
		return 0, err
	}
	r, err := w.subscribers.ExecContext(ctx, key, a.ID, a.Revision, m.Town, m.Channel, m.Type, id, nanos(now), m.Capture)
	if err != nil {
		return 0, fmt.Errorf("queue deliveries: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("queue deliveries: %w", err)
	}
	if n > 0 {
		if _, err := w.count.ExecContext(ctx, id, n); err != nil {
			return 0, fmt.Errorf("count deliveries: %w", err)
		}
	}
	return int(n), nil
}

// store stores the rendered message m of announcement a, which makes
// deliveries deliveries, and returns its id.
func (w *planWriter) store(ctx context.Context, a *crier.Announcement, m *crier.Message, deliveries int) (int64, error) {
	stored := *m
	stored.Announcement, stored.Revision, stored.Expires = a.ID, a.Revision, a.Expires
	stored.Key, stored.Recipient, stored.UnsubscribeURL, stored.Attempt, stored.FirstAttempt = "", "", "", 0, time.Time{}
	content, err := json.Marshal(&stored)
	if err != nil {
		return 0, fmt.Errorf("encode message: %w", err)
	}
	r, err := w.message.ExecContext(ctx, a.ID, a.Revision, m.Town, m.Channel, m.Type, string(content), deliveries)
	if err != nil {
		return 0, fmt.Errorf("insert message: %w", err)
	}
	return r.LastInsertId()
}

// Announcement returns the latest revision of the announcement id, or a
// not_found error.
func (db *DB) Announcement(ctx context.Context, id string) (*crier.Announcement, error) {
	row := db.read.QueryRowContext(ctx, `SELECT `+announcementColumns+` FROM announcements
		WHERE id = ? ORDER BY revision DESC LIMIT 1`, id)
	a, err := scanAnnouncement(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, crier.Errorf(crier.ENOTFOUND, "announcement %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read announcement: %w", err)
	}
	return a, nil
}

// Announcements returns up to limit announcements (1000 when limit is 0),
// each in its latest revision, the most recently created or revised first.
// Only announcements for people (events announcement.*) are listed: the
// confirmation mails of the subscribe form (crier.EventSubscriptionConfirm)
// are left out, though Announcement and the delivery record still have them.
func (db *DB) Announcements(ctx context.Context, limit int) ([]*crier.Announcement, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+announcementColumns+` FROM announcements a
		WHERE revision = (SELECT MAX(revision) FROM announcements b WHERE b.id = a.id)
			AND event LIKE 'announcement.%'
		ORDER BY created_at DESC, id DESC LIMIT ?`, limitOr(limit))
	if err != nil {
		return nil, fmt.Errorf("list announcements: %w", err)
	}
	as, err := collect(rows, scanAnnouncement)
	if err != nil {
		return nil, fmt.Errorf("list announcements: %w", err)
	}
	return as, nil
}

// Messages returns the rendered messages of every revision of the
// announcement id, by revision and then in the order they were planned.
// The per-delivery fields are empty. An unknown id yields no messages.
func (db *DB) Messages(ctx context.Context, id string) ([]*crier.Message, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT content FROM messages WHERE announcement = ? ORDER BY revision, id`, id)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return collectMessages(rows, "list messages")
}

func decodeMessage(content []byte) (*crier.Message, error) {
	m := new(crier.Message)
	if err := json.Unmarshal(content, m); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	return m, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanAnnouncement(s scanner) (*crier.Announcement, error) {
	var (
		a                crier.Announcement
		towns, channels  []byte
		expires, created int64
		mode             string
	)
	err := s.Scan(&a.ID, &a.Revision, &a.Title, &a.Body, &towns, &channels, &a.Category, &a.Urgency,
		&a.Severity, &a.Certainty, &mode, &expires, &created, &a.Event, &a.Reason, &a.Author, &a.Approver, &a.Approval)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(towns, &a.Towns); err != nil {
		return nil, fmt.Errorf("decode towns: %w", err)
	}
	if err := json.Unmarshal(channels, &a.Channels); err != nil {
		return nil, fmt.Errorf("decode channels: %w", err)
	}
	a.Towns, a.Channels = nilIfEmpty(a.Towns), nilIfEmpty(a.Channels)
	a.Mode, a.Expires, a.CreatedAt = crier.Mode(mode), fromNanos(expires), fromNanos(created)
	return &a, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Revisions returns every revision of the announcement id, oldest first,
// or a not_found error.
func (db *DB) Revisions(ctx context.Context, id string) ([]*crier.Announcement, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+announcementColumns+` FROM announcements
		WHERE id = ? ORDER BY revision`, id)
	if err != nil {
		return nil, fmt.Errorf("list revisions: %w", err)
	}
	as, err := collect(rows, scanAnnouncement)
	if err != nil {
		return nil, fmt.Errorf("list revisions: %w", err)
	}
	if len(as) == 0 {
		return nil, crier.Errorf(crier.ENOTFOUND, "announcement %s not found", id)
	}
	return as, nil
}

// Pages returns the pages (messages of type crier.PageType) of the town's
// newest limit announcements (1000 when limit is 0), every revision of
// each, by announcement and revision. Newest is by the latest revision
// that has a page for the town. A town without pages has none.
func (db *DB) Pages(ctx context.Context, town string, limit int) ([]*crier.Message, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT content FROM messages
		WHERE town = ?1 AND type = ?2 AND announcement IN (
			SELECT m.announcement FROM messages m
			JOIN announcements a ON a.id = m.announcement AND a.revision = m.revision
			WHERE m.town = ?1 AND m.type = ?2
			GROUP BY m.announcement ORDER BY MAX(a.created_at) DESC, m.announcement DESC LIMIT ?3)
		ORDER BY announcement, revision`, town, crier.PageType, limitOr(limit))
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	return collectMessages(rows, "list pages")
}

// Page returns the pages of the announcement id for the town, every
// revision, oldest first; none when the announcement does not concern the
// town or does not exist.
func (db *DB) Page(ctx context.Context, town, id string) ([]*crier.Message, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT content FROM messages
		WHERE town = ? AND type = ? AND announcement = ? ORDER BY revision`, town, crier.PageType, id)
	if err != nil {
		return nil, fmt.Errorf("read page: %w", err)
	}
	return collectMessages(rows, "read page")
}

// collectMessages decodes the content column of every row.
func collectMessages(rows *sql.Rows, what string) ([]*crier.Message, error) {
	ms, err := collect(rows, func(s scanner) (*crier.Message, error) {
		var content []byte
		if err := s.Scan(&content); err != nil {
			return nil, err
		}
		return decodeMessage(content)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ms, nil
}

// FindAnnouncements returns up to f.Limit (1000 when 0) announcements
// matching f, each in its latest revision, newest first (by the creation
// of that revision, then by id), as Announcements does. With f.After the
// page is the one just newer than the cursor. An unknown state or mode is
// invalid.
func (db *DB) FindAnnouncements(ctx context.Context, f crier.AnnouncementFilter) ([]*crier.Announcement, error) {
	if f.Scope != nil && len(f.Scope) == 0 || f.Town != nil && len(f.Town) == 0 {
		return nil, nil
	}
	where := []string{`revision = (SELECT MAX(revision) FROM announcements b WHERE b.id = a.id)`,
		`event LIKE 'announcement.%'`}
	var args []any
	for _, names := range [][]string{f.Scope, f.Town} {
		if names == nil {
			continue
		}
		where = append(where, `EXISTS (SELECT 1 FROM json_each(a.towns) WHERE value IN (?`+
			strings.Repeat(", ?", len(names)-1)+`))`)
		for _, n := range names {
			args = append(args, n)
		}
	}
	if f.Mode != "" {
		if !f.Mode.Valid() {
			return nil, crier.Errorf(crier.EINVALID, "unknown mode %q", f.Mode)
		}
		where, args = append(where, `mode = ?`), append(args, string(f.Mode))
	}
	now := nanos(f.Now)
	switch f.State {
	case "":
	case crier.AnnouncementCanceled:
		where, args = append(where, `event = ?`), append(args, crier.EventCanceled)
	case crier.AnnouncementExpired:
		where, args = append(where, `event != ? AND expires != 0 AND expires <= ?`), append(args, crier.EventCanceled, now)
	case crier.AnnouncementPublished, crier.AnnouncementUpdated:
		event := crier.EventPublished
		if f.State == crier.AnnouncementUpdated {
			event = crier.EventUpdated
		}
		where, args = append(where, `event = ? AND (expires = 0 OR expires > ?)`), append(args, event, now)
	default:
		return nil, crier.Errorf(crier.EINVALID, "unknown announcement state %q", f.State)
	}
	if !f.Before.IsZero() {
		at := nanos(f.Before.At)
		where, args = append(where, `(created_at < ? OR created_at = ? AND id < ?)`), append(args, at, at, f.Before.ID)
	}
	order := `DESC`
	if !f.After.IsZero() {
		at := nanos(f.After.At)
		where, args = append(where, `(created_at > ? OR created_at = ? AND id > ?)`), append(args, at, at, f.After.ID)
		order = `ASC` // the page next to the cursor, reversed below
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+announcementColumns+` FROM announcements a
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at `+order+`, id `+order+` LIMIT ?`, append(args, limitOr(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list announcements: %w", err)
	}
	as, err := collect(rows, scanAnnouncement)
	if err != nil {
		return nil, fmt.Errorf("list announcements: %w", err)
	}
	if order == `ASC` {
		slices.Reverse(as)
	}
	return as, nil
}
