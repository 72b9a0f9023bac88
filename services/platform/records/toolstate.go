package records

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// A tool's state is a statusv1.Tool, kept in the hash Tools under the
// tool's id (decimal) as JSON, with its sequence beside it in the hash
// ToolSequences (compared and set together by the router's Lua script).
//
// Written by: the router (toolstate.Store, with MarshalTool; the same
// bytes go out as the retained status snapshot, by the router's rules).
// Read by: the router when it starts, and the gateway (UnmarshalTool).

// MarshalTool is the JSON form of a state, in Redis and on the status
// topic: NEMO's snake_case names, with false and zero fields written out
// so that a display reading "in_use" finds it. It is on the router's hot
// path, so the usual state is written by hand (appendTool), byte for byte
// as marshalToolProtojson writes it; anything the hand-written encoder is
// not sure of goes to marshalToolProtojson itself.
func MarshalTool(t *statusv1.Tool) ([]byte, error) {
	if doc, ok := appendTool(make([]byte, 0, toolSizeHint(t)), t); ok {
		return doc, nil
	}
	return marshalToolProtojson(t)
}

// marshalToolProtojson is the definition of MarshalTool's bytes. protojson
// varies its white space on purpose; compacting it keeps the bytes stable
// and small.
func marshalToolProtojson(t *statusv1.Tool) ([]byte, error) {
	doc, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(t)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// UnmarshalSiteTool reads a state from site's hash (SiteTools(site)): it
// says its site whatever the document holds, a named site's by name and
// the default site's not at all, so that a single site's tools read as
// before sites existed.
func UnmarshalSiteTool(site string, doc []byte) (*statusv1.Tool, error) {
	t, err := UnmarshalTool(doc)
	if err != nil {
		return nil, err
	}
	t.Site = nil
	if site != "" {
		t.Site = &site
	}
	return t, nil
}

// UnmarshalTool reads a state as MarshalTool wrote it. Fields a newer
// router added are ignored rather than failing, so that an older reader
// (a gateway, or a router in a rolling update) still serves the rest.
func UnmarshalTool(doc []byte) (*statusv1.Tool, error) {
	t := &statusv1.Tool{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(doc, t); err != nil {
		return nil, err
	}
	return t, nil
}
