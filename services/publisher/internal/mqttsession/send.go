package mqttsession

import (
	"context"
	"errors"
	"fmt"

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

// Send writes p on the connection and returns once it is written; answer is
// called once, later, with nil when the broker has the message, a
// *NegativeAckError, ErrSessionNotKept, or the isolation's verdict
// (errResendAlone, *BrokerDisconnectsError). A message in flight when the
// connection drops is resent by the session after the reconnect, and
// answered then.
//
// Send is the pipelined path: calls must come from one goroutine, and the
// order of the calls is the order on the wire (autopaho's Publish writes on
// each caller's goroutine, so concurrent calls have no order). It fails,
// with nothing sent, while the connection is down (session.ErrNoConnection)
// and for a message the broker announced it cannot take (paho's
// ErrInvalidArguments). Pass the same p to every attempt of one message: the
// isolation knows a message by it.
func (s *Session) Send(ctx context.Context, p *paho.Publish, answer func(error)) error {
	w := s.state
	w.wire.RLock()
	defer w.wire.RUnlock()
	if w.conn == nil {
		return session.ErrNoConnection
	}
	if err := takes(w.connack, p); err != nil {
		return err
	}
	pb := p.Packet()
	if pb.QoS == 0 {
		if _, err := pb.WriteTo(w.conn); err != nil {
			return err
		}
		answer(nil)
		return nil
	}
	f := &flight{pub: p, owner: ctx, answer: answer}
	if err := w.AddToSession(context.WithValue(ctx, flightKey{}, f), pb, make(chan packets.ControlPacket, 1)); err != nil {
		return err
	}
	// A failed write needs nothing more: the packet is in the session, the
	// connection is going down, and the reconnect resends it in order.
	_, _ = pb.WriteTo(w.conn)
	return nil
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
	if conn, _, _ := s.renew.live.get(); conn != nil {
		_ = conn.Close()
	}
}
