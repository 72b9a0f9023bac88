package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
)

// input is an event as the rules read it: its payload's fields as ingest
// decoded them, and the source topic made safe once for every rule.
type input struct {
	ev *bridgev1.Event
	// topic is the source topic made safe, and levels its levels;
	// topicErr says why it could not be made safe (empty, too long).
	topic    string
	levels   []string
	topicErr error
}

func newInput(ev *bridgev1.Event) *input {
	in := &input{ev: ev}
	in.topic, in.topicErr = mqtttopic.Sanitize(ev.GetTopic())
	if in.topicErr == nil {
		in.levels = strings.Split(in.topic, "/")
	}
	return in
}

// object decodes the top level of a JSON object, or returns nil: a
// payload field's value, for a dotted path, or the tool's state.
func object(raw []byte) map[string]json.RawMessage {
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// hasFields is false when the payload is not a JSON object (plain text):
// then no field condition holds and every field renders as "_".
func (in *input) hasFields() bool { return in.ev.GetPayloadIsObject() }

// field returns the value at a dotted path ("tool.id"), if there is one.
func (in *input) field(path []string) (json.RawMessage, bool) {
	if len(path) == 0 {
		return nil, false
	}
	v := payload.Fields(in.ev.GetFields()).Get(path[0])
	for _, name := range path[1:] {
		if v == nil {
			return nil, false
		}
		v = object(v)[name]
	}
	return v, v != nil
}

// text is a field's value as a template writes it: a string's content, a
// number or boolean as written; "" for null, objects, arrays and absence.
// The tool id is the one ingest read (12 for 12.0, "12" or " 12 "), so
// that a tool's topics are the same however NEMO wrote its id.
func (in *input) text(path []string) string {
	if len(path) == 1 && path[0] == "tool_id" && in.ev.ToolId != nil {
		return strconv.FormatInt(int64(in.ev.GetToolId()), 10)
	}
	v, ok := in.field(path)
	if !ok {
		return ""
	}
	if s, ok := loosejson.String(v); ok {
		return s
	}
	if b, ok := scalarBool(v); ok {
		return strconv.FormatBool(b)
	}
	return ""
}

// scalarBool reads a JSON true or false (not their quoted forms).
func scalarBool(v json.RawMessage) (value, ok bool) {
	switch string(bytes.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
