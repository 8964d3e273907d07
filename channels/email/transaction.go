package email

import (
	"bufio"
	"errors"
	"net/textproto"
	"strconv"
)

// maxStallFree is the largest mail that Postfix reads whole before it
// answers the commands sent with it (its input buffer is 4 KB). A larger
// chunk waits for a delayed acknowledgement unless quickAck works, so
// without it such a mail goes out with DATA.
const maxStallFree = 4000

// step is a part of a mail transaction.
type step int

// Steps of a mail transaction, in order.
const (
	stepMail    step = iota // MAIL FROM
	stepRcpt                // RCPT TO
	stepData                // the DATA command
	stepContent             // transmitting the mail
	stepEnd                 // the final reply, after the mail
	stepChunk               // MAIL FROM, RCPT TO and BDAT with the mail, in one write
)

func (s step) String() string {
	switch s {
	case stepMail:
		return "MAIL FROM"
	case stepRcpt:
		return "RCPT TO"
	case stepData:
		return "DATA"
	case stepContent:
		return "message content"
	case stepEnd:
		return "end of data"
	case stepChunk:
		return "BDAT"
	}
	return "unknown step"
}

// expect is the reply code that lets the transaction go on after s;
// 25 stands for 250 and 251.
func (s step) expect() int {
	switch s {
	case stepRcpt:
		return 25
	case stepData:
		return 354
	}
	return 250
}

// sendError is the failure of a mail transaction at a step: the relay's
// reply, or a failure without one (connection lost, timeout).
type sendError struct {
	step step
	code int // the relay's 4xx or 5xx reply code; 0 without a reply
	err  error
	// transmitted says that the whole mail had gone out when the step
	// failed: without a reply, it may have been delivered.
	transmitted bool
}

func (e *sendError) Error() string { return e.step.String() + ": " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// failed returns the failure of s for err from the session.
func failed(s step, err error) *sendError {
	se := &sendError{step: s, err: err}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 400 && te.Code < 600 {
		se.code = te.Code
	}
	return se
}

// transact sends o over the session: MAIL FROM, RCPT TO and DATA, then the
// mail, or the mail as a chunk where the session allows. It returns the
// relay's final reply. The error is a *sendError.
func (cn *conn) transact(o *outgoing) (reply string, err error) {
	if cn.chunking && cn.live && (canQuickAck || len(*o.data) <= maxStallFree) {
		return cn.transactChunked(o)
	}
	if cn.pipelining {
		err = cn.openPipelined(o.rcpt)
	} else {
		err = cn.openStepwise(o.rcpt)
	}
	if err != nil {
		return "", err
	}
	w := cn.smtp.Text.W
	if _, err := w.Write(*o.data); err != nil {
		return "", failed(stepContent, err)
	}
	if err := w.Flush(); err != nil {
		return "", failed(stepContent, err)
	}
	reply, se := cn.read(stepEnd)
	if se != nil {
		return "", se
	}
	return reply, nil
}

// transactChunked sends o in one write: MAIL FROM, RCPT TO, and BDAT
// LAST followed by the mail (RFC 3030 with RFC 2920). It reads all three
// replies, so that the session stays in step after a refusal: a relay
// that refused MAIL FROM or every RCPT TO still reads the chunk and
// refuses it. It returns the reply to BDAT, or the first refusal; once the
// write is done, a missing reply leaves the outcome unknown.
func (cn *conn) transactChunked(o *outgoing) (string, error) {
	w := cn.smtp.Text.W
	chunk := o.chunk()
	cn.command(stepMail, o.rcpt)
	cn.command(stepRcpt, o.rcpt)
	_, _ = w.WriteString("BDAT ")
	_, _ = w.WriteString(strconv.Itoa(len(chunk)))
	_, _ = w.WriteString(" LAST\r\n")
	_, _ = w.Write(chunk)
	if err := w.Flush(); err != nil {
		// The chunk did not arrive whole: the relay cannot take the mail.
		// As if MAIL FROM failed, which lets a stale session be redialed.
		return "", failed(stepMail, err)
	}
	// A relay may answer MAIL FROM and RCPT TO before it has read the
	// chunk (Postfix does once its 4 KB input buffer runs dry) and then
	// hold its final reply (Nagle) until that early reply is
	// acknowledged. The client has nothing more to send, so only an
	// immediate acknowledgement keeps the final reply from waiting for
	// the delayed-ACK timer: up to 40 ms per mail.
	cn.nc.quickAck()
	var (
		first *sendError
		reply string
	)
	for _, s := range []step{stepMail, stepRcpt, stepChunk} {
		msg, se := cn.read(s)
		switch {
		case se == nil:
			reply = msg
		case se.code == 0:
			// No reply: the session is lost, and the replies after it.
			if first != nil {
				return "", first
			}
			se.transmitted = true
			return "", se
		case first == nil:
			first = se
		}
	}
	if first != nil {
		return "", first
	}
	return reply, nil
}

// openStepwise starts a mail transaction for rcpt one command at a time,
// for a relay without PIPELINING. It stops at the first refusal.
func (cn *conn) openStepwise(rcpt string) error {
	for s := stepMail; s <= stepData; s++ {
		cn.command(s, rcpt)
		if err := cn.smtp.Text.W.Flush(); err != nil {
			return failed(s, err)
		}
		if _, se := cn.read(s); se != nil {
			return se
		}
	}
	return nil
}

// openPipelined starts a mail transaction for rcpt with MAIL FROM, RCPT
// TO and DATA in one write (RFC 2920). It reads all three replies, so
// that the session stays in step after a refusal, and returns the first
// failure. When DATA was accepted although a command before it was
// refused, it ends the empty mail at once, as RFC 2920 3.1 asks.
func (cn *conn) openPipelined(rcpt string) error {
	for s := stepMail; s <= stepData; s++ {
		cn.command(s, rcpt)
	}
	if err := cn.smtp.Text.W.Flush(); err != nil {
		// Nothing can have been answered: as if MAIL FROM failed.
		return failed(stepMail, err)
	}
	var first *sendError
	for s := stepMail; s <= stepData; s++ {
		_, se := cn.read(s)
		switch {
		case se == nil && s == stepData && first != nil:
			cn.endEmpty()
		case se == nil:
		case se.code == 0:
			// No reply: the session is lost, and the replies after it.
			if first != nil {
				return first
			}
			return se
		case first == nil:
			first = se
		}
	}
	if first != nil {
		return first
	}
	return nil
}

// endEmpty ends a mail transaction that the relay should not have entered
// with an empty mail, and reads the reply, which does not matter. A
// failure shows in the RSET that follows a refusal.
func (cn *conn) endEmpty() {
	w := cn.smtp.Text.W
	if _, err := w.WriteString(".\r\n"); err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		return
	}
	_, _, _ = cn.smtp.Text.ReadResponse(250)
}

// command writes the command of step s of a transaction for rcpt to the
// session's buffer.
func (cn *conn) command(s step, rcpt string) {
	w := cn.smtp.Text.W
	switch s {
	case stepMail:
		if isASCII(rcpt) {
			_, _ = w.WriteString(cn.mailFrom)
		} else {
			_, _ = w.WriteString(cn.mailFromUTF8)
		}
	case stepRcpt:
		writeRcpt(w, rcpt)
	case stepData:
		_, _ = w.WriteString("DATA\r\n")
	}
}

// writeRcpt writes RCPT TO for rcpt. A write error stays in w and shows
// at its Flush.
func writeRcpt(w *bufio.Writer, rcpt string) {
	_, _ = w.WriteString("RCPT TO:")
	_, _ = w.WriteString(rcpt)
	_, _ = w.WriteString("\r\n")
}

// read reads the relay's reply to step s.
func (cn *conn) read(s step) (string, *sendError) {
	_, msg, err := cn.smtp.Text.ReadResponse(s.expect())
	if err != nil {
		return "", failed(s, err)
	}
	return msg, nil
}
