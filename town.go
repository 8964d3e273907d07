package crier

import (
	"fmt"
	"slices"
	"sort"
)

// Town is a municipality crier publishes for: a town, a city or a county.
type Town struct {
	ID       string `json:"id"`       // slug, e.g. "soest"
	Name     string `json:"name"`     // display name, e.g. "Stadt Soest"
	AGS      string `json:"ags"`      // official municipality code (AGS or ARS)
	Language string `json:"language"` // BCP 47 tag, e.g. "de"
	TimeZone string `json:"time_zone"`
	// Vars are free template variables: phone, address, office hours,
	// website, hashtag...
	Vars map[string]string `json:"vars,omitempty"`
	// Channels lists the ids of the channels this town publishes to.
	Channels []string `json:"channels"`
}

// Directory holds the configured towns and named groups of towns and
// resolves an announcement's target list.
type Directory struct {
	towns  map[string]*Town
	order  []string
	groups map[string][]string
}

// NewDirectory returns a directory of towns and groups. Group members must
// name towns; the configuration validates that before.
func NewDirectory(towns []*Town, groups map[string][]string) *Directory {
	d := &Directory{towns: make(map[string]*Town, len(towns)), groups: groups}
	for _, t := range towns {
		d.towns[t.ID] = t
		d.order = append(d.order, t.ID)
	}
	return d
}

// Town returns the town with the given id, or nil.
func (d *Directory) Town(id string) *Town { return d.towns[id] }

// Towns returns all towns in configuration order.
func (d *Directory) Towns() []*Town {
	out := make([]*Town, 0, len(d.order))
	for _, id := range d.order {
		out = append(out, d.towns[id])
	}
	return out
}

// Groups returns the names of the groups, sorted.
func (d *Directory) Groups() []string {
	out := make([]string, 0, len(d.groups))
	for g := range d.groups {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Resolve expands targets (town ids, group names, or "all") into town ids in
// configuration order without repeats. Every unknown name is reported.
func (d *Directory) Resolve(targets []string) ([]string, []Problem) {
	want := make(map[string]bool)
	var problems []Problem
	for i, name := range targets {
		switch {
		case name == "all":
			for _, id := range d.order {
				want[id] = true
			}
		case d.towns[name] != nil:
			want[name] = true
		case d.groups[name] != nil:
			for _, id := range d.groups[name] {
				want[id] = true
			}
		default:
			problems = append(problems, Problemf(fmt.Sprintf("towns[%d]", i), "towns.unknown",
				"unknown town or group %q (known: %v)", name, d.known()))
		}
	}
	var ids []string
	for _, id := range d.order {
		if want[id] {
			ids = append(ids, id)
		}
	}
	return ids, problems
}

func (d *Directory) known() string {
	names := append([]string{"all"}, d.order...)
	for g := range d.groups {
		names = append(names, g)
	}
	sort.Strings(names[1:])
	if len(names) > 20 {
		return fmt.Sprintf("%d towns and groups, see config", len(names))
	}
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// Targeting returns the target names that reach at least one of towns:
// the towns themselves, every group with one of them, and "all". An
// announcement whose targets include one of these names concerns one of
// towns. Unknown towns are kept, so that stored announcements for a town
// no longer configured still match it.
func (d *Directory) Targeting(towns []string) []string {
	if len(towns) == 0 {
		return []string{}
	}
	names := append([]string{"all"}, towns...)
	groups := make([]string, 0, len(d.groups))
	for g, members := range d.groups {
		for _, t := range towns {
			if slices.Contains(members, t) {
				groups = append(groups, g)
				break
			}
		}
	}
	sort.Strings(groups)
	return append(names, groups...)
}
