package payload

import (
	"bytes"
	"encoding/json"
	"io"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
)

// This file keeps Decode as it was before it scanned the payload itself
// (encoding/json's Decoder, token by token), as the reference the
// differential tests hold the new decoder to. Do not change it.

func referenceDecode(ev *bridgev1.Event) {
	if ev.GetDecoded() {
		return
	}
	ev.Decoded = true
	f, isObject := referenceObject(ev.GetPayload())
	ev.Fields, ev.PayloadIsObject = f, isObject
	if id, ok := referenceID(f.Get("tool_id")); ok {
		ev.ToolId = &id
	}
	ev.EventType, _ = loosejson.String(f.Get("event"))
	ev.OrderingKey = orderingKey(ev)
}

func referenceID(raw json.RawMessage) (int32, bool) {
	n, ok := loosejson.Int(raw)
	if !ok || n != int64(int32(n)) {
		return 0, false
	}
	return int32(n), true
}

func referenceObject(raw []byte) (Fields, bool) {
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var fields Fields
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		fields = append(fields, &bridgev1.PayloadField{Name: tok.(string), Value: value})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more after the object: not one object
	}
	return fields, true
}
