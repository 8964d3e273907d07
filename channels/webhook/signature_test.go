package webhook_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/crierhq/crier/channels/webhook"
)

func TestVerify(t *testing.T) {
	// The Standard Webhooks specification's test vector.
	const (
		id  = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts  = "1614265330"
		sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	body := []byte(`{"test": 2432232314}`)
	signedAt := time.Unix(1614265330, 0)
	header := func(id, ts, sig string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		return h
	}
	tests := []struct {
		name    string
		secret  string
		header  http.Header
		body    []byte
		now     time.Time
		wantErr error // nil: accept; errAny: any error
	}{
		{"vector", testSecret, header(id, ts, sig), body, signedAt, nil},
		{"within tolerance", testSecret, header(id, ts, sig), body, signedAt.Add(4 * time.Minute), nil},
		{"one of several", testSecret, header(id, ts, "v1a,xyz v1,bm90IGl0 "+sig), body, signedAt, nil},
		{"replayed late", testSecret, header(id, ts, sig), body, signedAt.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"from the future", testSecret, header(id, ts, sig), body, signedAt.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"tampered body", testSecret, header(id, ts, sig), []byte(`{"test": 2432232315}`), signedAt, webhook.ErrSignature},
		{"other id", testSecret, header("msg_other", ts, sig), body, signedAt, webhook.ErrSignature},
		{"wrong secret", "whsec_c2VjcmV0LW9mLWFub3RoZXItZW5kcG9pbnQ=", header(id, ts, sig), body, signedAt, webhook.ErrSignature},
		{"unknown version", testSecret, header(id, ts, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), body, signedAt, webhook.ErrSignature},
		{"missing id", testSecret, header("", ts, sig), body, signedAt, errAny},
		{"missing timestamp", testSecret, header(id, "", sig), body, signedAt, errAny},
		{"missing signature", testSecret, header(id, ts, ""), body, signedAt, errAny},
		{"malformed timestamp", testSecret, header(id, "yesterday", sig), body, signedAt, errAny},
		{"malformed secret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", header(id, ts, sig), body, signedAt, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Verify: %v, want nil", err)
			case tt.wantErr == errAny && err == nil:
				t.Error("Verify: nil, want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("Verify: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")
