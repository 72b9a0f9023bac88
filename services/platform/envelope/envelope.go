// Package envelope reads the envelope the NEMO plugin writes into Redis and
// checks it, so that a bad entry is refused with a reason a person can act
// on instead of stopping the pipeline.
package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/loosejson"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload/jsonscan"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Rejection says why an entry cannot become an event.
type Rejection struct {
	Cause  bridgev1.Cause
	Reason string
}

func reject(c bridgev1.Cause, format string, args ...any) *Rejection {
	return &Rejection{Cause: c, Reason: fmt.Sprintf(format, args...)}
}

// Limits bound what is accepted.
type Limits struct {
	MaxPayloadBytes int
}

// fields are the envelope's keys, each kept as raw JSON so that loose types
// (a qos written as "1", a timestamp written as false) can be accepted.
type fields struct {
	Topic     json.RawMessage `json:"topic"`
	Payload   json.RawMessage `json:"payload"`
	QoS       json.RawMessage `json:"qos"`
	Retain    json.RawMessage `json:"retain"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// FromJSON parses an envelope written as one JSON document (the list, the
// pub/sub channel, or a stream entry's `event` field).
func FromJSON(id string, raw []byte, lim Limits) (*bridgev1.Event, *Rejection) {
	f, end, ok := scan(raw)
	if !ok {
		return fromJSONDecoder(id, raw, lim)
	}
	if rej := trailing(raw, end); rej != nil {
		return nil, rej
	}
	return build(id, f, lim)
}

// fromJSONDecoder is FromJSON by encoding/json, for the entries scan
// cannot vouch for: its errors are the rejections' reasons.
func fromJSONDecoder(id string, raw []byte, lim Limits) (*bridgev1.Event, *Rejection) {
	var f fields
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil {
		return nil, reject(bridgev1.Cause_CAUSE_NOT_JSON, "entry is not a JSON object: %v", err)
	}
	if rej := trailing(raw, int(dec.InputOffset())); rej != nil {
		return nil, rej
	}
	return build(id, f, lim)
}

// trailing refuses an entry with more than whitespace after its JSON
// object, which ends at raw[end].
func trailing(raw []byte, end int) *Rejection {
	// Decode stops at the end of the first value. Anything but whitespace
	// after it (a second document, bytes glued on by a broken writer)
	// means the entry is not what the plugin wrote: publishing the first
	// part would hide that.
	if rest := bytes.TrimLeft(raw[end:], " \t\r\n"); len(rest) > 0 {
		unit := "bytes"
		if len(rest) == 1 {
			unit = "byte"
		}
		return reject(bridgev1.Cause_CAUSE_NOT_JSON, "entry has %d %s after its JSON object, at byte %d (counting from 0): %q", len(rest), unit, len(raw)-len(rest), describe(rest))
	}
	return nil
}

// maxDepth bounds how deep a value in the envelope may nest for scan to
// read it; deeper ones are left to encoding/json.
const maxDepth = 64

// scan reads the envelope's keys as encoding/json would decode raw into
// fields, in one pass and without copying: the values are sub-slices of
// raw. It returns the offset just after the object, or false for an entry
// it cannot vouch for reading exactly as encoding/json does (not an
// object, malformed, a key escaped or not ASCII, deep nesting).
func scan(raw []byte) (fields, int, bool) {
	var f fields
	i := jsonscan.SkipSpace(raw, 0)
	var buf [8]jsonscan.Member
	ms, end, ok := jsonscan.Object(raw, i, maxDepth, buf[:0])
	if !ok {
		return f, 0, false
	}
	for _, m := range ms {
		key, value := raw[m.KeyStart:m.KeyEnd], json.RawMessage(raw[m.ValueStart:m.ValueEnd])
		// encoding/json matches a key to a field's name ignoring case,
		// Unicode's folding included: only ASCII keys are matched here.
		for _, c := range key {
			if c >= utf8.RuneSelf {
				return f, 0, false
			}
		}
		switch {
		case asciiEqualFold(key, "topic"):
			f.Topic = value
		case asciiEqualFold(key, "payload"):
			f.Payload = value
		case asciiEqualFold(key, "qos"):
			f.QoS = value
		case asciiEqualFold(key, "retain"):
			f.Retain = value
		case asciiEqualFold(key, "timestamp"):
			f.Timestamp = value
		}
	}
	return f, end, true
}

// asciiEqualFold tells whether the ASCII key is name (lower case) but for
// the case of its letters.
func asciiEqualFold(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	return true
}

// FromStreamFields parses a stream entry that carries the envelope's keys as
// its own fields. Every field value is a string there, so payload is the
// payload's JSON text and qos is a number written as text.
func FromStreamFields(id string, values map[string]any, lim Limits) (*bridgev1.Event, *Rejection) {
	var f fields
	text := func(key string) json.RawMessage {
		v, ok := values[key]
		if !ok {
			return nil
		}
		if s, ok := v.(string); ok {
			return quote(s)
		}
		b, _ := json.Marshal(fmt.Sprint(v))
		return b
	}
	f.Topic, f.Payload, f.Retain, f.Timestamp = text("topic"), text("payload"), text("retain"), text("timestamp")
	if q, ok := values["qos"]; ok {
		f.QoS = json.RawMessage(fmt.Sprint(q))
	}
	return build(id, f, lim)
}

// quote writes s as json.Marshal does: as it is between quotes when it has
// nothing Marshal escapes (a quote, a backslash, a control byte, <, > or &,
// anything outside ASCII), else by Marshal.
func quote(s string) json.RawMessage {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return b
		}
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func build(id string, f fields, lim Limits) (*bridgev1.Event, *Rejection) {
	topic, ok := text(f.Topic)
	if len(f.Topic) == 0 || !ok || strings.TrimSpace(topic) == "" {
		return nil, reject(bridgev1.Cause_CAUSE_MISSING_TOPIC, "entry has no topic (want a non-empty string in \"topic\")")
	}
	body, rej := payloadBytes(f.Payload)
	if rej != nil {
		return nil, rej
	}
	if lim.MaxPayloadBytes > 0 && len(body) > lim.MaxPayloadBytes {
		return nil, reject(bridgev1.Cause_CAUSE_PAYLOAD_TOO_LARGE, "payload is %d bytes, over the limit of %d (-max-payload-bytes)", len(body), lim.MaxPayloadBytes)
	}
	qos, rej := parseQoS(f.QoS)
	if rej != nil {
		return nil, rej
	}
	// The plugin never sets retain by accident: anything unreadable is false.
	var retain bool
	switch string(f.Retain) {
	case "true":
		retain = true
	case "false", "":
	default:
		retain, _ = loosejson.Bool(f.Retain)
	}
	ev := &bridgev1.Event{
		Id:      id,
		Topic:   topic,
		Payload: body,
		Qos:     qos,
		Retain:  retain,
		ReadAt:  timestamppb.Now(),
	}
	payload.Read(ev)
	if t, ok := writtenAt(f.Timestamp); ok {
		ev.WrittenAt = timestamppb.New(t)
	}
	return ev, nil
}

// payloadBytes unwraps a JSON string payload to its text and keeps an object
// as written.
func payloadBytes(raw json.RawMessage) ([]byte, *Rejection) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, reject(bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "entry has no payload (want a JSON string or object in \"payload\")")
	}
	switch raw[0] {
	case '"':
		if body, ok := jsonscan.Unquote(make([]byte, 0, max(len(raw)-2, 0)), raw); ok {
			return body, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, reject(bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "payload string is malformed: %v", err)
		}
		return []byte(s), nil
	case '{':
		return bytes.Clone(raw), nil // raw may be the caller's entry
	}
	return nil, reject(bridgev1.Cause_CAUSE_INVALID_PAYLOAD, "payload is %s; want a JSON string or object", describe(raw))
}

func parseQoS(raw json.RawMessage) (uint32, *Rejection) {
	if len(raw) == 0 || string(raw) == "null" {
		return 1, nil
	}
	if len(raw) == 1 && '0' <= raw[0] && raw[0] <= '2' {
		return uint32(raw[0] - '0'), nil
	}
	q, ok := loosejson.Int(raw)
	if !ok || q < 0 || q > 2 {
		return 0, reject(bridgev1.Cause_CAUSE_INVALID_QOS, "qos is %s; want 0, 1 or 2", describe(raw))
	}
	return uint32(q), nil
}

// text reads a JSON string as json.Unmarshal does.
func text(raw json.RawMessage) (string, bool) {
	if jsonscan.Plain(raw) {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// writtenAt reads the time the plugin wrote an entry as loosejson.Time
// does, reading Unix seconds (1764579600.0, "1764579600.0") itself.
func writtenAt(raw json.RawMessage) (time.Time, bool) {
	t := []byte(raw)
	if len(t) > 0 && t[0] == '"' {
		if !jsonscan.Plain(t) {
			return loosejson.Time(raw)
		}
		t = bytes.TrimSpace(t[1 : len(t)-1])
	}
	whole, frac, dot := bytes.Cut(t, []byte("."))
	secs, ok := digits(whole)
	if !ok || secs <= 0 || len(frac) > 9 {
		return loosejson.Time(raw)
	}
	var nanos int64
	if dot && len(frac) > 0 {
		if nanos, ok = digits(frac); !ok {
			return loosejson.Time(raw)
		}
		for range 9 - len(frac) {
			nanos *= 10
		}
	}
	return time.Unix(secs, nanos).UTC(), true
}

// digits reads 1 to 18 decimal digits.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func describe(raw json.RawMessage) string {
	const max = 40
	s := string(raw)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
