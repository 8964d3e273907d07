package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/crierhq/crier"
)

var _ crier.ServiceStatusStore = (*DB)(nil)

// ServiceStatus returns the town's stored service status list in display
// order, or none when no list is stored for it.
func (db *DB) ServiceStatus(ctx context.Context, town string) ([]crier.ServiceStatus, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT service, availability, text, updated_at
		FROM service_status WHERE town = ? ORDER BY position`, town)
	if err != nil {
		return nil, fmt.Errorf("service status of %s: %w", town, err)
	}
	lines, err := collectStatus(rows)
	if err != nil {
		return nil, fmt.Errorf("service status of %s: %w", town, err)
	}
	return lines, nil
}

// SetServiceStatus replaces the town's whole list in one transaction; an
// empty list removes it, so that the town shows its configured list again.
// A line whose service, availability and text are unchanged keeps its
// Updated time; every other line is updated at now. An invalid list
// (crier.CheckServiceStatus) is refused with every problem and changes
// nothing.
func (db *DB) SetServiceStatus(ctx context.Context, town string, lines []crier.ServiceStatus, now time.Time) error {
	ps := crier.CheckServiceStatus(lines)
	if town == "" {
		ps = append(ps, crier.Problemf("town", "required", "is required"))
	}
	if err := crier.Invalid("invalid service status", ps); err != nil {
		return err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT service, availability, text, updated_at
			FROM service_status WHERE town = ?`, town)
		if err != nil {
			return err
		}
		old, err := collectStatus(rows)
		if err != nil {
			return err
		}
		kept := map[crier.ServiceStatus]time.Time{}
		for _, o := range old {
			kept[crier.ServiceStatus{Service: o.Service, Availability: o.Availability, Text: o.Text}] = o.Updated
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_status WHERE town = ?`, town); err != nil {
			return err
		}
		for i, l := range lines {
			updated, ok := kept[crier.ServiceStatus{Service: l.Service, Availability: l.Availability, Text: l.Text}]
			if !ok || updated.IsZero() {
				updated = now
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO service_status
				(town, position, service, availability, text, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				town, i, l.Service, string(l.Availability), l.Text, nanos(updated)); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, crier.AuditEntry{Action: crier.AuditServiceStatus, Subject: town,
			Towns: []string{town}, Detail: map[string]string{"lines": strconv.Itoa(len(lines))}}, now)
	})
	if err != nil {
		return fmt.Errorf("set service status of %s: %w", town, err)
	}
	return nil
}

func collectStatus(rows *sql.Rows) ([]crier.ServiceStatus, error) {
	defer rows.Close()
	var out []crier.ServiceStatus
	for rows.Next() {
		var (
			l            crier.ServiceStatus
			availability string
			updated      int64
		)
		if err := rows.Scan(&l.Service, &availability, &l.Text, &updated); err != nil {
			return nil, err
		}
		l.Availability, l.Updated = crier.Availability(availability), fromNanos(updated)
		out = append(out, l)
	}
	return out, rows.Err()
}
