package rules

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var publishFields = []string{"topic", "qos", "retain", "expiry", "keep", "drop", "payload", "about", "max_bytes", "sign"}

func (d *decoder) publication(n *yaml.Node, path string) publication {
	var p publication
	f, ok := d.mapping(n, path, publishFields)
	if !ok {
		return p
	}
	if e, ok := f.byKey["topic"]; ok {
		p.topic = d.template(e.value, path+".topic")
	} else if f.absent("topic") {
		d.errorf(resolve(n), path+".topic", "missing: every publish needs a topic, such as \"{prefix}{topic}\"")
	}
	if e, ok := f.byKey["qos"]; ok {
		p.qos = d.qos(e.value, path+".qos")
	}
	if e, ok := f.byKey["retain"]; ok {
		if b, ok := d.boolean(e.value, path+".retain"); ok {
			p.retain = &b
		}
	}
	if e, ok := f.byKey["expiry"]; ok {
		p.expirySeconds = d.expiry(e.value, path+".expiry")
	}
	p.filter = d.fieldFilter(f, path)
	if e, ok := f.byKey["about"]; ok {
		if about, ok := d.str(e.value, path+".about"); ok {
			if about == "open_task" {
				p.aboutOpenTask = true
			} else {
				d.errorf(e.value, path+".about", "unknown subject %q (want open_task: the tool's newest open task)", about)
			}
		}
	}
	if e, ok := f.byKey["max_bytes"]; ok {
		p.maxBytes = d.positive(e.value, path+".max_bytes", "a number of bytes")
	}
	if e, ok := f.byKey["sign"]; ok {
		if b, ok := d.boolean(e.value, path+".sign"); ok {
			p.sign = &b
			v := resolve(e.value)
			p.signAt = &Error{File: d.file, Line: v.Line, Column: v.Column, Path: path + ".sign"}
		}
	}
	if e, ok := f.byKey["payload"]; ok {
		for _, other := range []string{"keep", "drop"} {
			if o, both := f.byKey[other]; both {
				second := e.key
				if o.key.Line > e.key.Line || (o.key.Line == e.key.Line && o.key.Column > e.key.Column) {
					second = o.key
				}
				d.errorf(second, join(path, second.Value), "payload and %s cannot both be given: payload builds a new message, %s chooses fields of the event's", other, other)
			}
		}
		p.payload = d.payload(e.value, path+".payload", valueContext{aboutTask: p.aboutOpenTask, maxBytes: p.maxBytes > 0})
	}
	return p
}

// positive reads a whole number above 0.
func (d *decoder) positive(n *yaml.Node, path, what string) int {
	n = resolve(n)
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v <= 0 {
		d.typeError(n, path, what+" above 0")
		return 0
	}
	return v
}

// template compiles a topic template, pointing each problem at its column.
func (d *decoder) template(n *yaml.Node, path string) topicTemplate {
	s, ok := d.str(n, path)
	if !ok {
		return topicTemplate{}
	}
	n = resolve(n)
	t, problems := compileTemplate(s)
	quote := 0
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		quote = 1
	}
	for _, pr := range problems {
		d.errorAt(n.Line, n.Column+quote+utf8.RuneCountInString(s[:pr.offset]), path, "%s", pr.msg)
	}
	return t
}

func (d *decoder) qos(n *yaml.Node, path string) *uint32 {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, "a QoS (0, 1 or 2)")
		return nil
	}
	var q uint32
	switch n.Value {
	case "0", "1", "2":
		q = uint32(n.Value[0] - '0')
	default:
		d.errorf(n, path, "%s is not a valid QoS (want 0, 1 or 2)", n.Value)
		return nil
	}
	return &q
}

// expiry reads a Go duration ("90s", "1h") as whole seconds, as MQTT
// counts message expiry.
func (d *decoder) expiry(n *yaml.Node, path string) uint32 {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		d.errorf(n, path, "%s has no unit (write %ss, or a duration such as 15m or 1h)", n.Value, n.Value)
		return 0
	}
	s, ok := d.str(n, path)
	if !ok {
		return 0
	}
	dur, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.errorf(n, path, "%q is not a duration (want one such as 90s, 15m or 1h)", s)
	case dur <= 0:
		d.errorf(n, path, "%q: the expiry must be positive (leave expiry out for messages that do not expire)", s)
	case dur%time.Second != 0:
		d.errorf(n, path, "%q: MQTT counts expiry in whole seconds", s)
	case dur/time.Second > math.MaxUint32:
		d.errorf(n, path, "%q is longer than MQTT's longest expiry (%d seconds)", s, uint32(math.MaxUint32))
	default:
		return uint32(dur / time.Second)
	}
	return 0
}

// fieldFilter reads keep or drop, whichever is given; both is an error, at
// the one written second.
func (d *decoder) fieldFilter(f fields, path string) *fieldFilter {
	keep, hasKeep := f.byKey["keep"]
	drop, hasDrop := f.byKey["drop"]
	switch {
	case hasKeep && hasDrop:
		second := drop
		if keep.key.Line > drop.key.Line || (keep.key.Line == drop.key.Line && keep.key.Column > drop.key.Column) {
			second = keep
		}
		d.errorf(second.key, join(path, second.key.Value), "keep and drop cannot both be given: keep lists the fields that stay, drop the ones that go")
		return nil
	case hasKeep:
		return &fieldFilter{keep: true, names: d.names(keep.value, path+".keep")}
	case hasDrop:
		return &fieldFilter{keep: false, names: d.names(drop.value, path+".drop")}
	}
	return nil
}

// names reads a list of top-level payload field names; it may be empty
// ("keep: []" publishes "{}").
func (d *decoder) names(n *yaml.Node, path string) map[string]bool {
	names := map[string]bool{}
	list := resolve(n)
	if list.Kind != yaml.SequenceNode {
		d.typeError(list, path, "a list of field names")
		return names
	}
	for i, c := range list.Content {
		if name, ok := d.str(c, fmt.Sprintf("%s[%d]", path, i)); ok {
			names[name] = true
		}
	}
	return names
}
