package sqlite

import (
	"context"
	"fmt"
	"strings"

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
	return db.FindCaptures(ctx, crier.CaptureFilter{Announcement: announcement, Personal: true, Limit: limit})
}

// FindCaptures returns up to f.Limit (1000 when 0) captures matching f,
// oldest first or, with f.Newest, newest first.
func (db *DB) FindCaptures(ctx context.Context, f crier.CaptureFilter) ([]*crier.Capture, error) {
	var (
		where []string
		args  []any
	)
	if f.Announcement != "" {
		where, args = append(where, `announcement = ?`), append(args, f.Announcement)
	}
	if !f.Personal {
		where = append(where, `recipient = ''`)
	}
	if f.Before > 0 {
		where, args = append(where, `id < ?`), append(args, f.Before)
	}
	if f.Towns != nil {
		if len(f.Towns) == 0 {
			return nil, nil
		}
		where = append(where, `town IN (?`+strings.Repeat(", ?", len(f.Towns)-1)+`)`)
		for _, t := range f.Towns {
			args = append(args, t)
		}
	}
	query := `SELECT ` + captureColumns + ` FROM captures`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	order := `id`
	if f.Newest {
		order = `id DESC`
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY `+order+` LIMIT ?`, append(args, limitOr(f.Limit))...)
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
