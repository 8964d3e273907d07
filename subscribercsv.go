package crier

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// SubscriberRow is one address read from a subscriber list.
type SubscriberRow struct {
	// Email is normalized (NormalizeEmail).
	Email string
	// Name is the row's second field, trimmed; "" when there is none.
	Name string
	// Line is the line of the file the row starts on.
	Line int
}

// ReadSubscriberCSV reads a subscriber list: rows of email[,name], as
// spreadsheets write them. A first row whose first field is "email" (any
// case, after a byte order mark) is a header. Every row that is no valid,
// new address is a problem placed at the line of the file it starts on,
// which is not its number among the rows when the file has empty lines or
// quoted fields that span lines; a repeated address names the line it
// repeats. Reading goes on after a bad row, so that a person sees every
// problem at once.
func ReadSubscriberCSV(r io.Reader) ([]SubscriberRow, []Problem) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var rows []SubscriberRow
	var problems []Problem
	seen := map[string]int{}
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			problems = append(problems, csvProblem(pe))
			continue
		}
		if err != nil { // the reader failed: nothing more comes
			problems = append(problems, Problemf("", "csv.read", "cannot read the file: %v", err))
			break
		}
		line, _ := cr.FieldPos(0)
		where := fmt.Sprintf("line %d", line)
		field := rec[0]
		if first {
			field = strings.TrimPrefix(field, "\uFEFF")
			if strings.EqualFold(strings.TrimSpace(field), "email") {
				continue
			}
		}
		email, err := NormalizeEmail(field)
		if err != nil {
			problems = append(problems, EmailProblem(where, err))
			continue
		}
		if earlier, dup := seen[email]; dup {
			problems = append(problems, Problemf(where, "csv.repeats", "%v repeats line %v", email, earlier))
			continue
		}
		name := ""
		if len(rec) > 1 {
			name = strings.TrimSpace(rec[1])
		}
		if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			problems = append(problems, Problemf(where, "control_characters", "must be a single line without control characters"))
			continue
		}
		seen[email] = line
		rows = append(rows, SubscriberRow{Email: email, Name: name, Line: line})
	}
	return rows, problems
}

// csvProblem places a row the CSV reader cannot read at the line the row
// starts on. The CSV reader's own text is kept as it is.
func csvProblem(pe *csv.ParseError) Problem {
	field := fmt.Sprintf("line %d", pe.StartLine)
	if pe.Line != pe.StartLine {
		return Problemf(field, "csv.bad_row_at", "line %v, column %v: %v", pe.Line, pe.Column, pe.Err)
	}
	return Problemf(field, "csv.bad_row", "column %v: %v", pe.Column, pe.Err)
}
