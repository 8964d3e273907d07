package crier_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// TestAuthorize walks every role × action × town set: a role may do its
// actions in its own towns and nothing else; a notice for several towns
// needs rights in each.
func TestAuthorize(t *testing.T) {
	may := map[crier.Role][]crier.Action{
		crier.RoleEditor: {crier.ActionRead, crier.ActionCompose, crier.ActionPreview, crier.ActionPublish,
			crier.ActionUpdate, crier.ActionCancel, crier.ActionSchedule, crier.ActionRetry, crier.ActionServiceStatus},
		crier.RoleApprover: {crier.ActionRead, crier.ActionApprove, crier.ActionReject},
		crier.RoleViewer:   {crier.ActionRead},
	}
	townSets := []struct {
		towns []string
		own   bool
	}{
		{nil, true},
		{[]string{"soest"}, true},
		{[]string{"soest", "werl"}, true},
		{[]string{"lippstadt"}, false},
		{[]string{"soest", "lippstadt"}, false},
	}
	for _, role := range crier.Roles {
		p := &crier.Principal{Name: "anna", Role: role, Towns: []string{"soest", "werl"}}
		for _, action := range crier.Actions {
			for _, ts := range townSets {
				t.Run(fmt.Sprintf("%s/%s/%v", role, action, ts.towns), func(t *testing.T) {
					err := crier.Authorize(p, action, ts.towns)
					want := role == crier.RoleAdmin || slices.Contains(may[role], action) && ts.own
					if want {
						if err != nil {
							t.Fatalf("refused: %v", err)
						}
						return
					}
					if crier.ErrorCode(err) != crier.EFORBIDDEN {
						t.Fatalf("err = %v, want forbidden", err)
					}
					if slices.Contains(may[role], action) && !strings.Contains(err.Error(), "lippstadt") {
						t.Errorf("message %q does not name the town lacking rights", err)
					}
					if strings.Contains(err.Error(), "werl") || strings.Contains(err.Error(), "soest") {
						t.Errorf("message %q names a town the user has rights in", err)
					}
				})
			}
		}
	}
	if crier.ErrorCode(crier.Authorize(nil, crier.ActionRead, nil)) != crier.EUNAUTHORIZED {
		t.Error("nil principal not unauthorized")
	}
}
