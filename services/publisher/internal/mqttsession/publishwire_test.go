package mqttsession

import (
	"bytes"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/packets"
)

// The publisher's own encoding of a PUBLISH is paho's, byte for byte, for
// every packet it takes; a packet with a property it does not encode is
// left to paho.
func FuzzPublishIsEncodedAsPahoDoes(f *testing.F) {
	f.Add("nemo/tools/12/status", []byte(`{"id":12}`), byte(1), uint16(7), false, true, uint32(0), false, "application/json", "event_id", "1764672000123-0", 1)
	f.Add("t", []byte{}, byte(0), uint16(0), true, false, uint32(3600), true, "", "", "", 0)
	f.Add("a/b", bytes.Repeat([]byte("x"), 200), byte(2), uint16(65535), true, true, uint32(1<<32-1), true, "text/plain", "k", "", 3)
	f.Add(strings.Repeat("t", 65535), bytes.Repeat([]byte("y"), 20000), byte(1), uint16(1), false, false, uint32(1), true, "c", "k", "v", 2)
	f.Fuzz(func(t *testing.T, topic string, payload []byte, qos byte, id uint16, dup, retain bool, expiry uint32, hasExpiry bool, contentType, key, value string, users int) {
		p := &packets.Publish{Topic: topic, Payload: payload, QoS: qos % 3, PacketID: id, Duplicate: dup, Retain: retain}
		if hasExpiry || contentType != "" || users%4 > 0 {
			p.Properties = &packets.Properties{ContentType: contentType}
			if hasExpiry {
				p.Properties.MessageExpiry = &expiry
			}
			for range users % 4 {
				p.Properties.User = append(p.Properties.User, packets.User{Key: key, Value: value})
			}
		}
		var want bytes.Buffer
		if _, err := p.WriteTo(&want); err != nil {
			t.Fatal(err)
		}
		got, ok := appendPublish([]byte("kept"), p)
		if !ok {
			if fitsString(topic) && fitsString(contentType) && fitsString(key) && fitsString(value) {
				t.Fatalf("a packet with only the bridge's properties was left to paho: %+v", p)
			}
			return
		}
		if !bytes.Equal(got, append([]byte("kept"), want.Bytes()...)) {
			t.Fatalf("appendPublish differs from paho's encoding\n got %x\nwant kept+%x", got, want.Bytes())
		}
	})
}

func TestPublishWithOtherPropertiesIsLeftToPaho(t *testing.T) {
	format, alias, sub := byte(1), uint16(3), 4
	for name, props := range map[string]*packets.Properties{
		"payload format":          {PayloadFormat: &format},
		"response topic":          {ResponseTopic: "r"},
		"correlation data":        {CorrelationData: []byte{1}},
		"topic alias":             {TopicAlias: &alias},
		"subscription identifier": {SubscriptionIdentifier: &sub},
		"reason string":           {ReasonString: "why"},
	} {
		if b, ok := appendPublish(nil, &packets.Publish{Topic: "t", QoS: 1, Properties: props}); ok || len(b) > 0 {
			t.Errorf("%s: appendPublish took it (%x), want it left to paho", name, b)
		}
	}
	var buf bytes.Buffer
	p := &packets.Publish{Topic: "t", QoS: 1, PacketID: 9, Properties: &packets.Properties{ResponseTopic: "r"}}
	writePublish(&buf, p)
	var want bytes.Buffer
	_, _ = p.WriteTo(&want)
	if !bytes.Equal(buf.Bytes(), want.Bytes()) {
		t.Errorf("writePublish wrote %x for a packet left to paho, want paho's %x", buf.Bytes(), want.Bytes())
	}
}
