package rules

import (
	"encoding/json"
	"fmt"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// newMessage builds every message the router publishes, the rules' own
// and the tools' snapshots, so that each carries what ties it to its
// event the same way: the event's ordering key (it goes out in the
// event's order), its tool (for the recent-messages feed) and its id (the
// event_id user property, by which subscribers drop duplicates). It has
// no id yet: the router numbers every message it hands the publisher.
// isJSON is what the caller knows of payload: true for JSON the router
// wrote (a snapshot, a payload template, a signed envelope) or an event's
// payload that ingest read as a JSON object, whose content type is then
// application/json without a second look; otherwise payload is checked.
func newMessage(ev *bridgev1.Event, topic string, payload []byte, isJSON bool, qos uint32, retain bool, expirySeconds uint32) *bridgev1.Message {
	m := &bridgev1.Message{
		Topic:         topic,
		Payload:       payload,
		Qos:           qos,
		Retain:        retain,
		OrderingKey:   ev.GetOrderingKey(),
		ToolId:        ev.ToolId,
		Site:          ev.GetSite(),
		ExpirySeconds: expirySeconds,
		EventId:       ev.GetId(),
	}
	if isJSON || json.Valid(payload) {
		m.ContentType = "application/json"
	}
	return m
}

// SnapshotDoc is the retained message carrying a tool's whole current
// state after ev, so that a display or dashboard that connects at any time
// reads it at once; it goes after the event's own messages. With
// -sign-all and a key it is signed, as the rules' own publishes are. doc
// is t as records.MarshalTool writes it, when the caller has it already
// (the tool state has, after saving t); nil to write it here.
func (s *Set) SnapshotDoc(t *statusv1.Tool, doc []byte, ev *bridgev1.Event) (*bridgev1.Message, error) {
	if doc == nil {
		var err error
		if doc, err = records.MarshalTool(t); err != nil {
			return nil, err
		}
	}
	if s.settings.signs(nil) {
		doc = Sign(s.settings.SigningKey, doc)
	}
	m := newMessage(ev, fmt.Sprintf("%s%snemo/tools/%d/status", ev.GetSiteTopicPrefix(), s.prefix, t.GetId()), doc, true, 1, true, 0)
	// A newer snapshot of the tool holds all this one says: while this
	// one waits in the publisher, the newer one may take its place.
	m.Replaceable = true
	return m, nil
}
