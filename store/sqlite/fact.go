package sqlite

import (
	"context"
	"fmt"

	"github.com/crierhq/crier"
)

var _ crier.FactStore = (*DB)(nil)

// Facts returns every stored fact of kind, ordered by key.
func (db *DB) Facts(ctx context.Context, kind string) ([]crier.Fact, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT key, value, learned_at FROM remote_facts
		WHERE kind = ? ORDER BY key`, kind)
	if err != nil {
		return nil, fmt.Errorf("facts of %s: %w", kind, err)
	}
	defer rows.Close()
	var out []crier.Fact
	for rows.Next() {
		f := crier.Fact{Kind: kind}
		var learned int64
		if err := rows.Scan(&f.Key, &f.Value, &learned); err != nil {
			return nil, fmt.Errorf("facts of %s: %w", kind, err)
		}
		f.Learned = fromNanos(learned)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("facts of %s: %w", kind, err)
	}
	return out, nil
}

// SaveFact stores f in place of the fact of the same kind and key. A fact
// without a kind or key is invalid.
func (db *DB) SaveFact(ctx context.Context, f crier.Fact) error {
	if f.Kind == "" || f.Key == "" {
		return crier.Errorf(crier.EINVALID, "fact has no kind or key")
	}
	value := f.Value
	if value == nil {
		value = []byte{}
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO remote_facts (kind, key, value, learned_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, learned_at = excluded.learned_at`,
		f.Kind, f.Key, value, nanos(f.Learned))
	if err != nil {
		return fmt.Errorf("save fact %s %s: %w", f.Kind, f.Key, err)
	}
	return nil
}
