package payload

import (
	"encoding/json"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
)

// This file keeps Decode as it was before it scanned the payload itself, as
// the reference the differential tests hold the new decoder to. Its reader
// of the object is object, the decoder's own slow path, which is the old
// one (encoding/json's Decoder, token by token): do not change either.

func referenceDecode(ev *bridgev1.Event) {
	if ev.GetDecoded() {
		return
	}
	ev.Decoded = true
	f, isObject := object(ev.GetPayload()) // the slow path is the old reader itself
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
