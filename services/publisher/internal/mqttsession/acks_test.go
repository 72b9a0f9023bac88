package mqttsession

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/eclipse/paho.golang/packets"
	"github.com/google/go-cmp/cmp"
)

// The broker's stream as paho reads it through ackReader: each plain
// PUBACK, PUBREC or PUBCOMP (two, three or four bytes) is handed to the
// session state in its place in the stream and never reaches paho; one
// with properties (a refusal in words), a malformed one, and every other
// packet reach paho
// whole and in order, a PUBLISH larger than the reader's buffer too. Also
// when the socket gives one byte at a time.
func TestPlainAnswersGoToTheSessionStateAndTheRestToPaho(t *testing.T) {
	withWords := packets.NewControlPacket(packets.PUBACK)
	withWords.Content.(*packets.Puback).PacketID = 4
	withWords.Content.(*packets.Puback).ReasonCode = 0x87
	withWords.Content.(*packets.Puback).Properties.ReasonString = "not authorized"
	publish := packets.NewControlPacket(packets.PUBLISH)
	publish.Content.(*packets.Publish).Topic = "nemo/bridge/status"
	publish.Content.(*packets.Publish).Payload = bytes.Repeat([]byte("x"), 40<<10) // over the reader's buffer
	var stream bytes.Buffer
	for _, b := range [][]byte{
		{0x20, 0x03, 0x00, 0x00, 0x00}, // CONNACK
		{0x40, 0x02, 0x00, 0x01},       // PUBACK 1, success
		{0x40, 0x03, 0x00, 0x02, 0x10}, // PUBACK 2, no matching subscribers
		{0x40, 0x04, 0x00, 0x03, 0x80, 0x00},
		{0x50, 0x02, 0x00, 0x07},       // PUBREC 7 (QoS 2)
		{0x70, 0x03, 0x00, 0x07, 0x00}, // PUBCOMP 7
		{0x62, 0x02, 0x00, 0x08},       // PUBREL 8: the broker's QoS 2 publish, paho's
		encode(t, withWords),
		{0xD0, 0x00},                         // PINGRESP
		{0x40, 0x04, 0x00, 0x05, 0x00, 0x03}, // properties' length 3 in a 4-byte body: malformed
		encode(t, publish),
		{0x40, 0x02, 0x00, 0x06},
	} {
		stream.Write(b)
	}
	want := []string{
		"paho: CONNACK",
		"state: PUBACK 1 0x00", "state: PUBACK 2 0x10", "state: PUBACK 3 0x80",
		"state: PUBREC 7 0x00", "state: PUBCOMP 7 0x00",
		"paho: PUBREL",
		"paho: PUBACK 4 0x87 not authorized",
		"paho: PINGRESP",
		"paho: PUBACK 5 0x00 ", // malformed: paho's to judge
		"paho: PUBLISH",
		"state: PUBACK 6 0x00",
	}
	for name, src := range map[string]io.Reader{"whole": bytes.NewReader(stream.Bytes()), "a byte at a time": iotest.OneByteReader(bytes.NewReader(stream.Bytes()))} {
		var got []string
		r := &ackConn{in: newAckReader(src, &backlog{take: func(cp *packets.ControlPacket) {
			switch a := cp.Content.(type) {
			case *packets.Puback:
				got = append(got, fmt.Sprintf("state: PUBACK %d 0x%02X", a.PacketID, a.ReasonCode))
			case *packets.Pubrec:
				got = append(got, fmt.Sprintf("state: PUBREC %d 0x%02X", a.PacketID, a.ReasonCode))
			case *packets.Pubcomp:
				got = append(got, fmt.Sprintf("state: PUBCOMP %d 0x%02X", a.PacketID, a.ReasonCode))
			}
		}})}
		for {
			cp, err := packets.ReadPacket(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				got = append(got, "paho: error")
				break
			}
			switch c := cp.Content.(type) {
			case *packets.Puback:
				got = append(got, fmt.Sprintf("paho: PUBACK %d 0x%02X %s", c.PacketID, c.ReasonCode, c.Properties.ReasonString))
			default:
				got = append(got, "paho: "+cp.PacketType())
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", name, diff)
		}
	}
}

func encode(t *testing.T, cp *packets.ControlPacket) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := cp.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
