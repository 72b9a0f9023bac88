package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/internal/jsonmutate"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
)

// differentialSeeds are entries whose reading has an edge: the package's
// table cases and the forms the scanner must read exactly as
// encoding/json does.
var differentialSeeds = []string{
	`{"topic": "nemo/tools/12/enabled", "payload": "{\"event\":\"tool_enabled\",\"tool_id\":12,\"user_name\":\"Alice\"}", "qos": 1, "retain": false, "timestamp": 1760468411.106}`,
	`{"topic":"nemo/tools/3","payload":{"event":"tool_updated","tool_id":"3","timestamp":false}}`,
	`{"topic":"t","payload":"{}","timestamp":false}`, `{"topic":"t","payload":"{}","timestamp":"2025-10-14T19:00:11.106Z"}`,
	`{"topic":"t","payload":"{}","qos":"2"}`, `{"topic":"t","payload":"{}"}`, `{"topic":"t","payload":"{}","retain":1}`,
	`{"topic":"t","payload":"hello"}`, "{\"topic\":\"t\",\"payload\":\"{}\"} \r\n\t", "\t {\"topic\":\"t\",\"payload\":\"{}\"}",
	`{"topic":"nemo/areas/2","payload":"{\"tool_id\":12.5}"}`, `{"topic":"nemo/areas/2","payload":"{\"tool_id\":4294967308}"}`,
	`not json`, `[1,2]`, `{"payload":"{}"}`, `{"topic":"","payload":"{}"}`, `{"topic":7,"payload":"{}"}`, `{"topic":"t"}`,
	`{"topic":"t","payload":42}`, `{"topic":"t","payload":"{}","qos":7}`, `{"topic":"t","payload":"{}","qos":"high"}`,
	`{"topic":"t","payload":"{}"}xyz`, `{"topic":"t","payload":"{}"} {"topic":"u","payload":"{}"}` + "\n", `{"topic":"t","payload":"{}"}}`,
	`{"topic":"t","payload":"` + strings.Repeat("x", 1025) + `"}`, `{"topic":"t","payload":"` + strings.Repeat("x", 1024) + `"}`,
	``, ` `, `null`, `true`, `"x"`, `7`, `{}`, `{`, `{"topic"`, `{"topic":"t",}`, `null x`, `{"topic":"t","payload":"{}"`,
	`{"TOPIC":"t","Payload":"{}","QoS":0,"RETAIN":true,"TimeStamp":1}`, `{"topic":"a","topic":"b","payload":"{}"}`,
	`{"topic":"t","payload":"{}","topic":""}`, `{"\u0074opic":"t","payload":"{}"}`, `{"qoſ":2,"topic":"t","payload":"{}"}`,
	`{"topic":"t","payload":"{}","timeſtamp":5}`, "{\"topic\":\"t\",\"pay\xffload\":\"{}\"}", `{"topic":null,"payload":"{}"}`,
	`{"topic":"t","payload":null}`, `{"topic":"t","payload":""}`, `{"topic":"t","payload":" {} "}`, `{"topic":"t","payload":[]}`,
	`{"topic":"t","payload":"d\u00e9 \ud800 \ud83d\ude00 \u0000"}`, "{\"topic\":\"t\",\"payload\":\"d\xff\"}", `{"topic":"t\u00e9","payload":"{}"}`,
	"{\"topic\":\"t\xff\",\"payload\":\"{}\"}", `{"topic":" ","payload":"{}"}`, `{"topic":"\t","payload":"{}"}`, `{"topic":"\u0020","payload":"{}"}`,
	`{"topic":"t","payload":"{}","qos":1.0}`, `{"topic":"t","payload":"{}","qos":-0}`, `{"topic":"t","payload":"{}","qos":null}`,
	`{"topic":"t","payload":"{}","qos":" 1 "}`, `{"topic":"t","payload":"{}","qos":1e0}`, `{"topic":"t","payload":"{}","qos":01}`,
	`{"topic":"t","payload":"{}","retain":"true"}`, `{"topic":"t","payload":"{}","retain":"T"}`, `{"topic":"t","payload":"{}","retain":null}`,
	`{"topic":"t","payload":"{}","timestamp":1764579600.0}`, `{"topic":"t","payload":"{}","timestamp":"1764579600.0"}`,
	`{"topic":"t","payload":"{}","timestamp":" 1764579600 "}`, `{"topic":"t","payload":"{}","timestamp":0}`,
	`{"topic":"t","payload":"{}","timestamp":-5}`, `{"topic":"t","payload":"{}","timestamp":1.1234567891}`,
	`{"topic":"t","payload":"{}","timestamp":1e9}`, `{"topic":"t","payload":"{}","timestamp":"12.+5"}`,
	`{"topic":"t","payload":"{}","timestamp":"2025-10-14 19:00:11+02:00"}`, `{"topic":"t","payload":"{}","timestamp":12345678901234567890}`,
	`{"topic":"t","payload":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`,
	`{"topic":"t","payload":{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}}`,
	`{"topic":"t","payload":{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`,
	`{"topic":"t","payload":{"tool_id":12} , "x":[1,{"y":"\""}]}`, `{"topic":"t","payload":{"tool_id":12},"x":[1,}`,
}

// fromJSONBoth reads raw with FromJSON and with the reference and tells
// how they differ, if they do.
func fromJSONBoth(raw []byte, lim Limits) string {
	got, gotRej := FromJSON("1-0", raw, lim)
	want, wantRej := referenceFromJSON("1-0", bytes.Clone(raw), lim)
	return differ(got, gotRej, want, wantRej)
}

func differ(got *bridgev1.Event, gotRej *Rejection, want *bridgev1.Event, wantRej *Rejection) string {
	switch {
	case (gotRej == nil) != (wantRej == nil):
		return fmt.Sprintf("refused %+v, want %+v", gotRej, wantRej)
	case gotRej != nil && *gotRej != *wantRej:
		return fmt.Sprintf("refused %+v, want %+v", *gotRej, *wantRej)
	case (got == nil) != (want == nil):
		return fmt.Sprintf("event %v, want %v", got, want)
	case got == nil:
		return ""
	}
	payload.Decode(got) // the fields as the router rebuilds them from their spans
	switch {
	case got.GetId() != want.GetId() || got.GetTopic() != want.GetTopic() || got.GetQos() != want.GetQos() || got.GetRetain() != want.GetRetain():
		return fmt.Sprintf("id %q topic %q qos %d retain %v, want %q %q %d %v", got.GetId(), got.GetTopic(), got.GetQos(), got.GetRetain(), want.GetId(), want.GetTopic(), want.GetQos(), want.GetRetain())
	case !bytes.Equal(got.GetPayload(), want.GetPayload()) || (got.Payload == nil) != (want.Payload == nil):
		return fmt.Sprintf("payload %q, want %q", got.GetPayload(), want.GetPayload())
	case (got.WrittenAt == nil) != (want.WrittenAt == nil) || !got.GetWrittenAt().AsTime().Equal(want.GetWrittenAt().AsTime()):
		return fmt.Sprintf("written at %v, want %v", got.WrittenAt, want.WrittenAt)
	case got.ReadAt == nil:
		return "no read at"
	case got.GetDecoded() != want.GetDecoded() || got.GetPayloadIsObject() != want.GetPayloadIsObject():
		return fmt.Sprintf("decoded %v object %v, want %v %v", got.GetDecoded(), got.GetPayloadIsObject(), want.GetDecoded(), want.GetPayloadIsObject())
	case (got.ToolId == nil) != (want.ToolId == nil) || got.GetToolId() != want.GetToolId():
		return fmt.Sprintf("tool id %v, want %v", got.ToolId, want.ToolId)
	case got.GetEventType() != want.GetEventType() || got.GetOrderingKey() != want.GetOrderingKey():
		return fmt.Sprintf("event type %q key %q, want %q %q", got.GetEventType(), got.GetOrderingKey(), want.GetEventType(), want.GetOrderingKey())
	case len(got.GetFields()) != len(want.GetFields()):
		return fmt.Sprintf("%d fields, want %d", len(got.GetFields()), len(want.GetFields()))
	}
	for i, f := range got.GetFields() {
		if w := want.GetFields()[i]; f.GetName() != w.GetName() || !bytes.Equal(f.GetValue(), w.GetValue()) {
			return fmt.Sprintf("field %d is %q=%s, want %q=%s", i, f.GetName(), f.GetValue(), w.GetName(), w.GetValue())
		}
	}
	return ""
}

// FuzzFromJSONMatchesReference holds FromJSON to the code it replaced on
// any entry: the same event, or the same rejection, reason and all.
func FuzzFromJSONMatchesReference(f *testing.F) {
	for _, s := range differentialSeeds {
		f.Add([]byte(s))
	}
	for _, s := range benchEntries {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if diff := fromJSONBoth(raw, limits); diff != "" {
			t.Errorf("%q: %s", raw, diff)
		}
	})
}

// TestFromJSONMatchesReferenceOnRandomEntries runs the differential check
// on random envelopes and on those mutated byte by byte into near misses.
func TestFromJSONMatchesReferenceOnRandomEntries(t *testing.T) {
	n := 30000
	if testing.Short() {
		n = 3000
	}
	rng := rand.New(rand.NewPCG(7, 8))
	inputs := 0
	check := func(raw []byte) {
		inputs++
		for _, lim := range []Limits{limits, {}} {
			if diff := fromJSONBoth(raw, lim); diff != "" {
				t.Fatalf("%q (limits %v): %s", raw, lim, diff)
			}
		}
	}
	for _, s := range differentialSeeds {
		check([]byte(s))
	}
	for range n {
		raw := randomEnvelope(rng)
		check(raw)
		check(jsonmutate.Mutate(rng, raw))
	}
	t.Logf("%d entries read both ways", inputs)
}

// TestFromStreamFieldsMatchesReference holds FromStreamFields to the code
// it replaced on random entries' fields of the types go-redis returns
// and others.
func TestFromStreamFieldsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	values := []any{"t", "nemo/tools/12/enabled", "", " ", "<&>", "d\xff", "dé", "a\"b\\c\n", "\u2028", `{"event":"x","tool_id":12}`, `{"tool_id":" 12 "}`,
		"hello", "1", "2", "7", "high", "true", "false", "1764579600.0", "2025-10-14T19:00:11.106Z", 1, 2.5, true, nil, []byte("x"), json.Number("1")}
	keys := []string{"topic", "payload", "qos", "retain", "timestamp", "other"}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		m := map[string]any{}
		for _, k := range keys {
			if rng.IntN(5) > 0 {
				m[k] = values[rng.IntN(len(values))]
			}
		}
		got, gotRej := FromStreamFields("5-0", m, limits)
		want, wantRej := referenceFromStreamFields("5-0", m, limits)
		if diff := differ(got, gotRej, want, wantRej); diff != "" {
			t.Fatalf("%v: %s", m, diff)
		}
	}
}

func randomEnvelope(rng *rand.Rand) []byte {
	keys := []string{"topic", "payload", "qos", "retain", "timestamp", "topic", "payload", "TOPIC", "Payload", "x", `\u0074opic`, "qoſ", ""}
	values := map[string][]string{
		"topic":     {`"nemo/tools/12/enabled"`, `"t"`, `""`, `" "`, `null`, `7`, `"t\u00e9"`, `"a\"b"`, "\"d\xff\"", `["t"]`},
		"payload":   {`"{\"event\":\"tool_enabled\",\"tool_id\":12,\"user\":\"Li Wu\"}"`, `{"event":"tool_enabled","tool_id":12}`, `"plain text"`, `""`, `null`, `42`, `{}`, `"{\"tool_id\":\" 12 \",\"event\":\"d\\u00e9\"}"`, `{"tool_id":"12","a":{"b":[1,2]}}`, "\"{\\\"tool_id\\\":1}\xff\"", `"\ud800"`, `[1]`},
		"qos":       {`0`, `1`, `2`, `3`, `"1"`, `" 2 "`, `1.0`, `-1`, `null`, `"high"`, `true`, `1e0`},
		"retain":    {`true`, `false`, `"true"`, `1`, `0`, `null`, `"maybe"`, `"T"`},
		"timestamp": {`1764579600.0`, `1760468411.106`, `"1764579600.0"`, `false`, `0`, `-5`, `"2025-10-14T19:00:11.106Z"`, `1.1234567891`, `1e9`, `"12.+5"`, `12345678901234567890`, `" 1764579600 "`},
	}
	all := []string{`1`, `"x"`, `null`, `{"a":[1,{"b":"c"}]}`, `[]`, `true`}
	sp := func() string { return []string{"", "", "", " ", "\n", "\t "}[rng.IntN(6)] }
	var b strings.Builder
	b.WriteString(sp() + "{")
	for i := range rng.IntN(7) {
		if i > 0 {
			b.WriteString(",")
		}
		k := keys[rng.IntN(len(keys))]
		vs := values[strings.ToLower(k)]
		if len(vs) == 0 || rng.IntN(8) == 0 {
			vs = all
		}
		b.WriteString(sp() + `"` + k + `"` + sp() + ":" + sp() + vs[rng.IntN(len(vs))] + sp())
	}
	b.WriteString("}" + sp())
	return []byte(b.String())
}
