package newsroom

import (
	"net/http/httptest"
	"testing"

	"github.com/crierhq/crier"
)

// TestClient: the sign-in limits and the sessions count the client the
// server found behind its trusted proxies, and the peer without one.
func TestClient(t *testing.T) {
	r := httptest.NewRequest("POST", "/admin/login", nil)
	r.RemoteAddr = "127.0.0.1:41234"
	if got := client(r); got != "127.0.0.1" {
		t.Errorf("client of a request from the peer: %q", got)
	}
	r = r.WithContext(crier.WithClientAddress(r.Context(), "2001:db8::7"))
	if got := client(r); got != "2001:db8::7" {
		t.Errorf("client behind a trusted proxy: %q", got)
	}
}
