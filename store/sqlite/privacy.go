package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

var _ crier.PrivacyStore = (*DB)(nil)

// Addresses are matched without regard to case (ASCII, as SQLite's
// lower() does): a person asking for erasure means every spelling of the
// mailbox. None of these lookups has an index: erasure and export are
// rare, and an index on every delivery's recipient would cost every
// publish.

// erasedText stands in for what erasing removed from a text.
const erasedText = "[erased]"

// canceledErased is the error text of a delivery canceled by an erasure.
const canceledErased = "canceled: the recipient's address was erased before it was sent"

// EraseAddress deletes the address from the town's list, or from every
// list when town is empty, and puts its pseudonym in place of it in every
// delivery and capture of that town (of every town), in one transaction.
// Deliveries to it still queued or waiting are canceled and never sent; one
// being sent at this moment finishes its attempt and is never retried,
// since a pseudonym is no address. Error texts of its deliveries and their
// attempts that name the address name the pseudonym instead; the
// subscriber links in its captures and in its confirmation mails are
// removed, since their tokens carry the address sealed. Idempotency keys
// that name the address or its pseudonym (those of its confirmation
// mails) are deleted. A malformed address is invalid; nothing stored is
// a not_found error that names neither the address nor the town.
func (db *DB) EraseAddress(ctx context.Context, town, address string, p *crier.Pseudonyms, now time.Time) (*crier.Erasure, error) {
	email, err := crier.NormalizeEmail(address)
	if err != nil {
		return nil, crier.Invalid("invalid address", []crier.Problem{crier.EmailProblem("email", err)})
	}
	if p == nil {
		return nil, crier.Errorf(crier.EINVALID, "erase: no pseudonym key")
	}
	pseudonym := p.Of(email)
	var e crier.Erasure
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		e = crier.Erasure{}
		if err := eraseAddress(ctx, tx, town, email, pseudonym, now, &e); err != nil || e.Empty() {
			return err
		}
		var towns []string
		if town != "" {
			towns = []string{town}
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditSubscriberErase, Subject: pseudonym,
			Towns: towns, Detail: map[string]string{"subscriptions": strconv.Itoa(e.Subscriptions),
				"deliveries": strconv.Itoa(e.Deliveries), "captures": strconv.Itoa(e.Captures)}}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("erase address: %w", err)
	}
	if e.Empty() {
		return nil, crier.Errorf(crier.ENOTFOUND, "nothing is stored about this address")
	}
	db.forgetOldPages(ctx)
	return &e, nil
}

// forgetOldPages copies the write-ahead log into the database file and
// empties it, so that the images of pages from before a change (an erased
// address among them) do not stay in the log until it wraps. It is best
// effort: while a reader holds an old snapshot the log is left as it is,
// and the next checkpoint overwrites it.
func (db *DB) forgetOldPages(ctx context.Context) {
	var busy, log, done int
	_ = db.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done)
}

func eraseAddress(ctx context.Context, tx *sql.Tx, town, email, pseudonym string, now time.Time, e *crier.Erasure) error {
	// ?1 the address, ?2 the town or '' for all, ?3 the pseudonym, ?4 now.
	args := []any{email, town, pseudonym, nanos(now)}
	const inScope = `(?2 = '' OR town = ?2)`
	n, err := execCount(ctx, tx, `DELETE FROM subscribers WHERE lower(email) = lower(?1) AND `+inScope, args...)
	if err != nil {
		return fmt.Errorf("delete subscriptions: %w", err)
	}
	e.Subscriptions = n
	// A cancel clears the latest attempt from the row (started = 0), and
	// the trigger keeps it in the attempts table, where it is scrubbed
	// below with the others.
	if e.Canceled, err = execCount(ctx, tx, `UPDATE deliveries SET state = 'canceled', error_code = '', error = ?5,
			started = 0, finished = 0, network = '', next_at = 0, updated_at = ?4
		WHERE lower(recipient) = lower(?1) AND `+inScope+` AND state IN ('queued', 'waiting')`,
		append(args, canceledErased)...); err != nil {
		return fmt.Errorf("cancel deliveries: %w", err)
	}
	ids, err := queryIDs(ctx, tx, `UPDATE deliveries SET recipient = ?3
		WHERE lower(recipient) = lower(?1) AND `+inScope+` RETURNING id`, args...)
	if err != nil {
		return fmt.Errorf("pseudonymize deliveries: %w", err)
	}
	e.Deliveries = len(ids)
	list, _ := json.Marshal(ids)
	replace := addressReplacer(email, pseudonym)
	for _, q := range []struct{ what, query string }{
		{"deliveries", `SELECT id, error FROM deliveries WHERE id IN (SELECT value FROM json_each(?1))`},
		{"attempts", `SELECT id, error FROM attempts WHERE delivery IN (SELECT value FROM json_each(?1))`},
	} {
		if err := rewriteColumn(ctx, tx, q.what, "error", q.query, string(list), replace); err != nil {
			return err
		}
	}
	if _, err := scrubConfirmations(ctx, tx, string(list)); err != nil {
		return err
	}
	capIDs, err := queryIDs(ctx, tx, `UPDATE captures SET recipient = ?3
		WHERE lower(recipient) = lower(?1) AND `+inScope+` RETURNING id`, args...)
	if err != nil {
		return fmt.Errorf("pseudonymize captures: %w", err)
	}
	e.Captures = len(capIDs)
	capList, _ := json.Marshal(capIDs)
	scrub := func(s string) string { return replace(scrubLinks(s)) }
	for _, col := range []string{"subject", "text", "html"} {
		q := `SELECT id, ` + col + ` FROM captures WHERE id IN (SELECT value FROM json_each(?1))`
		if err := rewriteColumn(ctx, tx, "captures", col, q, string(capList), scrub); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE captures SET payload = NULL
		WHERE id IN (SELECT value FROM json_each(?1)) AND payload IS NOT NULL`, string(capList)); err != nil {
		return fmt.Errorf("scrub captures: %w", err)
	}
	// Keys of confirmation mails: "confirm:TOWN:ADDRESS-OR-PSEUDONYM:…".
	if e.Keys, err = execCount(ctx, tx, `DELETE FROM idempotency
		WHERE (instr(lower(key), lower(?1)) > 0 OR instr(key, ?3) > 0)
			AND (?2 = '' OR key LIKE 'confirm:' || ?2 || ':%')`, args...); err != nil {
		return fmt.Errorf("delete idempotency keys: %w", err)
	}
	return nil
}

// scrubConfirmations removes the confirmation link from the stored
// confirmation mails among the deliveries in the JSON array list: such a
// mail is addressed to one person, and its link's token carries the
// address sealed.
func scrubConfirmations(ctx context.Context, tx *sql.Tx, list string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT m.id, m.content FROM messages m
		WHERE m.id IN (SELECT message_id FROM deliveries WHERE id IN (SELECT value FROM json_each(?1)))
			AND (SELECT a.event FROM announcements a WHERE a.id = m.announcement AND a.revision = m.revision) = ?2`,
		list, crier.EventSubscriptionConfirm)
	if err != nil {
		return 0, fmt.Errorf("read confirmation mails: %w", err)
	}
	type change struct {
		id      int64
		content string
	}
	var changes []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.id, &c.content); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read confirmation mails: %w", err)
		}
		m, err := decodeMessage([]byte(c.content))
		if err != nil {
			rows.Close()
			return 0, err
		}
		m.Text, m.HTML = scrubLinks(m.Text), scrubLinks(m.HTML)
		b, err := json.Marshal(m)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("encode message: %w", err)
		}
		if c.content != string(b) {
			changes = append(changes, change{c.id, string(b)})
		}
	}
	if err := closeRows(rows); err != nil {
		return 0, fmt.Errorf("read confirmation mails: %w", err)
	}
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET content = ? WHERE id = ?`, c.content, c.id); err != nil {
			return 0, fmt.Errorf("scrub confirmation mail: %w", err)
		}
	}
	return len(changes), nil
}

// closeRows closes rows and returns the error that ended them.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	rows.Close()
	return err
}

// subscriberLink matches the subscriber links (confirm and unsubscribe)
// in a text or HTML body, up to the next space, quote or angle bracket.
var subscriberLink = regexp.MustCompile(`[^\s"'<>]*/(?:confirm|unsubscribe)/[^\s"'<>]+`)

// scrubLinks replaces every subscriber link in s.
func scrubLinks(s string) string { return subscriberLink.ReplaceAllString(s, erasedText) }

// addressReplacer returns a function that puts pseudonym in place of
// every spelling of email in a text.
func addressReplacer(email, pseudonym string) func(string) string {
	re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(email))
	return func(s string) string {
		if s == "" {
			return s
		}
		return re.ReplaceAllLiteralString(s, pseudonym)
	}
}

// rewriteColumn sets column of every row that query (id and the column's
// text, for the JSON array of ids ?1) returns to what rewrite makes of
// it, where that differs.
func rewriteColumn(ctx context.Context, tx *sql.Tx, table, column, query, ids string, rewrite func(string) string) error {
	rows, err := tx.QueryContext(ctx, query, ids)
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	type change struct {
		id   int64
		text string
	}
	var changes []change
	for rows.Next() {
		var (
			id   int64
			text string
		)
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return fmt.Errorf("read %s: %w", table, err)
		}
		if t := rewrite(text); t != text {
			changes = append(changes, change{id, t})
		}
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE id = ?`, c.text, c.id); err != nil {
			return fmt.Errorf("scrub %s: %w", table, err)
		}
	}
	return nil
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	r, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// queryIDs runs a query that returns one id per row.
func queryIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, closeRows(rows)
}

// PersonalData returns everything stored about the address in every town:
// its list entries, the deliveries to it (with their announcement's title
// and every attempt), its captures and the idempotency keys that name it,
// including the records where its pseudonym stands for it since it was
// erased or its retention period passed. A malformed address is invalid;
// nothing stored is not_found.
func (db *DB) PersonalData(ctx context.Context, address string, p *crier.Pseudonyms) (*crier.PersonalData, error) {
	email, err := crier.NormalizeEmail(address)
	if err != nil {
		return nil, crier.Invalid("invalid address", []crier.Problem{crier.EmailProblem("email", err)})
	}
	if p == nil {
		return nil, crier.Errorf(crier.EINVALID, "personal data: no pseudonym key")
	}
	d := &crier.PersonalData{Address: email, Pseudonym: p.Of(email), Subscriptions: []*crier.Subscriber{},
		Deliveries: []*crier.PersonalDelivery{}, Captures: []*crier.Capture{}, Requests: []*crier.Request{}}
	// One read transaction: a consistent picture.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("personal data: %w", err)
	}
	defer tx.Rollback()
	if err := personalData(ctx, tx, d); err != nil {
		return nil, fmt.Errorf("personal data: %w", err)
	}
	for _, pd := range d.Deliveries {
		if pd.History, err = attempts(ctx, tx, pd.ID); err != nil {
			return nil, fmt.Errorf("personal data: %w", err)
		}
	}
	if len(d.Subscriptions)+len(d.Deliveries)+len(d.Captures)+len(d.Requests) == 0 {
		return nil, crier.Errorf(crier.ENOTFOUND, "nothing is stored about this address")
	}
	return d, nil
}

func personalData(ctx context.Context, tx *sql.Tx, d *crier.PersonalData) error {
	args := []any{d.Address, d.Pseudonym}
	rows, err := tx.QueryContext(ctx, `SELECT `+subscriberColumns+` FROM subscribers
		WHERE lower(email) = lower(?1) ORDER BY town, id`, args...)
	if err != nil {
		return err
	}
	if d.Subscriptions, err = collect(rows, scanSubscriber); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+prefixed("d.", deliveryColumns)+`, a.title, a.event
		FROM deliveries d JOIN announcements a ON a.id = d.announcement AND a.revision = d.revision
		WHERE lower(d.recipient) = lower(?1) OR d.recipient = ?2 ORDER BY d.id`, args...)
	if err != nil {
		return err
	}
	if d.Deliveries, err = collect(rows, scanPersonalDelivery); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+captureColumns+` FROM captures
		WHERE lower(recipient) = lower(?1) OR recipient = ?2 ORDER BY id`, args...)
	if err != nil {
		return err
	}
	if d.Captures, err = collect(rows, scanCapture); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT key, announcement, created_at FROM idempotency
		WHERE instr(lower(key), lower(?1)) > 0 OR instr(key, ?2) > 0 ORDER BY created_at`, args...)
	if err != nil {
		return err
	}
	d.Requests, err = collect(rows, func(s scanner) (*crier.Request, error) {
		var (
			r  crier.Request
			at int64
		)
		err := s.Scan(&r.Key, &r.Announcement, &at)
		r.CreatedAt = fromNanos(at)
		return &r, err
	})
	return err
}

// prefixed qualifies every column of a column list with prefix.
func prefixed(prefix, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = prefix + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

func scanPersonalDelivery(s scanner) (*crier.PersonalDelivery, error) {
	var title, event string
	d, err := scanDelivery(s, &title, &event)
	if err != nil {
		return nil, err
	}
	return &crier.PersonalDelivery{Delivery: d, Title: title, Event: event}, nil
}

// attempts returns the attempts of one delivery, oldest first, as
// Attempts does, within tx.
func attempts(ctx context.Context, tx *sql.Tx, delivery int64) ([]*crier.Attempt, error) {
	rows, err := tx.QueryContext(ctx, attemptsSQL, delivery)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanAttempt)
}

// Purge applies the retention period: for deliveries final (sent, failed,
// unknown, canceled, expired) since before the cut-off, their recipient is
// replaced by its pseudonym, error texts that name it name the pseudonym,
// and their earlier attempts are deleted (each keeps its latest outcome on
// its row); captures taken before it get the pseudonym as recipient and
// lose their subscriber links, as do the stored confirmation mails of
// announcements created before it; idempotency keys used before it and list
// entries unsubscribed before it are deleted. Deliveries still to be sent
// are left alone, however old. It works in batches, each its own
// transaction, so that sends are not held up for long. The transaction
// that deletes the attempts, keys and list entries records in the audit
// trail what was purged until then, when anything was.
func (db *DB) Purge(ctx context.Context, before time.Time, p *crier.Pseudonyms, now time.Time) (*crier.Purge, error) {
	if p == nil {
		return nil, crier.Errorf(crier.EINVALID, "purge: no pseudonym key")
	}
	res := &crier.Purge{Before: before}
	cut := nanos(before)
	for {
		n, err := db.purgeRecipients(ctx, cut, p, res)
		if err != nil {
			return nil, fmt.Errorf("purge deliveries: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if res.Attempts, err = execCount(ctx, tx, `DELETE FROM attempts WHERE delivery IN (
				SELECT id FROM deliveries WHERE state IN `+finalSet+` AND updated_at < ?1)`, cut); err != nil {
			return fmt.Errorf("delete attempts: %w", err)
		}
		if res.Keys, err = execCount(ctx, tx, `DELETE FROM idempotency WHERE created_at < ?1`, cut); err != nil {
			return fmt.Errorf("delete idempotency keys: %w", err)
		}
		if res.Subscribers, err = execCount(ctx, tx, `DELETE FROM subscribers
			WHERE state = 'unsubscribed' AND updated_at < ?1`, cut); err != nil {
			return fmt.Errorf("delete unsubscribed addresses: %w", err)
		}
		if *res == (crier.Purge{Before: before}) {
			return nil
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditSubscriberPurge, Detail: map[string]string{
			"before": before.UTC().Format(time.RFC3339), "deliveries": strconv.Itoa(res.Deliveries),
			"attempts": strconv.Itoa(res.Attempts), "keys": strconv.Itoa(res.Keys),
			"subscribers": strconv.Itoa(res.Subscribers)}}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	for {
		n, err := db.purgeCaptures(ctx, cut, p, res)
		if err != nil {
			return nil, fmt.Errorf("purge captures: %w", err)
		}
		if n < purgeBatch {
			break
		}
	}
	for {
		n, changed, err := db.purgeConfirmations(ctx, cut, res)
		if err != nil {
			return nil, fmt.Errorf("purge confirmation mails: %w", err)
		}
		if n < purgeBatch || changed == 0 {
			break
		}
	}
	if *res != (crier.Purge{Before: before}) {
		db.forgetOldPages(ctx)
	}
	return res, nil
}

// purgeConfirmations removes the link from up to purgeBatch stored
// confirmation mails created before cut, and returns how many it looked
// at and how many it changed. The link expired long before; its token
// carries the address sealed.
func (db *DB) purgeConfirmations(ctx context.Context, cut int64, res *crier.Purge) (seen, changed int, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		ids, err := queryIDs(ctx, tx, `SELECT d.id FROM deliveries d
			JOIN announcements a ON a.id = d.announcement AND a.revision = d.revision
			JOIN messages m ON m.id = d.message_id
			WHERE a.event = ?1 AND a.created_at < ?2 AND instr(m.content, '/confirm/') > 0
			LIMIT ?3`, crier.EventSubscriptionConfirm, cut, purgeBatch)
		if err != nil {
			return err
		}
		list, _ := json.Marshal(ids)
		if changed, err = scrubConfirmations(ctx, tx, string(list)); err != nil {
			return err
		}
		seen = len(ids)
		return nil
	})
	if err == nil {
		res.Confirmations += changed
	}
	return seen, changed, err
}

// purgeBatch is how many rows one purge transaction rewrites.
const purgeBatch = 500

// finalSet is the SQL list of final delivery states.
const finalSet = `('sent', 'failed', 'unknown', 'canceled', 'expired')`

// purgeRecipients pseudonymizes up to purgeBatch deliveries final since
// before cut and returns how many.
func (db *DB) purgeRecipients(ctx context.Context, cut int64, p *crier.Pseudonyms, res *crier.Purge) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, recipient, error FROM deliveries
			WHERE state IN `+finalSet+` AND updated_at < ?1 AND recipient != '' AND recipient NOT LIKE ?2
			LIMIT ?3`, cut, crier.PseudonymPrefix+"%", purgeBatch)
		if err != nil {
			return err
		}
		type row struct {
			id               int64
			recipient, error string
		}
		var rs []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.recipient, &r.error); err != nil {
				rows.Close()
				return err
			}
			rs = append(rs, r)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		for _, r := range rs {
			pseudonym := p.Of(r.recipient)
			_, err := tx.ExecContext(ctx, `UPDATE deliveries SET recipient = ?, error = ? WHERE id = ?`,
				pseudonym, addressReplacer(r.recipient, pseudonym)(r.error), r.id)
			if err != nil {
				return err
			}
		}
		n = len(rs)
		return nil
	})
	if err == nil {
		res.Deliveries += n
	}
	return n, err
}

// purgeCaptures pseudonymizes up to purgeBatch captures taken before cut
// and returns how many.
func (db *DB) purgeCaptures(ctx context.Context, cut int64, p *crier.Pseudonyms, res *crier.Purge) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, recipient, subject, text, html FROM captures
			WHERE at < ?1 AND recipient != '' AND recipient NOT LIKE ?2 LIMIT ?3`,
			cut, crier.PseudonymPrefix+"%", purgeBatch)
		if err != nil {
			return err
		}
		var cs []*crier.Capture
		for rows.Next() {
			var c crier.Capture
			if err := rows.Scan(&c.ID, &c.Recipient, &c.Subject, &c.Text, &c.HTML); err != nil {
				rows.Close()
				return err
			}
			cs = append(cs, &c)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		for _, c := range cs {
			pseudonym := p.Of(c.Recipient)
			replace := addressReplacer(c.Recipient, pseudonym)
			scrub := func(s string) string { return replace(scrubLinks(s)) }
			_, err := tx.ExecContext(ctx, `UPDATE captures SET recipient = ?, subject = ?, text = ?, html = ?,
				payload = NULL WHERE id = ?`, pseudonym, scrub(c.Subject), scrub(c.Text), scrub(c.HTML), c.ID)
			if err != nil {
				return err
			}
		}
		n = len(cs)
		return nil
	})
	if err == nil {
		res.Captures += n
	}
	return n, err
}
