package crier_test

import (
	"testing"

	"github.com/crierhq/crier"
)

func TestAuthorizeMode(t *testing.T) {
	editor := &crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"}}
	allowed := &crier.Principal{Name: "bert", Role: crier.RoleEditor, Towns: []string{"soest"}, Actual: true}
	for _, tt := range []struct {
		p    *crier.Principal
		mode crier.Mode
		ok   bool
	}{
		{editor, crier.ModeExercise, true},
		{editor, crier.ModeTest, true},
		{editor, crier.ModeActual, false},
		{allowed, crier.ModeActual, true},
		{crier.AdminPrincipal, crier.ModeActual, true},
		{nil, crier.ModeActual, true}, // crier itself: the scheduler
	} {
		err := crier.AuthorizeMode(tt.p, tt.mode)
		if (err == nil) != tt.ok || (err != nil && crier.ErrorCode(err) != crier.EFORBIDDEN) {
			t.Errorf("%v, %s: %v", tt.p, tt.mode, err)
		}
	}
}
