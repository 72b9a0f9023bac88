package relay

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// A backlog of large events, resent after a broken stream, goes as several
// messages, each under the limit, in order; small ones go as one.
func TestLargeBatchesGoInPartsUnderTheLimit(t *testing.T) {
	big := strings.Repeat("x", 16<<10)
	var events []*bridgev1.Event
	for i := range 1000 {
		events = append(events, &bridgev1.Event{Id: strings.Repeat("1", i%7+1), Payload: []byte(big)})
	}
	var sent []*bridgev1.Event
	parts := 0
	err := SendInParts(events, func(part []*bridgev1.Event) error {
		parts++
		size := proto.Size(&bridgev1.Event{}) // empty
		for _, e := range part {
			size += proto.Size(e) + 6
		}
		if size > MaxMessageBytes && len(part) > 1 {
			t.Fatalf("a part of %d events is %d bytes, over %d", len(part), size, MaxMessageBytes)
		}
		sent = append(sent, part...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if parts < 16 || len(sent) != len(events) {
		t.Fatalf("%d parts with %d events, want every event in parts of at most 1 MiB", parts, len(sent))
	}
	for i := range events {
		if sent[i] != events[i] {
			t.Fatalf("event %d out of order", i)
		}
	}
	parts = 0
	_ = SendInParts(events[:3], func([]*bridgev1.Event) error { parts++; return nil })
	if parts != 1 {
		t.Errorf("3 events went in %d messages, want 1", parts)
	}
	stop := errors.New("broken")
	if err := SendInParts(events, func([]*bridgev1.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("err = %v, want the send's", err)
	}
}
