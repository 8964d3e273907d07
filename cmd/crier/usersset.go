package main

import (
	"context"
	"fmt"
)

// usersSet changes what a user may do beyond their role: for now, whether
// they may publish real notices (mode actual).
func (m *Main) usersSet(ctx context.Context, args []string) error {
	fs := m.flags("users set")
	configFlag, dataDir := accountFlags(fs)
	actual := fs.String("actual", "", "`true` lets the user publish real notices (mode actual); false limits them to exercises")
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) != 1 || (*actual != "true" && *actual != "false") {
		return usageError("usage: crier users set NAME --actual=true|false")
	}
	a, err := m.openAccounts(ctx, *configFlag, *dataDir)
	if err != nil {
		return err
	}
	defer a.db.Close()
	allow := *actual == "true"
	if err := a.db.SetActual(ctx, pos[0], allow); err != nil {
		return err
	}
	key := "compose.cli.exercise_only"
	if allow {
		key = "compose.cli.actual_allowed"
	}
	fmt.Fprintln(m.Stdout, m.t(key, pos[0]))
	return nil
}
