package email_test

import (
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/channels/email/smtptest"
)

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{
		New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
			s, o := newRelay(t, email.TLSStartTLS, smtptest.Options{Auth: presse})
			return newChannel(t, o), s
		},
		Message: func() *crier.Message { return testMessage("", "anna@example.org") },
		// SMTP has no idempotency key: a repeated Message-ID is delivered
		// again, and no relay announces rate limits in a reply code.
		Deduplicates: false,
		RateLimits:   false,
	})
}
