package rules

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
)

var (
	matchFields     = []string{"event", "tool_id", "topic", "fields"}
	conditionFields = []string{"equals", "exists", "in"}
)

func (d *decoder) conditions(n *yaml.Node, path string) conditions {
	var c conditions
	f, ok := d.mapping(n, path, matchFields)
	if !ok {
		return c
	}
	if e, ok := f.byKey["event"]; ok {
		c.events = []string{}
		for _, it := range d.oneOrList(e.value, path+".event") {
			if name, ok := d.str(it.node, it.path); ok {
				c.events = append(c.events, name)
			}
		}
	}
	if e, ok := f.byKey["tool_id"]; ok {
		c.toolIDs = []idRange{}
		for _, it := range d.oneOrList(e.value, path+".tool_id") {
			if r, ok := d.toolIDs(it); ok {
				c.toolIDs = append(c.toolIDs, r)
			}
		}
	}
	if e, ok := f.byKey["topic"]; ok {
		c.topics = []mqtttopic.Filter{}
		for _, it := range d.oneOrList(e.value, path+".topic") {
			if filter, ok := d.str(it.node, it.path); ok {
				if msg := checkFilter(filter); msg != "" {
					d.errorf(it.node, it.path, "%s", msg)
				}
				c.topics = append(c.topics, strings.Split(filter, "/"))
			}
		}
	}
	if e, ok := f.byKey["fields"]; ok {
		c.fields = d.fieldConditions(e.value, path+".fields")
	}
	return c
}

// toolIDs reads 12, "12" or the inclusive range "20-30".
func (d *decoder) toolIDs(it item) (idRange, bool) {
	n := it.node
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var id int64
		if n.Decode(&id) == nil && id >= 0 {
			return idRange{id, id}, true
		}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		lo, hi, isRange := strings.Cut(n.Value, "-")
		if !isRange {
			hi = lo
		}
		// 63 bits: an id is compared as an int64.
		from, errLo := strconv.ParseUint(strings.TrimSpace(lo), 10, 63)
		to, errHi := strconv.ParseUint(strings.TrimSpace(hi), 10, 63)
		switch {
		case errLo != nil || errHi != nil:
		case from > to:
			d.errorf(n, it.path, "bad range %q: it starts after it ends (write \"%d-%d\")", n.Value, to, from)
			return idRange{}, false
		default:
			return idRange{int64(from), int64(to)}, true
		}
	}
	d.errorf(n, it.path, "want a tool id (12) or an inclusive range of ids (\"20-30\"), got %s", describe(n))
	return idRange{}, false
}

// checkFilter says what is wrong with an MQTT topic filter, or "".
func checkFilter(f string) string {
	if f == "" {
		return "the topic filter is empty"
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case strings.Contains(l, "#") && (l != "#" || i != len(levels)-1):
			return fmt.Sprintf("%q: \"#\" must be a whole level and the last one, as in nemo/tools/#", f)
		case strings.Contains(l, "+") && l != "+":
			return fmt.Sprintf("%q: \"+\" must be a whole level, as in nemo/tools/+/enabled", f)
		case strings.ContainsFunc(l, unicode.IsControl):
			return fmt.Sprintf("%q holds a control character", f)
		}
	}
	return ""
}

// fieldConditions reads "fields:", a mapping from dotted payload paths to
// one condition each: {equals: V}, {exists: true|false} or {in: [V, ...]}.
func (d *decoder) fieldConditions(n *yaml.Node, path string) []fieldCondition {
	f, ok := d.mapping(n, path, nil)
	if !ok {
		return nil
	}
	if len(f.order) == 0 {
		d.errorf(resolve(n), path, "no fields given; remove \"fields\" to match every event")
	}
	conds := make([]fieldCondition, 0, len(f.order))
	for _, name := range f.order {
		e := f.byKey[name]
		p := join(path, name)
		if !validFieldPath(name) {
			d.errorf(e.key, p, "%q is not a field path (want names separated by dots, such as user_name or tool.id)", name)
			continue
		}
		if c, ok := d.fieldCondition(e.value, p); ok {
			c.path = strings.Split(name, ".")
			conds = append(conds, c)
		}
	}
	return conds
}

func (d *decoder) fieldCondition(n *yaml.Node, path string) (fieldCondition, bool) {
	var c fieldCondition
	f, ok := d.mapping(n, path, conditionFields)
	if !ok {
		return c, false
	}
	if len(f.order) != 1 {
		if len(f.order) > 1 || len(f.misspelt) == 0 {
			d.errorf(resolve(n), path, "give exactly one of equals, exists or in (got %d)", len(f.order))
		}
		return c, false
	}
	e := f.byKey[f.order[0]]
	p := join(path, f.order[0])
	switch f.order[0] {
	case "exists":
		b, ok := d.boolean(e.value, p)
		c.exists = &b
		return c, ok
	case "equals":
		v, ok := d.scalar(e.value, p)
		c.anyOf = []scalar{v}
		return c, ok
	default:
		valid := true
		for _, it := range d.oneOrList(e.value, p) {
			v, ok := d.scalar(it.node, it.path)
			c.anyOf = append(c.anyOf, v)
			valid = valid && ok
		}
		return c, valid && c.anyOf != nil
	}
}

// scalar reads a value to compare a payload field with.
func (d *decoder) scalar(n *yaml.Node, path string) (scalar, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, "a value (a string, a number, true, false or null)")
		return scalar{}, false
	}
	switch n.ShortTag() {
	case "!!null":
		return scalar{kind: nullScalar}, true
	case "!!bool":
		b, _ := strconv.ParseBool(n.Value) // YAML's true/True/TRUE and false forms
		return scalar{kind: boolScalar, b: b}, true
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			d.errorf(n, path, "%s is not a number this bridge can compare", n.Value)
			return scalar{}, false
		}
		return scalar{kind: numberScalar, num: f}, true
	}
	return scalar{kind: stringScalar, str: n.Value}, true
}
