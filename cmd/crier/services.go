package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/server"
)

const servicesUsage = "usage: crier services TOWN [set SERVICE up|limited|down|- TEXT | remove SERVICE | clear]"

// services shows or changes a town's service status list on the emergency
// website, without an announcement:
//
//	crier services TOWN                                 show the list
//	crier services TOWN set SERVICE AVAILABILITY TEXT   add or replace one line
//	crier services TOWN remove SERVICE                  remove one line
//	crier services TOWN clear                           back to the configured list
//
// AVAILABILITY is up, limited, down, or "-" for none. set and remove
// start from the list the website shows, which is the configured one
// until a list has been set.
func (m *Main) services(ctx context.Context, args []string) error {
	fs := m.flags("services")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) == 0 {
		return usageError(servicesUsage)
	}
	town, action, rest := pos[0], "", pos[1:]
	if len(rest) > 0 {
		action, rest = rest[0], rest[1:]
	}
	var line crier.ServiceStatus
	switch {
	case action == "" && len(rest) == 0, action == "clear" && len(rest) == 0:
	case action == "remove" && len(rest) == 1:
		line.Service = strings.TrimSpace(rest[0])
		if line.Service == "" {
			return usageError("remove: SERVICE must not be empty")
		}
	case action == "set" && len(rest) == 3:
		line = crier.ServiceStatus{Service: strings.TrimSpace(rest[0]), Availability: crier.Availability(rest[1]),
			Text: strings.TrimSpace(rest[2])}
		if line.Availability == "-" {
			line.Availability = ""
		}
		if !line.Availability.Valid() {
			return usageError(fmt.Sprintf("set: availability %q is not up, limited, down or -", rest[1]))
		}
		if ps := crier.CheckServiceStatus([]crier.ServiceStatus{line}); len(ps) > 0 {
			return crier.Invalid("set: invalid line", ps)
		}
	default:
		return usageError(servicesUsage)
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	switch action {
	case "":
		list, err := cl.ServiceStatus(ctx, town)
		if err != nil {
			return err
		}
		m.printServices(list)
		return nil
	case "clear":
		if _, err := cl.SetServiceStatus(ctx, town, nil); err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, m.t("cli.services.cleared", town))
		return nil
	}
	list, err := cl.ServiceStatus(ctx, town)
	if err != nil {
		return err
	}
	lines := list.Status
	i := slices.IndexFunc(lines, func(l crier.ServiceStatus) bool { return l.Service == line.Service })
	switch {
	case action == "remove" && i < 0:
		return crier.Errorf(crier.ENOTFOUND, "%s", m.t("cli.services.unknown", line.Service, town))
	case action == "remove":
		lines = slices.Delete(lines, i, i+1)
	case i < 0:
		lines = append(lines, line)
	default:
		lines[i] = line
	}
	if len(lines) == 0 && list.Configured {
		// Removing the last configured line stores nothing, so the
		// configured list would show again.
		return crier.Errorf(crier.ECONFLICT, "the list of %s comes from the configuration; it cannot be emptied here, only replaced with \"set\"", town)
	}
	if _, err := cl.SetServiceStatus(ctx, town, lines); err != nil {
		return err
	}
	if action == "remove" {
		fmt.Fprintln(m.Stdout, m.t("cli.services.removed", line.Service, town))
		if len(lines) == 0 {
			fmt.Fprintln(m.Stdout, m.t("cli.services.cleared", town))
		}
	} else {
		fmt.Fprintln(m.Stdout, m.t("cli.services.set", town, m.serviceLine(line)))
	}
	return nil
}

// printServices writes one line per service.
func (m *Main) printServices(list *server.ServiceStatusList) {
	if len(list.Status) == 0 {
		fmt.Fprintln(m.Stdout, m.t("cli.services.none", list.Town))
		return
	}
	for _, l := range list.Status {
		fmt.Fprintln(m.Stdout, m.serviceLine(l))
	}
	if list.Configured {
		fmt.Fprintln(m.Stdout, m.t("cli.services.configured"))
	}
}

// serviceLine formats a line as the website words it: "Bürgerbüro: nicht
// verfügbar – geschlossen".
func (m *Main) serviceLine(l crier.ServiceStatus) string {
	s := l.Service + ":"
	if l.Availability != "" {
		s += " " + m.t("site.status."+string(l.Availability))
		if l.Text != "" {
			s += " –"
		}
	}
	if l.Text != "" {
		s += " " + l.Text
	}
	return s
}
