package sqlite

import (
	"context"
	"fmt"

	"github.com/crierhq/crier"
)

// Lists a person pages through in the newsroom: bounded pages, filtered by
// town, so that no page holds a whole town's list.

// SubscriberCounts returns how many addresses of the town's list are in
// each state.
func (db *DB) SubscriberCounts(ctx context.Context, town string) (map[crier.SubscriberState]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT state, count(*) FROM subscribers WHERE town = ? GROUP BY state`, town)
	if err != nil {
		return nil, fmt.Errorf("count subscribers: %w", err)
	}
	defer rows.Close()
	out := make(map[crier.SubscriberState]int)
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count subscribers: %w", err)
		}
		out[crier.SubscriberState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count subscribers: %w", err)
	}
	return out, nil
}

// SubscriberPage returns up to limit of the town's subscribers by address,
// after skipping offset; with search set, only addresses that contain it,
// ignoring case.
func (db *DB) SubscriberPage(ctx context.Context, town, search string, offset, limit int) ([]*crier.Subscriber, error) {
	query, args := `SELECT `+subscriberColumns+` FROM subscribers WHERE town = ?`, []any{town}
	if search != "" {
		query, args = query+` AND instr(lower(email), lower(?)) > 0`, append(args, search)
	}
	rows, err := db.read.QueryContext(ctx, query+` ORDER BY email LIMIT ? OFFSET ?`, append(args, limitOr(limit), max(offset, 0))...)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	subs, err := collect(rows, scanSubscriber)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", err)
	}
	return subs, nil
}
