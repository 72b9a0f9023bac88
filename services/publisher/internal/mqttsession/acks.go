package mqttsession

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"time"

	"github.com/eclipse/paho.golang/packets"
)

// ackConn is the session's connection with the broker's plain answers to
// the bridge's messages (PUBACK, and PUBREC and PUBCOMP for QoS 2) taken
// out of what paho reads: ackReader hands each to the session state
// itself. paho reads every packet into a freshly grown buffer
// (packets.ReadPacket: about 1.7 KB for a 4-byte PUBACK); with an answer
// per message that was the largest share of the publisher's garbage, and
// a sixth of its CPU, in a drain. Writes are the connection's own.
type ackConn struct {
	net.Conn
	in *ackReader
}

func (c *ackConn) Read(p []byte) (int, error) { return c.in.Read(p) }

// answerTaker is the session state as its connection sees it: it takes
// the broker's plain answers, and says how many messages still wait for
// one.
type answerTaker interface {
	takeAnswer(*packets.ControlPacket)
	unanswered() int
}

// Under a backlog the broker's answers arrive one or two at a time, and a
// reader that wakes for each pays the wake-up, two system calls and a
// handoff down the pipeline per answer: measured in a drain, that was over
// a third of the publisher's CPU. So while at least gatherAbove messages
// wait for an answer, the session's connection lets answers gather for
// gatherFor before each read of the socket (gatherer). With that many
// outstanding the broker has milliseconds of work in hand, so the pause
// never leaves it idle; at the rates where latency counts, far fewer are
// outstanding and the socket is read at once.
const (
	gatherAbove = 256
	gatherFor   = 100 * time.Microsecond
)

// gatherer is what the session's connection does before it reads the
// socket, nil for a connection without answers to gather. It pauses at
// the socket itself, below TLS: a TLS connection hands its reader one
// record, one answer, at a time, so a pause above it, whenever its
// buffer ran empty, came after every answer, and a drain over TLS ran at
// 1,300 events/s instead of 20,000.
func gatherer(answers answerTaker, pause func()) func() {
	if answers == nil {
		return nil
	}
	return func() {
		if answers.unanswered() >= gatherAbove {
			pause()
		}
	}
}

// pauseForAnswers is gatherer's pause.
func pauseForAnswers() { time.Sleep(gatherFor) }

// takeAcks is c with its answers handed to answers, or c itself when
// answers is nil (the presence connection, whose session is paho's).
func takeAcks(c net.Conn, answers answerTaker) net.Conn {
	if answers == nil {
		return c
	}
	return &ackConn{Conn: c, in: newAckReader(c, answers)}
}

func newAckReader(src io.Reader, answers answerTaker) *ackReader {
	return &ackReader{in: bufio.NewReaderSize(src, 16<<10), answers: answers}
}

// ackReader reads the broker's packets for paho, except each PUBACK,
// PUBREC or PUBCOMP without properties, which it decodes and gives to
// the session state, as paho's client would, and in the same place in
// the stream: before it reads on. One with properties (a
// refusal's reason string), and every other packet, goes to paho as it
// came.
type ackReader struct {
	in      *bufio.Reader
	answers answerTaker
	// head is the start of a packet for paho already read from in (fixed
	// header, and a short body when one was read to look at it); body is
	// how many bytes of the packet follow it in in.
	scratch [9]byte
	head    []byte
	body    int
}

func (r *ackReader) Read(p []byte) (int, error) {
	for len(r.head) == 0 && r.body == 0 {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	n, err := r.in.Read(p[:min(len(p), r.body)])
	r.body -= n
	return n, err
}

// next reads the next packet's fixed header, and a plain answer whole,
// which it hands to the session state; anything else is left for Read to
// give paho.
func (r *ackReader) next() error {
	b := r.scratch[:0]
	first, err := r.in.ReadByte()
	if err != nil {
		return err
	}
	b = append(b, first)
	length, shift := 0, 0
	for {
		c, err := r.in.ReadByte()
		if err != nil {
			return err
		}
		b = append(b, c)
		length |= int(c&0x7F) << shift
		if c&0x80 == 0 {
			break
		}
		if shift += 7; shift > 21 { // paho reports the malformed length
			r.head = b
			return nil
		}
	}
	// An answer has no flags; its body is the packet identifier, then,
	// unless success, a reason code, then the properties' length.
	kind := first >> 4
	if first&0x0F != 0 || (kind != packets.PUBACK && kind != packets.PUBREC && kind != packets.PUBCOMP) || length < 2 || length > 4 {
		r.head, r.body = b, length
		return nil
	}
	body := b[len(b) : len(b)+length]
	if _, err := io.ReadFull(r.in, body); err != nil {
		return err
	}
	b = b[:len(b)+length]
	if length == 4 && body[3] != 0 { // properties would follow: malformed
		r.head = b
		return nil
	}
	id, code := binary.BigEndian.Uint16(body), byte(0)
	if length > 2 {
		code = body[2]
	}
	cp := &packets.ControlPacket{FixedHeader: packets.FixedHeader{Type: kind}}
	switch kind {
	case packets.PUBACK:
		cp.Content = &packets.Puback{PacketID: id, ReasonCode: code, Properties: &packets.Properties{}}
	case packets.PUBREC:
		cp.Content = &packets.Pubrec{PacketID: id, ReasonCode: code, Properties: &packets.Properties{}}
	default:
		cp.Content = &packets.Pubcomp{PacketID: id, ReasonCode: code, Properties: &packets.Properties{}}
	}
	r.answers.takeAnswer(cp)
	return nil
}
