package harness

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Py is a Python dict as NEMO's plugin builds it: keys in insertion order.
type Py []PyItem

// PyItem is one key of a Py; Value is a string, int, float64, bool, nil or
// a nested Py.
type PyItem struct {
	Key   string
	Value any
}

// Dict is a Py from keys and values in turn: Dict("event", "tool_enabled",
// "tool_id", 12).
func Dict(kv ...any) Py {
	if len(kv)%2 != 0 {
		panic("Dict: a key without a value")
	}
	d := make(Py, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		d = append(d, PyItem{Key: kv[i].(string), Value: kv[i+1]})
	}
	return d
}

// PyDumps writes v byte for byte as Python's json.dumps does with its
// defaults: ", " and ": " separators, every non-ASCII character escaped as
// \uXXXX (surrogate pairs above the BMP), and "/", "<", ">", "&" left as
// they are (unlike Go's encoder).
func PyDumps(v any) string {
	var b strings.Builder
	pyWrite(&b, v)
	return b.String()
}

func pyWrite(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case float64:
		// Python's repr of a float: shortest round-trip digits.
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case string:
		pyString(b, v)
	case Py:
		b.WriteByte('{')
		for i, it := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, it.Key)
			b.WriteString(": ")
			pyWrite(b, it.Value)
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("PyDumps: %T is not a JSON value", v))
	}
}

func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff):
			fmt.Fprintf(b, `\u%04x`, r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// PluginEntry is one entry of the plugin's list exactly as its
// RedisMQTTPublisher.publish_event writes it: the payload dict dumped to a
// JSON string, wrapped with topic, qos, retain and time.time().
func PluginEntry(topic string, payload Py, qos int, retain bool, writtenAt float64) string {
	return PyDumps(Dict("topic", topic, "payload", PyDumps(payload), "qos", qos, "retain", retain, "timestamp", writtenAt))
}
