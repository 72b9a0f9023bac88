package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// This file keeps FromJSON and FromStreamFields as they were before the
// envelope was scanned in one pass (encoding/json's Decoder into a struct),
// as the reference the differential tests hold the new code to. Do not
// change it.

func referenceFromJSON(id string, raw []byte, lim Limits) (*bridgev1.Event, *Rejection) {
	var f fields
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil {
		return nil, reject(bridgev1.Cause_CAUSE_NOT_JSON, "entry is not a JSON object: %v", err)
	}
	if rest := bytes.TrimLeft(raw[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		unit := "bytes"
		if len(rest) == 1 {
			unit = "byte"
		}
		return nil, reject(bridgev1.Cause_CAUSE_NOT_JSON, "entry has %d %s after its JSON object, at byte %d (counting from 0): %q", len(rest), unit, len(raw)-len(rest), describe(rest))
	}
	return referenceBuild(id, f, lim)
}

func referenceFromStreamFields(id string, values map[string]any, lim Limits) (*bridgev1.Event, *Rejection) {
	var f fields
	text := func(key string) json.RawMessage {
		v, ok := values[key]
		if !ok {
			return nil
		}
		b, _ := json.Marshal(fmt.Sprint(v))
		return b
	}
	f.Topic, f.Payload, f.Retain, f.Timestamp = text("topic"), text("payload"), text("retain"), text("timestamp")
	if q, ok := values["qos"]; ok {
		f.QoS = json.RawMessage(fmt.Sprint(q))
	}
	return referenceBuild(id, f, lim)
}

func referenceBuild(id string, f fields, lim Limits) (*bridgev1.Event, *Rejection) {
	var topic string
	if len(f.Topic) == 0 || json.Unmarshal(f.Topic, &topic) != nil || strings.TrimSpace(topic) == "" {
		return nil, reject(bridgev1.Cause_CAUSE_MISSING_TOPIC, "entry has no topic (want a non-empty string in \"topic\")")
	}
	body, rej := referencePayloadBytes(f.Payload)
	if rej != nil {
		return nil, rej
	}
	if lim.MaxPayloadBytes > 0 && len(body) > lim.MaxPayloadBytes {
		return nil, reject(bridgev1.Cause_CAUSE_PAYLOAD_TOO_LARGE, "payload is %d bytes, over the limit of %d (-max-payload-bytes)", len(body), lim.MaxPayloadBytes)
	}
	qos, rej := referenceParseQoS(f.QoS)
	if rej != nil {
		return nil, rej
	}
	retain, _ := loosejson.Bool(f.Retain)
	ev := &bridgev1.Event{
		Id:      id,
		Topic:   topic,
		Payload: body,
		Qos:     qos,
		Retain:  retain,
		ReadAt:  timestamppb.Now(),
	}
	payload.Decode(ev)
	if t, ok := loosejson.Time(f.Timestamp); ok {
		ev.WrittenAt = timestamppb.New(t)
	}
	return ev, nil
}

func referencePayloadBytes(raw json.RawMessage) ([]byte, *Rejection) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, reject(bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "entry has no payload (want a JSON string or object in \"payload\")")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, reject(bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "payload string is malformed: %v", err)
		}
		return []byte(s), nil
	case '{':
		return raw, nil
	}
	return nil, reject(bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "payload is %s; want a JSON string or object", describe(raw))
}

func referenceParseQoS(raw json.RawMessage) (uint32, *Rejection) {
	if len(raw) == 0 || string(raw) == "null" {
		return 1, nil
	}
	q, ok := loosejson.Int(raw)
	if !ok || q < 0 || q > 2 {
		return 0, reject(bridgev1.Cause_CAUSE_INVALID_QOS, "qos is %s; want 0, 1 or 2", describe(raw))
	}
	return uint32(q), nil
}
