package publisher

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/testing/protocmp"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisherreads"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/pipeline"
)

// Every string of a message is checked, and the error says which.
func TestUnpublishableNamesWhatBrokersRefuse(t *testing.T) {
	good := func() *bridgev1.Message {
		return &bridgev1.Message{Topic: "nemo/tools/12/enabled", Payload: []byte("\xff not text"), ContentType: "application/json",
			UserProperties: map[string]string{"event_id": "1760468411106-0"}}
	}
	if err := unpublishable(good()); err != nil {
		t.Fatalf("a good message: %v", err)
	}
	for want, spoil := range map[string]func(*bridgev1.Message){
		"topic level 5 holds U+FFFF":                         func(m *bridgev1.Message) { m.Topic += "/\uFFFF" },
		"the topic is empty":                                 func(m *bridgev1.Message) { m.Topic = "" },
		"the content type holds control character U+001B":    func(m *bridgev1.Message) { m.ContentType = "\x1b" },
		`the name of user property "a\ufdd0" holds U+FDD0`:   func(m *bridgev1.Message) { m.UserProperties["a\uFDD0"] = "v" },
		`the value of user property "event_id" holds the b`:  func(m *bridgev1.Message) { m.UserProperties["event_id"] = "\xc0\xaf" },
		`the value of user property "event_id" holds U+0000`: func(m *bridgev1.Message) { m.EventId = "1-\x00" },
	} {
		m := good()
		spoil(m)
		if err := unpublishable(m); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got %v, want %s…", err, want)
		}
	}
}

// A standby holds nothing of its shard: it sends the router to the active
// publisher; an oversized question is refused before any work.
func TestInFlightIsRefusedByAStandbyAndWhenTooLarge(t *testing.T) {
	srv := newServer(mqttsession.Config{}, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "transit"}))
	_, err := srv.InFlight(t.Context(), &publisherv1.InFlightRequest{OrderingKeys: []string{"tool:1"}})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a standby answered %v, want FailedPrecondition", err)
	}
	_, err = srv.InFlight(t.Context(), &publisherv1.InFlightRequest{OrderingKeys: make([]string, publisherreads.MaxInFlightKeys+1)})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "at most 10000") {
		t.Errorf("too many keys: %v, want InvalidArgument naming the limit", err)
	}
}

// A message a newer one replaced is answered as delivered and says it was
// replaced, so that the router leaves it out of what reached the broker.
func TestAReplacedMessageIsAnsweredDeliveredAndReplaced(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	replies := relay.NewReplies[*publisherv1.PublishResult](ctx, 4, 4)
	answer("7", replies)(pipeline.ErrReplaced)
	var got []*publisherv1.PublishResult
	_ = replies.Run(func(rs []*publisherv1.PublishResult) error {
		got = append(got, rs...)
		cancel()
		return nil
	})
	want := []*publisherv1.PublishResult{{MessageId: "7", Outcome: bridgev1.Outcome_OUTCOME_DELIVERED, Replaced: true}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// The event's id goes out as the user property event_id exactly once,
// whether a newer router sent it in the field, an older one in the
// properties, or both; other properties go out as they came.
func TestTheEventIDIsPublishedOnceFromTheFieldOrTheProperties(t *testing.T) {
	for name, m := range map[string]*bridgev1.Message{
		"field":      {EventId: "1-0", UserProperties: map[string]string{"site": "east"}},
		"properties": {UserProperties: map[string]string{"event_id": "1-0", "site": "east"}},
		"both":       {EventId: "1-0", UserProperties: map[string]string{"event_id": "stale", "site": "east"}},
	} {
		got := map[string][]string{}
		for _, p := range toPaho(m).Properties.User {
			got[p.Key] = append(got[p.Key], p.Value)
		}
		want := map[string][]string{"event_id": {"1-0"}, "site": {"east"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: user properties (-want +got):\n%s", name, diff)
		}
	}
}
