package email_test

import (
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email"
)

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Harness{
		New: func(t *testing.T) (crier.Channel, channeltest.Remote) {
			s := newSink(t, sinkOptions{TLS: email.TLSStartTLS, Username: "presse", Password: "geheim"})
			return newChannel(t, s.options()), remote{s}
		},
		Message: func() *crier.Message { return testMessage("", "anna@example.org") },
		// SMTP has no idempotency key: a repeated Message-ID is delivered
		// again, and no relay announces rate limits in a reply code.
		Deduplicates: false,
		RateLimits:   false,
	})
}

// remote lets the conformance suite steer a sink.
type remote struct{ s *sink }

func (r remote) Set(b channeltest.Behavior) {
	switch b.Kind {
	case channeltest.Accept:
		r.s.set(accept, "")
	case channeltest.Reject:
		r.s.set(reject, atRcpt)
	case channeltest.Unavailable:
		r.s.set(unavailable, atRcpt)
	case channeltest.RateLimited:
		r.s.set(rateLimited, atRcpt)
	case channeltest.Hang:
		r.s.set(hang, atData)
	case channeltest.Drop:
		r.s.set(drop, atData)
	}
}

func (r remote) Accepted() []string { return r.s.keys() }
