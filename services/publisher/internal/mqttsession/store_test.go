package mqttsession

import (
	"bytes"
	"slices"
	"testing"

	"github.com/eclipse/paho.golang/packets"
)

// The store gives back, for a resend, exactly the bytes paho would have
// stored, in the order the packets were put, whatever their identifiers
// (they wrap around).
func TestThePacketStoreResendsWhatWasPutInOrder(t *testing.T) {
	s := newPacketStore()
	var want [][]byte
	for i, id := range []uint16{65535, 1, 2, 40} {
		p := &packets.Publish{Topic: "nemo/tools/12/status", QoS: 1, PacketID: id, Payload: []byte{byte(i)}, Properties: &packets.Properties{}}
		if err := s.Put(id, packets.PUBLISH, p); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := p.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b.Bytes())
	}
	if err := s.Delete(2); err != nil {
		t.Fatal(err)
	}
	want = slices.Delete(want, 2, 3)
	ids, _ := s.List()
	if !slices.Equal(ids, []uint16{65535, 1, 40}) {
		t.Fatalf("List = %v, want the order of Put", ids)
	}
	for i, id := range ids {
		r, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		_, _ = got.ReadFrom(r)
		if !bytes.Equal(got.Bytes(), want[i]) {
			t.Errorf("packet %d: % x, want % x", id, got.Bytes(), want[i])
		}
		cp, err := packets.ReadPacket(&got)
		if err != nil || cp.Content.(*packets.Publish).PacketID != id {
			t.Errorf("packet %d does not read back: %v", id, err)
		}
	}
	if _, err := s.Get(2); err == nil {
		t.Error("a deleted packet was given back")
	}
	_ = s.Reset()
	if ids, _ := s.List(); len(ids) != 0 {
		t.Errorf("after Reset: %v", ids)
	}
}
