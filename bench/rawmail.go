package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier"
	"github.com/wneessen/go-mail"
)

// unsubscribeValidity is how long crier's unsubscribe links work; the raw
// loop's links carry an expiry as far away, so that they are as long.
const unsubscribeValidity = 400 * 24 * time.Hour

// signature stands for the HMAC in an unsubscribe token: the raw loop's
// links have the length of crier's but are not signed.
var signature = strings.Repeat("s", base64.RawURLEncoding.EncodedLen(32))

// rawSend sends one mail per recipient with go-mail alone to the sink,
// from conns goroutines with one client each, dialed once and reused
// without NOOP: the floor crier's email channel is compared with.
func rawSend(ctx context.Context, sink *mailSink, m *crier.Message, recipients, conns int) (*counter, error) {
	count := sink.expect(recipients)
	id := crier.NewID()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for w := range conns {
		wg.Go(func() {
			c, err := mail.NewClient(sink.Host(), mail.WithPort(sink.Port()), mail.WithTLSPolicy(mail.NoTLS), mail.WithoutNoop())
			if err == nil {
				err = c.DialWithContext(ctx)
			}
			if err != nil {
				errs[w] = err
				return
			}
			defer c.Close()
			for i := int(next.Add(1)) - 1; i < recipients; i = int(next.Add(1)) - 1 {
				key := crier.DeliveryKey(id, 1, m.Town, m.Channel, int64(i+1))
				msg, err := rawMail(m, key, recipient(i))
				if err == nil {
					err = c.Send(msg)
				}
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return count, count.wait(ctx, time.Minute)
}

// rawMail builds the mail the email channel builds for one recipient,
// with go-mail only: the same headers, and the rendered text and HTML with
// an unsubscribe link that carries the recipient's address, shaped like
// crier's signed one.
func rawMail(m *crier.Message, key, rcpt string) (*mail.Msg, error) {
	payload := crier.PurposeUnsubscribe + "\n" + m.Town + "\n" + rcpt + "\n" + strconv.FormatInt(time.Now().Add(unsubscribeValidity).Unix(), 10)
	unsub := publicURL + "/unsubscribe/" + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + signature
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(mailFrom); err != nil {
		return nil, err
	}
	if err := msg.To(rcpt); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(time.Now())
	msg.SetMessageIDWithValue(key + "@" + mailDomain)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(mail.HeaderContentLang, m.Language)
	msg.SetListUnsubscribe(unsub)
	msg.SetListUnsubscribePost()
	msg.SetBodyString(mail.TypeTextPlain, strings.ReplaceAll(m.Text, crier.UnsubscribePlaceholder, unsub))
	msg.AddAlternativeString(mail.TypeTextHTML, strings.ReplaceAll(m.HTML, crier.UnsubscribePlaceholder, unsub))
	return msg, nil
}
