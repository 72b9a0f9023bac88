package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// decoder reads a rules file's YAML nodes, collecting every problem with
// its position instead of stopping at the first.
type decoder struct {
	file string
	errs []*Error
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errorAt(n.Line, n.Column, path, format, args...)
}

func (d *decoder) errorAt(line, column int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Column: column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// document parses data and returns its top node, or nil after recording
// why it cannot.
func (d *decoder) document(data []byte) *yaml.Node {
	if line, col, msg := badCharacter(data); msg != "" {
		d.errorAt(line, col, "", "%s", msg)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorAt(1, 1, "", "the file is empty; a rules file starts with \"version: 1\"")
		} else {
			d.syntaxError(data, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.errorf(&next, "", "a second YAML document: this file may hold only one (remove the \"---\" line)")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntaxError(data, err)
		return nil
	}
	if !d.aliasesBounded(&doc) {
		return nil
	}
	return doc.Content[0]
}

// badCharacter finds the first byte sequence YAML refuses (invalid UTF-8,
// control characters), which the YAML parser reports without a position.
func badCharacter(data []byte) (line, col int, msg string) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, "the file is not valid UTF-8"
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f, 0x80 <= r && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return line, col, fmt.Sprintf("character %U is not allowed in YAML", r)
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		data = data[size:]
	}
	return 0, 0, ""
}

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// syntaxError records a YAML parser error. The parser gives a line but no
// column, and no line at all for a problem on the first line or for an
// alias without its anchor, which is found here.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errorAt(line, 0, "", "invalid YAML: %s", m[2])
		return
	}
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		line, col := position(data, bytes.Index(data, []byte("*"+m[1])))
		d.errorAt(line, col, "", "alias *%s refers to no anchor &%s before it", m[1], m[1])
		return
	}
	d.errorAt(1, 0, "", "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// position turns a byte offset into a line and column (1-based); an
// offset not found (-1) is the start of the file.
func position(data []byte, offset int) (line, col int) {
	if offset < 0 {
		return 1, 1
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	return line, utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
}

// maxNodes bounds how many nodes a file may expand to through aliases, so
// that a few lines of anchors referring to anchors ("billion laughs")
// cannot exhaust the router's memory at load.
const maxNodes = 100_000

// aliasesBounded checks that aliases neither refer to the node they are in
// nor expand the document beyond maxNodes; the rules are read by following
// aliases, so either would make reading them endless.
func (d *decoder) aliasesBounded(doc *yaml.Node) bool {
	const inProgress = -1
	sizes := map[*yaml.Node]int{}
	cyclic := false
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if s, ok := sizes[n]; ok && s != inProgress {
			return s
		}
		sizes[n] = inProgress
		total := 1
		if n.Kind == yaml.AliasNode {
			if sizes[n.Alias] == inProgress {
				d.errorf(n, "", "alias *%s is inside the anchor it refers to", n.Value)
				cyclic = true
				return maxNodes + 1
			}
			total += size(n.Alias)
		}
		for _, c := range n.Content {
			total = min(total+size(c), maxNodes+1)
		}
		sizes[n] = total
		return total
	}
	if size(doc) > maxNodes && !cyclic {
		d.errorf(doc, "", "the file expands to more than %d YAML nodes through its aliases", maxNodes)
	}
	return len(d.errs) == 0
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// entry is one key of a mapping with its value.
type entry struct{ key, value *yaml.Node }

// fields are the entries of a mapping, by key and in the file's order.
type fields struct {
	byKey map[string]entry
	order []string
	// misspelt holds the known keys that unknown ones were taken for, so
	// that a typo is reported once, not also as a missing field.
	misspelt map[string]bool
}

// absent is true when name is neither given nor misspelt.
func (f fields) absent(name string) bool {
	_, given := f.byKey[name]
	return !given && !f.misspelt[name]
}

// mapping reads a mapping whose keys must be among known (any key when
// known is nil), each given once.
func (d *decoder) mapping(n *yaml.Node, path string, known []string) (fields, bool) {
	n = resolve(n)
	f := fields{byKey: map[string]entry{}, misspelt: map[string]bool{}}
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "a mapping (name: value lines)")
		return f, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.typeError(k, path, "a field name")
			continue
		}
		name := k.Value
		if first, ok := f.byKey[name]; ok {
			d.errorf(k, join(path, name), "given twice (first at line %d)", first.key.Line)
			continue
		}
		if known != nil && !slices.Contains(known, name) {
			if guess := d.unknownField(k, path, name, known); guess != "" {
				f.misspelt[guess] = true
			}
			continue
		}
		f.byKey[name] = entry{k, v}
		f.order = append(f.order, name)
	}
	return f, true
}

// unknownField reports a key that is not among known, with the known key
// it is likely a typo of, which it returns.
func (d *decoder) unknownField(k *yaml.Node, path, name string, known []string) string {
	guess := closest(name, known)
	if guess != "" {
		d.errorf(k, join(path, name), "unknown field %q (did you mean %q?)", name, guess)
	} else {
		d.errorf(k, join(path, name), "unknown field %q (known here: %s)", name, strings.Join(known, ", "))
	}
	return guess
}

func (d *decoder) typeError(n *yaml.Node, path, want string) {
	d.errorf(n, path, "want %s, got %s", want, describe(n))
}

// describe names what a node is, in the words of someone writing YAML.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!bool", "!!int", "!!float":
		return n.Value
	}
	return strconv.Quote(n.Value)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.typeError(n, path, "a string")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.typeError(n, path, "true or false")
		return false, false
	}
	return b, true
}

// item is one value of a setting that takes one value or a list.
type item struct {
	node *yaml.Node
	path string
}

// oneOrList reads a setting written as one value or a list of them; an
// empty list, which would match nothing, is an error.
func (d *decoder) oneOrList(n *yaml.Node, path string) []item {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			d.errorf(n, path, "an empty list matches nothing; remove the condition to match everything")
			return nil
		}
		items := make([]item, len(n.Content))
		for i, c := range n.Content {
			items[i] = item{resolve(c), fmt.Sprintf("%s[%d]", path, i)}
		}
		return items
	case yaml.MappingNode:
		d.typeError(n, path, "a value or a list")
		return nil
	}
	return []item{{n, path}}
}
