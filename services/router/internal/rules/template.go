package rules

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
)

// A topicTemplate is a publish topic such as "{prefix}nemo/tools/{tool_id}/enabled",
// checked and split into parts at load so that rendering cannot fail on
// anything but length and levels.
type topicTemplate struct {
	parts []templatePart
}

type templatePart struct {
	kind    partKind
	literal string   // for literalPart
	field   []string // for fieldPart: the payload field's dotted path
}

type partKind int

const (
	literalPart partKind = iota
	prefixPart
	sourceTopicPart
	fieldPart
)

// variableNames are what a typo in a variable's name is compared with.
// {event}, {tool_id} and {tool_name} are payload fields NEMO always writes.
var variableNames = []string{"prefix", "topic", "event", "tool_id", "tool_name", "payload"}

const payloadVariable = "payload."

// templateProblem is what is wrong in a template, at a byte offset into it,
// so that the loader can point at the column.
type templateProblem struct {
	offset int
	msg    string
}

// compileTemplate checks a template and splits it into parts. Literal text
// may not hold what no topic can (publishable.TopicChars), be longer or
// have more levels than a topic can by itself, or start the topic with "$"
// (reserved for broker topics such as $SYS), even after an empty {prefix}:
// what a literal says is then true for every prefix.
func compileTemplate(s string) (topicTemplate, []templateProblem) {
	return compile(s, true)
}

// compileText checks a text template, a string value of a built payload:
// the same variables as a topic, and any literal text.
func compileText(s string) (topicTemplate, []templateProblem) {
	return compile(s, false)
}

func compile(s string, isTopic bool) (topicTemplate, []templateProblem) {
	var t topicTemplate
	var problems []templateProblem
	if s == "" {
		if !isTopic {
			return t, nil
		}
		return t, []templateProblem{{0, "the topic is empty"}}
	}
	for i := 0; i < len(s); {
		brace := strings.IndexAny(s[i:], "{}")
		if brace < 0 {
			brace = len(s) - i
		}
		if brace > 0 {
			if isTopic {
				problems = append(problems, checkLiteral(s[i:i+brace], i)...)
			}
			t.parts = append(t.parts, templatePart{kind: literalPart, literal: s[i : i+brace]})
		}
		i += brace
		if i == len(s) {
			break
		}
		if s[i] == '}' {
			problems = append(problems, templateProblem{i, `"}" without a "{" before it`})
			i++
			continue
		}
		end := strings.IndexAny(s[i+1:], "{}")
		if end < 0 || s[i+1+end] == '{' {
			problems = append(problems, templateProblem{i, `"{" without a "}" after it`})
			i++
			continue
		}
		name := s[i+1 : i+1+end]
		part, msg := variablePart(name)
		if msg != "" {
			problems = append(problems, templateProblem{i, msg})
		}
		t.parts = append(t.parts, part)
		i += end + 2
	}
	if first := t.firstNonPrefix(); isTopic && first != nil && first.kind == literalPart && strings.HasPrefix(first.literal, "$") {
		problems = append(problems, templateProblem{strings.Index(s, "$"), `the topic starts with "$", which is reserved for the broker's own topics such as $SYS`})
	}
	if isTopic {
		problems = append(problems, t.checkLiterals()...)
	}
	return t, problems
}

// checkLiterals refuses a template whose literal text alone is longer or
// has more levels than a topic may: every topic it renders would be.
func (t topicTemplate) checkLiterals() []templateProblem {
	var lit strings.Builder
	for _, p := range t.parts {
		lit.WriteString(p.literal)
	}
	if lit.Len() == 0 {
		return nil
	}
	err := publishable.Topic(lit.String())
	if err == nil || errors.As(err, new(*publishable.Problem)) {
		return nil // characters are checked where they stand
	}
	return []templateProblem{{0, "without its variables, " + err.Error()}}
}

func (t topicTemplate) firstNonPrefix() *templatePart {
	for i := range t.parts {
		if t.parts[i].kind != prefixPart {
			return &t.parts[i]
		}
	}
	return nil
}

func checkLiteral(lit string, offset int) []templateProblem {
	if p := publishable.TopicChars(lit); p != nil {
		return []templateProblem{{offset + p.Offset, "a topic cannot hold " + p.What}}
	}
	return nil
}

func variablePart(name string) (templatePart, string) {
	switch name {
	case "prefix":
		return templatePart{kind: prefixPart}, ""
	case "topic":
		return templatePart{kind: sourceTopicPart}, ""
	case "event", "tool_id", "tool_name":
		return templatePart{kind: fieldPart, field: []string{name}}, ""
	}
	if path, ok := strings.CutPrefix(name, payloadVariable); ok {
		if !validFieldPath(path) {
			return templatePart{}, fmt.Sprintf("{%s}: %q is not a field path (want names separated by dots, such as {payload.user_name} or {payload.tool.id})", name, path)
		}
		return templatePart{kind: fieldPart, field: strings.Split(path, ".")}, ""
	}
	msg := fmt.Sprintf("unknown variable {%s}", name)
	if guess := closest(name, variableNames); guess == "payload" {
		msg += " (a payload field is written {payload.FIELD})"
	} else if guess != "" {
		msg += fmt.Sprintf(" (did you mean {%s}?)", guess)
	}
	return templatePart{}, msg + "; known variables: {prefix}, {topic}, {event}, {tool_id}, {tool_name}, {payload.FIELD}"
}

func validFieldPath(path string) bool {
	for _, name := range strings.Split(path, ".") {
		if name == "" {
			return false
		}
	}
	return true
}

// render writes the topic for one event, under the event's site's topic
// prefix (Event.site_topic_prefix) before anything the rule writes, so
// that no rule can put two sites' tools on one topic. Values from the
// event are made safe to stand in one topic level (see
// mqtttopic.SafeLevel), so that the event can add neither a wildcard nor
// a level; {topic} is the source topic made safe
// as a whole, keeping its levels. It fails only for a source topic that
// cannot be published or a topic longer, or with more levels, than brokers
// take (a prefix and a source topic can make too many together).
func (t topicTemplate) render(in *input, prefix string) (string, error) {
	var b strings.Builder
	b.WriteString(in.ev.GetSiteTopicPrefix())
	for _, p := range t.parts {
		switch p.kind {
		case literalPart:
			b.WriteString(p.literal)
		case prefixPart:
			b.WriteString(prefix)
		case sourceTopicPart:
			if in.topicErr != nil {
				return "", fmt.Errorf("{topic}: source topic %q cannot be published: %v", in.ev.GetTopic(), in.topicErr)
			}
			b.WriteString(in.topic)
		case fieldPart:
			b.WriteString(mqtttopic.SafeLevel(in.text(p.field)))
		}
	}
	out := b.String()
	if strings.HasPrefix(out, "$") {
		// Only an event's value can get here: literals and the prefix are
		// checked at load.
		out = "_" + out[1:]
	}
	if err := publishable.Topic(out); err != nil {
		return "", err
	}
	return out, nil
}

// text renders a text template: values as they are, not made safe for a
// topic; {topic} is the source topic as NEMO wrote it.
func (t topicTemplate) text(in *input, prefix string) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case literalPart:
			b.WriteString(p.literal)
		case prefixPart:
			b.WriteString(prefix)
		case sourceTopicPart:
			b.WriteString(in.ev.GetTopic())
		case fieldPart:
			b.WriteString(in.text(p.field))
		}
	}
	return b.String()
}
