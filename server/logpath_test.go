package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// TestRequestLogKeepsLinkTokens: the request log shows the route of a
// subscriber link, not its token, which holds the address and the power
// to unsubscribe or confirm it.
func TestRequestLogKeepsLinkTokens(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Tokens = subscribeTokens
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	unsub := subscribeTokens.Sign(crier.PurposeUnsubscribe, "soest", "anna@example.org", testNow.Add(time.Hour))
	confirm := subscribeTokens.Sign(crier.PurposeConfirm, "soest", "anna@example.org", testNow.Add(time.Hour))
	rawRequest(t, e, http.MethodGet, "/unsubscribe/"+unsub, "", "")
	rawRequest(t, e, http.MethodGet, "/confirm/"+confirm, "", "")
	rawRequest(t, e, http.MethodGet, "/confirm/not-a-token", "", "")
	payload, _, _ := strings.Cut(unsub, ".")
	for _, secret := range []string{unsub, confirm, payload, "not-a-token"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("request log holds %q:\n%s", secret, logs.String())
		}
	}
	for _, route := range []string{"path=/unsubscribe/{token}", "path=/confirm/{token}"} {
		if !strings.Contains(logs.String(), route) {
			t.Errorf("request log does not show %s:\n%s", route, logs.String())
		}
	}
}
