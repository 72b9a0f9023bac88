package mqttsession

import (
	"context"
	"io"
	"sync"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho/session"
	"github.com/eclipse/paho.golang/paho/session/state"
	"github.com/eclipse/paho.golang/paho/store/memory"
)

// watchedState is paho's own session state (in memory, the packets sent
// kept unencoded: store.go) with the isolation told of everything that goes into the
// session, comes back from the broker, or is lost with the connection, and
// holding publishes at its gate. It also carries the pipelined send path
// (send.go): the connection to write on, and the answer each sent message
// waits for.
type watchedState struct {
	*state.State
	iso *isolation

	// wire guards conn and connack. ConAckReceived holds it exclusively
	// while paho resends the session; send holds it shared from taking a
	// packet identifier to writing the packet. So a packet goes into the
	// session either before the resend (and is resent with it) or after it
	// (and is written on the new connection): it never lands between the
	// two, unwritten until the next reconnect, with later packets overtaking
	// it.
	wire    sync.RWMutex
	conn    io.Writer
	connack *packets.Connack

	// answering is every PUBLISH sent through send that the broker has not
	// answered yet, by packet identifier.
	mu        sync.Mutex
	answering packetTable[*flight]
}

// flightKey carries a Publish call's *flight in its context, from
// Session.Publish down to AddToSession, the one place that learns the
// packet identifier paho gives it.
type flightKey struct{}

func newWatchedState(iso *isolation) *watchedState {
	return &watchedState{State: state.New(newPacketStore(), memory.New()), iso: iso}
}

// ConAckReceived resends what is in the session (paho does it here). A
// failed resend ends the connection without paho calling ConnectionLost,
// so it is reported here: it is a loss like any other. Without a session
// present the broker kept nothing: what was sent and not answered is
// failed, for its sender to send again.
func (w *watchedState) ConAckReceived(conn io.Writer, cp *packets.Connect, ca *packets.Connack) error {
	w.wire.Lock()
	defer w.wire.Unlock()
	w.iso.connected(ca.SessionPresent)
	if !ca.SessionPresent {
		w.failAll(ErrSessionNotKept)
	}
	if err := w.State.ConAckReceived(conn, cp, ca); err != nil {
		w.lose(nil)
		return err
	}
	w.conn, w.connack = conn, ca
	return nil
}

// ConnectionLost reports the loss; send finds the connection gone through
// the state, which paho's ConnectionLost tells first.
func (w *watchedState) ConnectionLost(dp *packets.Disconnect) error {
	return w.lose(dp)
}

// lose tells the state first, so that nothing new enters the session, then
// withdraws what the isolation says must not be resent.
func (w *watchedState) lose(dp *packets.Disconnect) error {
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
	return w.add(ctx, pub, resp, f)
}

// add is AddToSession for the PUBLISH of flight f.
func (w *watchedState) add(ctx context.Context, pub *packets.Publish, resp chan<- packets.ControlPacket, f *flight) error {
	since, err := w.iso.enter(ctx, f)
	if err != nil {
		return err
	}
	if err := w.State.AddToSession(ctx, pub, resp); err != nil {
		w.iso.failed(f)
		return err
	}
	if f.answer != nil {
		w.mu.Lock()
		w.answering.put(pub.PacketID, f)
		w.mu.Unlock()
	}
	if w.iso.added(pub.PacketID, f, since) {
		w.withdraw(pub.PacketID)
	}
	return nil
}

// PacketReceived tells the isolation of the broker's answer before the
// state frees the packet identifier, which a new PUBLISH may take at once,
// and the message's sender after it.
func (w *watchedState) PacketReceived(recv *packets.ControlPacket, pubChan chan<- *packets.Publish) error {
	var done *flight
	var verdict error
	switch p := recv.Content.(type) {
	case *packets.Puback:
		w.iso.answered(p.PacketID)
		done, verdict = w.take(p.PacketID), negative(p.ReasonCode, p.Properties)
	case *packets.Pubrec:
		w.iso.answered(p.PacketID)
		if p.ReasonCode >= 0x80 { // else the PUBCOMP completes it
			done, verdict = w.take(p.PacketID), negative(p.ReasonCode, p.Properties)
		}
	case *packets.Pubcomp:
		done, verdict = w.take(p.PacketID), negative(p.ReasonCode, p.Properties)
	}
	err := w.State.PacketReceived(recv, pubChan)
	if done != nil {
		done.answer(verdict)
	}
	return err
}

// takeAnswer is where the session's connection hands the broker's plain
// answers (see ackReader), as paho's client would.
func (w *watchedState) takeAnswer(ack *packets.ControlPacket) { _ = w.PacketReceived(ack, nil) }

// unanswered is how many messages sent through send wait for the broker's
// answer.
func (w *watchedState) unanswered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.answering.len()
}

// take removes and returns the flight waiting for the answer to packet id.
func (w *watchedState) take(id uint16) *flight {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, _ := w.answering.take(id)
	return f
}

// failAll answers everything waiting with err.
func (w *watchedState) failAll(err error) {
	w.mu.Lock()
	var waiting []*flight
	for _, f := range w.answering.all() {
		waiting = append(waiting, f)
	}
	w.answering.clear()
	w.mu.Unlock()
	for _, f := range waiting {
		f.answer(err)
	}
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
// why, from the flight; a message sent through Send is answered with it.
// Only a packet of a lost connection, or one never written, is withdrawn
// this way, so no answer from the broker can follow.
func (w *watchedState) withdraw(id uint16) {
	f := w.take(id)
	cp := packets.NewControlPacket(packets.PUBACK)
	ack := cp.Content.(*packets.Puback)
	ack.PacketID = id
	ack.ReasonCode = packets.PubackUnspecifiedError
	ack.Properties.ReasonString = "withdrawn from the session by the bridge"
	_ = w.State.PacketReceived(cp, nil)
	if f != nil {
		f.answer(w.iso.outcome(f))
	}
}
