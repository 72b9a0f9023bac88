package rules

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
)

// The settings each level of a rules file knows, in the order the
// documentation lists them, as "unknown field" errors list them too.
var (
	fileFields = []string{"version", "prefix", "screens", "rules"}
	ruleFields = []string{"name", "match", "publish", "continue"}
)

// set reads the top of a rules file.
func (d *decoder) set(top *yaml.Node) *Set {
	f, ok := d.mapping(top, "", fileFields)
	if !ok {
		return nil
	}
	s := &Set{}
	d.version(top, f)
	if e, ok := f.byKey["prefix"]; ok {
		if p, ok := d.str(e.value, "prefix"); ok {
			if msg := checkPrefix(p); msg != "" {
				d.errorf(e.value, "prefix", "%s", msg)
			}
			s.prefix = p
		}
	}
	if e, ok := f.byKey["screens"]; ok {
		s.screens, _ = d.boolean(e.value, "screens")
	}
	e, ok := f.byKey["rules"]
	if !ok {
		if f.absent("rules") {
			d.errorf(top, "rules", "missing: the file has no rules, so every event would be dropped")
		}
		return s
	}
	list := resolve(e.value)
	if list.Kind != yaml.SequenceNode {
		d.typeError(list, "rules", "a list of rules")
		return s
	}
	if len(list.Content) == 0 {
		d.errorf(list, "rules", "the list is empty, so every event would be dropped")
	}
	firstLine := map[string]int{}
	for i, n := range list.Content {
		path := fmt.Sprintf("rules[%d]", i)
		r, ok := d.rule(n, path)
		if !ok {
			continue
		}
		if line, dup := firstLine[r.name]; dup {
			d.errorf(r.nameNode, path+".name", "duplicate rule name %q (first used at line %d)", r.name, line)
		} else {
			firstLine[r.name] = r.nameNode.Line
		}
		s.rules = append(s.rules, r.rule)
	}
	return s
}

func (d *decoder) version(top *yaml.Node, f fields) {
	e, ok := f.byKey["version"]
	if !ok {
		if f.absent("version") {
			d.errorf(top, "version", "missing: write \"version: 1\" at the top of the file")
		}
		return
	}
	if v := resolve(e.value); v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Value != "1" {
		d.errorf(v, "version", "unsupported version %s (this bridge reads version 1)", describe(v))
	}
}

// checkPrefix says what is wrong with a topic prefix, or "". The prefix is
// put into topics as written, so it must be publishable as it is.
func checkPrefix(p string) string {
	if err := publishable.Prefix(p); err != nil {
		return err.Error()
	}
	return ""
}

// decodedRule is a rule with where its name is written, to point at a
// duplicate.
type decodedRule struct {
	rule
	nameNode *yaml.Node
}

// rule reads one rule; ok is false when it has no usable name.
func (d *decoder) rule(n *yaml.Node, path string) (r decodedRule, ok bool) {
	f, ok := d.mapping(n, path, ruleFields)
	if !ok {
		return decodedRule{}, false
	}
	named := false
	if e, ok := f.byKey["name"]; ok {
		r.nameNode = resolve(e.value)
		if r.name, named = d.str(e.value, path+".name"); named && r.name == "" {
			d.errorf(e.value, path+".name", "the name is empty")
			named = false
		}
	} else if f.absent("name") {
		d.errorf(resolve(n), path+".name", "missing: every rule needs a name, for logs and metrics")
	}
	if e, ok := f.byKey["match"]; ok {
		r.when = d.conditions(e.value, path+".match")
	}
	if e, ok := f.byKey["publish"]; ok {
		r.publish = d.publications(e.value, path+".publish")
	} else if f.absent("publish") {
		d.errorf(resolve(n), path+".publish", "missing: list the messages to publish, or write \"publish: []\" to drop the events this rule matches")
	}
	if e, ok := f.byKey["continue"]; ok {
		r.continues, _ = d.boolean(e.value, path+".continue")
	}
	return r, named
}

func (d *decoder) publications(n *yaml.Node, path string) []publication {
	list := resolve(n)
	if list.Kind != yaml.SequenceNode {
		d.typeError(list, path, `a list (write "publish: []" to drop the events)`)
		return nil
	}
	pubs := make([]publication, 0, len(list.Content))
	for i, c := range list.Content {
		pubs = append(pubs, d.publication(c, fmt.Sprintf("%s[%d]", path, i)))
	}
	return pubs
}
