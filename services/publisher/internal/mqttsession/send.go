package mqttsession

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"
)

// ErrSessionNotKept answers a message in flight when the broker comes back
// without the session (it expired, or the broker lost it): nothing will
// resend it, so its sender must.
var ErrSessionNotKept = errors.New("the connection was lost and the broker kept no session: the message must be sent again")

// NegativeAckError is the broker's negative answer to a message (a PUBACK,
// PUBREC or PUBCOMP reason code of 0x80 or more).
type NegativeAckError struct {
	Code   byte
	Reason string // the broker's reason string, if it gave one
}

func (e *NegativeAckError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("broker refused the message (reason code 0x%02X)", e.Code)
	}
	return fmt.Sprintf("broker refused the message (reason code 0x%02X: %s)", e.Code, e.Reason)
}

func negative(code byte, props *packets.Properties) error {
	if code < 0x80 {
		return nil
	}
	e := &NegativeAckError{Code: code}
	if props != nil {
		e.Reason = props.ReasonString
	}
	return e
}

// Outgoing is one message for Send.
type Outgoing struct {
	// Ctx is its sender's: a message waiting for room in the session is
	// given up when it ends.
	Ctx     context.Context
	Publish *paho.Publish
	// Key is its ordering key: when the isolation takes a message out of
	// the session, the later ones of its key still there go out with it
	// (see isolation.lost).
	Key string
	// Answer is called once, later, with nil when the broker has the
	// message, a *NegativeAckError, ErrSessionNotKept, or the isolation's
	// verdict (errResendAlone, *BrokerDisconnectsError).
	Answer func(error)
}

// Send puts the messages into the session in order and writes them on the
// connection together, then returns; errs[i] is nil when message i went
// into the session (its answer comes later), else why it did not: the
// connection is down (session.ErrNoConnection), its sender gave up, or the
// broker announced it cannot take it (paho's ErrInvalidArguments); after
// one that did not go in for a reason other than the last, none of the
// batch does, with the same error. A
// message in flight when the connection drops is resent by the session
// after the reconnect, and answered then.
//
// Send is the pipelined path: calls must come from one goroutine, and the
// order of the messages of all calls is the order on the wire (autopaho's
// Publish writes on each caller's goroutine, so concurrent calls have no
// order). One write carries the whole batch, unless a message must wait
// for room in the session (the broker's Receive Maximum, or the
// isolation's gate): what precedes it is written first, so that the
// broker can answer it. Pass the same *paho.Publish to every attempt of
// one message: the isolation knows a message by it.
func (s *Session) Send(batch []Outgoing) (errs []error) {
	w := s.state
	errs = make([]error, len(batch))
	w.wire.RLock()
	defer w.wire.RUnlock()
	if w.conn == nil {
		for i := range errs {
			errs[i] = session.ErrNoConnection
		}
		return errs
	}
	buf := writeBuffers.Get().(*bytes.Buffer)
	defer writeBuffers.Put(buf)
	buf.Reset()
	var atMostOnce []int // QoS 0: answered once written
	flush := func() {
		if buf.Len() == 0 {
			return
		}
		err := w.write(buf.Bytes())
		buf.Reset()
		for _, i := range atMostOnce {
			batch[i].Answer(err)
		}
		atMostOnce = atMostOnce[:0]
		// A failed write needs nothing more for QoS 1 and 2: those packets
		// are in the session, the connection is going down, and the
		// reconnect resends them in order.
	}
	// notSent, once a message could not go into the session (its sender
	// gave up while it waited for room, the connection went down), is
	// every later message's answer too: one written after it would reach
	// the broker ahead of it, and if it is of the same tool, subscribers
	// would see the tool's messages out of order. They are sent again.
	var notSent error
	for i, o := range batch {
		if notSent != nil {
			errs[i] = notSent
			continue
		}
		if errs[i] = takes(w.connack, o.Publish); errs[i] != nil {
			continue // refused for good: answered in its place
		}
		pb := o.Publish.Packet()
		if pb.QoS == 0 {
			writePublish(buf, pb)
			atMostOnce = append(atMostOnce, i)
			continue
		}
		f := &flight{pub: o.Publish, key: o.Key, owner: o.Ctx, answer: o.Answer}
		resp := make(chan packets.ControlPacket, 1) // paho's; the answer comes through f
		err := w.add(noWait, pb, resp, f)
		if errors.Is(err, context.Canceled) { // it must wait: let the broker see what precedes it
			flush()
			err = w.add(o.Ctx, pb, resp, f)
		}
		if errs[i] = err; err != nil {
			notSent = err
			continue
		}
		writePublish(buf, pb)
	}
	flush()
	return errs
}

// noWait makes add fail at once where it would wait.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

var writeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePublish adds pb to buf as it goes on the wire.
func writePublish(buf *bytes.Buffer, pb *packets.Publish) {
	if b, ok := appendPublish(buf.AvailableBuffer(), pb); ok {
		buf.Write(b)
		return
	}
	_, _ = pb.WriteTo(buf)
}

// write writes b on the connection in one call; w.wire is held. A
// connection written to by several goroutines (TLS) locks for it, as
// paho's own writes do.
func (w *watchedState) write(b []byte) error {
	if l, ok := w.conn.(sync.Locker); ok {
		l.Lock()
		defer l.Unlock()
	}
	_, err := w.conn.Write(b)
	return err
}

// takes checks p against what the broker announced in its CONNACK, as
// autopaho's Publish does: the broker would drop the connection instead.
func takes(ca *packets.Connack, p *paho.Publish) error {
	maxQoS, retain := byte(2), true
	if ca.Properties != nil {
		if ca.Properties.MaximumQOS != nil {
			maxQoS = *ca.Properties.MaximumQOS
		}
		if ca.Properties.RetainAvailable != nil {
			retain = *ca.Properties.RetainAvailable == 1
		}
	}
	if p.QoS > maxQoS {
		return fmt.Errorf("%w: the broker takes QoS %d at most, the message asks for %d", paho.ErrInvalidArguments, maxQoS, p.QoS)
	}
	if p.Retain && !retain {
		return fmt.Errorf("%w: the broker keeps no retained messages", paho.ErrInvalidArguments)
	}
	return nil
}

// Reconnect drops the connection; autopaho reconnects, and the session
// resends, in order, everything the broker has not answered. It is the
// remedy for an answer that does not come on a connection that looks
// alive.
func (s *Session) Reconnect() {
	if conn, _, _, _ := s.renew.live.get(); conn != nil {
		_ = conn.Close()
	}
}
