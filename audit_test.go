package crier_test

import (
	"context"
	"testing"

	"github.com/crierhq/crier"
)

// TestAuditActor: a principal comes first, then an actor without one,
// then the public for a request from a client, then crier itself.
func TestAuditActor(t *testing.T) {
	editor := &crier.Principal{Name: "anna", Role: crier.RoleEditor, Token: 4}
	bg := context.Background()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		actor string
		role  crier.Role
		token int64
		addr  string
	}{
		{"principal", crier.WithClientAddress(crier.WithActor(crier.NewContext(bg, editor), "shell:root"), "192.0.2.1"), "anna", crier.RoleEditor, 4, "192.0.2.1"},
		{"admin token", crier.NewContext(bg, crier.AdminPrincipal), "admin", crier.RoleAdmin, 0, ""},
		{"shell", crier.WithActor(bg, "shell:root"), "shell:root", "", 0, ""},
		{"public", crier.WithClientAddress(bg, "2001:db8::1"), crier.AuditPublic, "", 0, "2001:db8::1"},
		{"system", bg, crier.AuditSystem, "", 0, ""},
	} {
		e := crier.AuditEntry{Actor: "forged", Role: crier.RoleAdmin, Token: 99, Client: "forged"}
		crier.AuditActor(tc.ctx, &e)
		if e.Actor != tc.actor || e.Role != tc.role || e.Token != tc.token || e.Client != tc.addr {
			t.Errorf("%s: %q %q %d %q", tc.name, e.Actor, e.Role, e.Token, e.Client)
		}
	}
}
