package mqttsession

import (
	"context"
	"io"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho/session"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// watchedState is paho's own session state (in memory, as autopaho makes
// it by default) with the isolation told of everything that goes into the
// session, comes back from the broker, or is lost with the connection, and
// holding publishes at its gate.
type watchedState struct {
	*state.State
	iso *isolation
}

// flightKey carries a Publish call's *flight in its context, from
// Session.Publish down to AddToSession, the one place that learns the
// packet identifier paho gives it.
type flightKey struct{}

func newWatchedState(iso *isolation) *watchedState {
	return &watchedState{State: state.NewInMemory(), iso: iso}
}

// ConAckReceived resends what is in the session (paho does it here). A
// failed resend ends the connection without paho calling ConnectionLost,
// so it is reported here: it is a loss like any other.
func (w *watchedState) ConAckReceived(conn io.Writer, cp *packets.Connect, ca *packets.Connack) error {
	w.iso.connected(ca.SessionPresent)
	if err := w.State.ConAckReceived(conn, cp, ca); err != nil {
		_ = w.ConnectionLost(nil)
		return err
	}
	return nil
}

// ConnectionLost tells the state first, so that nothing new enters the
// session, then withdraws what the isolation says must not be resent.
func (w *watchedState) ConnectionLost(dp *packets.Disconnect) error {
	err := w.State.ConnectionLost(dp)
	for _, id := range w.iso.lost(dp) {
		w.withdraw(id)
	}
	return err
}

// AddToSession holds a PUBLISH at the isolation's gate, then records its
// packet identifier.
func (w *watchedState) AddToSession(ctx context.Context, packet session.Packet, resp chan<- packets.ControlPacket) error {
	pub, ok := packet.(*packets.Publish)
	if !ok {
		return w.State.AddToSession(ctx, packet, resp)
	}
	f, _ := ctx.Value(flightKey{}).(*flight)
	if f == nil {
		f = &flight{}
	}
	since, err := w.iso.enter(ctx, f)
	if err != nil {
		return err
	}
	if err := w.State.AddToSession(ctx, packet, resp); err != nil {
		w.iso.failed(f)
		return err
	}
	if w.iso.added(pub.PacketID, f, since) {
		w.withdraw(pub.PacketID)
	}
	return nil
}

// PacketReceived tells the isolation of the broker's answer before the
// state frees the packet identifier, which a new PUBLISH may take at once.
func (w *watchedState) PacketReceived(recv *packets.ControlPacket, pubChan chan<- *packets.Publish) error {
	switch p := recv.Content.(type) {
	case *packets.Puback:
		w.iso.answered(p.PacketID)
	case *packets.Pubrec:
		w.iso.answered(p.PacketID)
	}
	return w.State.PacketReceived(recv, pubChan)
}

// withdraw takes the PUBLISH with packet identifier id out of the session:
// it is not resent at the next connection, and its Publish call returns.
//
// paho.golang v0.23's state.State has no call to remove a message: a
// PUBLISH leaves the session only when the broker answers it. So the state
// is handed an answer of our own, a PUBACK for id with reason code 0x80
// (unspecified error), through PacketReceived, as if it came from the
// broker. That is the path that releases everything together: the stored
// packet (so it is not resent), the packet identifier, the send quota, and
// the caller waiting in Publish, who gets an error (for QoS 2 too: a PUBACK
// is not the PUBCOMP it waits for). Session.Publish then tells the caller
// why, from the flight. Only a packet of a lost connection, or one never
// written, is withdrawn this way, so no answer from the broker can follow.
func (w *watchedState) withdraw(id uint16) {
	cp := packets.NewControlPacket(packets.PUBACK)
	ack := cp.Content.(*packets.Puback)
	ack.PacketID = id
	ack.ReasonCode = packets.PubackUnspecifiedError
	ack.Properties.ReasonString = "withdrawn from the session by the bridge"
	_ = w.State.PacketReceived(cp, nil)
}
