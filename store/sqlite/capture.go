package sqlite

import (
	"context"
	"fmt"

	"github.com/crierhq/crier"
)

const captureColumns = `id, key, announcement, revision, town, channel, type, recipient, subject, text, html, payload, at`

// SaveCapture stores c and sets c.ID. Saving a Key that is stored already
// keeps the first capture and sets c.ID to its id. An empty Key is invalid.
func (db *DB) SaveCapture(ctx context.Context, c *crier.Capture) error {
	if c == nil || c.Key == "" {
		return crier.Errorf(crier.EINVALID, "capture has no key")
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO captures (key, announcement, revision, town, channel, type,
			recipient, subject, text, html, payload, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		c.Key, c.Announcement, c.Revision, c.Town, c.Channel, c.Type, c.Recipient, c.Subject, c.Text, c.HTML,
		c.Payload, nanos(c.At))
	if err != nil {
		return fmt.Errorf("save capture: %w", err)
	}
	// Captures are never deleted, so the row found is the one stored now
	// or the first one with this key.
	if err := db.write.QueryRowContext(ctx, `SELECT id FROM captures WHERE key = ?`, c.Key).Scan(&c.ID); err != nil {
		return fmt.Errorf("save capture: %w", err)
	}
	return nil
}

// Captures returns up to limit captures (1000 when limit is 0), of one
// announcement or of all when announcement is empty, oldest first.
func (db *DB) Captures(ctx context.Context, announcement string, limit int) ([]*crier.Capture, error) {
	return db.captures(ctx, announcement, limit, "id")
}

// RecentCaptures is Captures newest first: the limit keeps the latest.
func (db *DB) RecentCaptures(ctx context.Context, announcement string, limit int) ([]*crier.Capture, error) {
	return db.captures(ctx, announcement, limit, "id DESC")
}

func (db *DB) captures(ctx context.Context, announcement string, limit int, order string) ([]*crier.Capture, error) {
	query, args := `SELECT `+captureColumns+` FROM captures`, []any{}
	if announcement != "" {
		query, args = query+` WHERE announcement = ?`, append(args, announcement)
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY `+order+` LIMIT ?`, append(args, limitOr(limit))...)
	if err != nil {
		return nil, fmt.Errorf("list captures: %w", err)
	}
	cs, err := collect(rows, scanCapture)
	if err != nil {
		return nil, fmt.Errorf("list captures: %w", err)
	}
	return cs, nil
}

func scanCapture(s scanner) (*crier.Capture, error) {
	var (
		c  crier.Capture
		at int64
	)
	err := s.Scan(&c.ID, &c.Key, &c.Announcement, &c.Revision, &c.Town, &c.Channel, &c.Type, &c.Recipient,
		&c.Subject, &c.Text, &c.HTML, &c.Payload, &at)
	c.At = fromNanos(at)
	return &c, err
}
