package payload

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/internal/jsonmutate"
	"google.golang.org/protobuf/proto"
)

// differentialSeeds are payloads whose reading has an edge: every table
// case of the package's tests and the forms the scanner must get exactly
// as encoding/json does.
var differentialSeeds = []string{
	`{"event":"tool_enabled","tool_id":12,"tool_name":"Fiji","user":"Li Wu","timestamp":"2026-12-01T09:00:00Z"}`,
	` {"event":"tool_enabled", "tool_id":" 12 ","a":{"b":1},"event":"tool_disabled"} `,
	`plain text`, `[1,2]`, `{"tool_id":12} trailing`, `{"tool_id":12`, `{"tool_id":12}{}`, ``, `{}`, ` { } `,
	`{"tool_id":12.0}`, `{"tool_id":" 12 "}`, `{"tool_id":"12"}`, `{"tool_id":1e1}`, `{"tool_id":-3}`, `{"tool_id":-0}`,
	`{"tool_id":12.5}`, `{"tool_id":4294967308}`, `{"tool_id":"twelve"}`, `{"tool_id":null}`, `{"tool_id":true}`,
	`{"tool_id":123456789012345678901234567890}`, `{"tool_id":1e400}`, `{"tool_id":"1e1"}`, `{"tool_id":"\u0031\u0032"}`,
	`{"tool_id":012}`, `{"tool_id":+12}`, `{"tool_id":12,"tool_id":13}`, `{"tool_id":"+12"}`, `{"tool_id":"\t12"}`,
	`{"tool_id":2147483647}`, `{"tool_id":2147483648}`, `{"tool_id":-2147483648}`, `{"tool_id":"-2147483649"}`,
	`{"event":"d\u00e9"}`, `{"event":"dé"}`, "{\"event\":\"d\xff\"}", "{\"ev\xffent\":1}", `{"ev\u0065nt":"x"}`,
	`{"event":"\ud800"}`, `{"event":"\ud83d\ude00"}`, `{"event":"\ud83d\u0041"}`, `{"event":12}`, `{"event":12.50}`,
	`{"event":null}`, `{"event":false}`, `{"event":{"a":1}}`, `{"event":[1,"x"]}`, `{"event":"a\"b"}`, `{"event":"a\/b"}`,
	`{"a":[1,2,{"b":[]}],"tool_id":5}`, `{"a":{"b":{"c":{}}}}`, `{"a":[}`, `{"a":[1,}]}`, `{"a":{"b":1,}}`,
	`{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`, `{1:2}`, `{"a":tru}`, `{"a":truex}`, `{"a":1.}`, `{"a":.5}`,
	`{"a":-}`, `{"a":1e}`, `{"a":1e+}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\'"}`, "{\"a\":\"\x01\"}", `{"a":'x'}`,
	"{\"a\":1}\v", "\v{\"a\":1}", "{\"a\":1}\u00a0", "{\"a\" :\t1 ,\r\n\"b\" : 2 }", `{"":1}`, `{"a":""}`,
	`{"` + strings.Repeat("[", 70) + `":1}`, `{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	`{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
	`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `,"tool_id":7}`,
	`{"a":"` + strings.Repeat("x", 5000) + `","tool_id":7}`,
}

// decodeBoth decodes payload with Decode and with the reference and tells
// how they differ, if they do: as the router decodes an event built by
// hand, and as it decodes one that ingest read (Read) and sent.
func decodeBoth(payload []byte) string {
	want := &bridgev1.Event{Topic: "nemo/tools/12/enabled", Payload: bytes.Clone(payload)}
	referenceDecode(want)
	got := &bridgev1.Event{Topic: "nemo/tools/12/enabled", Payload: payload}
	Decode(got)
	if diff := decodedDiff(got, want); diff != "" {
		return diff
	}
	read := &bridgev1.Event{Topic: "nemo/tools/12/enabled", Payload: bytes.Clone(payload)}
	Read(read)
	wire, err := proto.Marshal(read)
	if err != nil {
		return fmt.Sprintf("the event does not go on the wire: %v", err)
	}
	routed := &bridgev1.Event{}
	if err := proto.Unmarshal(wire, routed); err != nil {
		return fmt.Sprintf("the event does not come off the wire: %v", err)
	}
	Decode(routed)
	if diff := decodedDiff(routed, want); diff != "" {
		return "after Read and the wire: " + diff
	}
	return ""
}

func decodedDiff(got, want *bridgev1.Event) string {
	switch {
	case got.GetDecoded() != want.GetDecoded() || got.GetPayloadIsObject() != want.GetPayloadIsObject():
		return fmt.Sprintf("decoded %v object %v, want %v %v", got.GetDecoded(), got.GetPayloadIsObject(), want.GetDecoded(), want.GetPayloadIsObject())
	case (got.ToolId == nil) != (want.ToolId == nil) || got.GetToolId() != want.GetToolId():
		return fmt.Sprintf("tool id %v, want %v", got.ToolId, want.ToolId)
	case got.GetEventType() != want.GetEventType():
		return fmt.Sprintf("event type %q, want %q", got.GetEventType(), want.GetEventType())
	case got.GetOrderingKey() != want.GetOrderingKey():
		return fmt.Sprintf("ordering key %q, want %q", got.GetOrderingKey(), want.GetOrderingKey())
	case (got.Fields == nil) != (want.Fields == nil) || len(got.Fields) != len(want.Fields):
		return fmt.Sprintf("%d fields (nil %v), want %d (nil %v)", len(got.Fields), got.Fields == nil, len(want.Fields), want.Fields == nil)
	}
	for i, f := range got.GetFields() {
		w := want.GetFields()[i]
		if f.GetName() != w.GetName() || !bytes.Equal(f.GetValue(), w.GetValue()) {
			return fmt.Sprintf("field %d is %q=%s, want %q=%s", i, f.GetName(), f.GetValue(), w.GetName(), w.GetValue())
		}
		gotID, gotOK := ID(f.GetValue())
		wantID, wantOK := referenceID(w.GetValue())
		if gotID != wantID || gotOK != wantOK {
			return fmt.Sprintf("ID(%s) = %d, %v; want %d, %v", f.GetValue(), gotID, gotOK, wantID, wantOK)
		}
	}
	return ""
}

// FuzzDecodeMatchesReference holds Decode to the decoder it replaced on
// any payload: the same fields, tool id, event type and ordering key.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, s := range differentialSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if diff := decodeBoth(payload); diff != "" {
			t.Errorf("%q: %s", payload, diff)
		}
		gotID, gotOK := ID(payload)
		wantID, wantOK := referenceID(payload)
		if gotID != wantID || gotOK != wantOK {
			t.Errorf("ID(%q) = %d, %v; want %d, %v", payload, gotID, gotOK, wantID, wantOK)
		}
	})
}

// TestDecodeMatchesReferenceOnRandomPayloads runs the differential check
// on random payloads: random objects of the shapes NEMO writes and
// worse, and those mutated byte by byte into near misses.
func TestDecodeMatchesReferenceOnRandomPayloads(t *testing.T) {
	n := 40000
	if testing.Short() {
		n = 4000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := 0
	check := func(payload []byte) {
		inputs++
		if diff := decodeBoth(payload); diff != "" {
			t.Fatalf("%q: %s", payload, diff)
		}
	}
	for _, s := range differentialSeeds {
		check([]byte(s))
	}
	for range n {
		var payload []byte
		if rng.IntN(4) == 0 {
			payload = []byte(differentialSeeds[rng.IntN(len(differentialSeeds))])
		} else {
			payload = randomObject(rng, 0)
		}
		check(payload)
		check(jsonmutate.Mutate(rng, payload))
	}
	t.Logf("%d payloads decoded both ways", inputs)
}

// randomObject writes a random JSON object, mostly valid.
func randomObject(rng *rand.Rand, depth int) []byte {
	var b []byte
	b = append(b, randomSpace(rng)...)
	b = append(b, '{')
	for i := range rng.IntN(6) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, randomSpace(rng)...)
		b = append(b, randomString(rng, []string{"event", "tool_id", "user", "ev\\u0065nt", "tool_id", "a", "", "dé", "EVENT"})...)
		b = append(b, randomSpace(rng)...)
		b = append(b, ':')
		b = append(b, randomSpace(rng)...)
		b = append(b, randomValue(rng, depth)...)
		b = append(b, randomSpace(rng)...)
	}
	b = append(b, '}')
	b = append(b, randomSpace(rng)...)
	return b
}

func randomSpace(rng *rand.Rand) string {
	return []string{"", "", "", " ", "\t", "\r\n", "  "}[rng.IntN(7)]
}

func randomString(rng *rand.Rand, common []string) []byte {
	if rng.IntN(3) > 0 {
		return []byte(`"` + common[rng.IntN(len(common))] + `"`)
	}
	parts := []string{"a", "Z", "12", " ", "é", "\xff", "\xc3", `\"`, `\\`, `\/`, `\n`, `\t`, `\b`, `\f`, `\r`, `\u00e9`, `\u0041`, `\ud800`, `\udc00`, `\ud83d\ude00`, `\ud83d\u0041`, `\u0000`, `\u2028`, "tool_enabled", "<&>"}
	var b []byte
	b = append(b, '"')
	for range rng.IntN(5) {
		b = append(b, parts[rng.IntN(len(parts))]...)
	}
	return append(b, '"')
}

func randomValue(rng *rand.Rand, depth int) []byte {
	switch rng.IntN(9) {
	case 0, 1:
		return randomString(rng, []string{"tool_enabled", "12", " 12 ", "12.0", "-3", "Li Wu", "2026-12-01T09:00:00Z", "", "+12", "1e1", "4294967308", " -2147483648"})
	case 2, 3:
		return []byte([]string{"12", "12.0", "1e1", "-3", "0", "-0", "12.5", "4294967308", "2147483647", "-2147483648", "123456789012345678901234567890", "1E+2", "1e-2", "0.0", "1764579600.0", "7", "99999999999999999999"}[rng.IntN(17)])
	case 4:
		return []byte([]string{"true", "false", "null"}[rng.IntN(3)])
	case 5, 6:
		if depth < 3 {
			return randomObject(rng, depth+1)
		}
		return []byte("{}")
	case 7:
		if depth < 3 {
			var b []byte
			b = append(b, '[')
			for i := range rng.IntN(4) {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, randomValue(rng, depth+1)...)
			}
			return append(b, ']')
		}
		return []byte("[]")
	}
	n := rng.IntN(6)
	return []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
}
