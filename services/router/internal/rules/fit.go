package rules

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// fitPayload keeps the topic and the payload together within maxBytes
// bytes, counted as the screens count them: bytes of the JSON, escapes
// included, never characters. What gives way, in turn, until it fits:
//
//  1. the texts marked fit, the longest first, each cut to the longest
//     form that still fits (ending in marker), or emptied when none does;
//  2. each list of tasks marked fit: the texts marked fit in its tasks,
//     the oldest task's first; then its oldest tasks, the newest always
//     kept ({task_count: shown} says how many are left); then the newest
//     task's other texts.
//
// Then every text marked fit takes back what room is left, those of the
// message first, then those of the listed tasks, newest first, so that
// none is cut further than the others make it. It fails when the message
// cannot fit: what is left is not text that may be shortened.
func fitPayload(topic string, fields []builtField, maxBytes int, marker string) ([]byte, error) {
	m := &fitting{topic: topic, fields: fields, max: maxBytes, marker: marker}
	m.shorten(fields)
	for i := range fields {
		if l := fields[i].list; l != nil && !m.fits() {
			m.shortenList(l)
		}
	}
	if size := m.size(); size > maxBytes {
		return nil, fmt.Errorf("%w, and no text marked fit is left to shorten", errTooBig(size, maxBytes))
	}
	m.growBack()
	return encodeObject(fields), nil
}

// errTooBig says that a message (topic and payload, in bytes) is over the
// publish's max_bytes: one that fitPayload could not shorten enough, or one
// whose payload is not built by the rule and so is never shortened.
func errTooBig(size, max int) error { return &tooBigError{size: size, max: max} }

type tooBigError struct{ size, max int }

func (e *tooBigError) Error() string {
	return fmt.Sprintf("the message takes %d bytes with its topic, over max_bytes %d", e.size, e.max)
}

// fitting is a message being made to fit.
type fitting struct {
	topic  string
	fields []builtField
	max    int
	marker string
}

func (m *fitting) size() int { return len(m.topic) + len(encodeObject(m.fields)) }

func (m *fitting) fits() bool { return m.size() <= m.max }

// shorten cuts the texts marked fit among fields, the longest first,
// until the message fits or none is left to cut.
func (m *fitting) shorten(fields []builtField) {
	for !m.fits() {
		longest := -1
		for i, f := range fields {
			if f.fit && len(f.raw) > len(`""`) && (longest < 0 || len(f.raw) > len(fields[longest].raw)) {
				longest = i
			}
		}
		if longest < 0 {
			return
		}
		m.fitText(&fields[longest])
	}
}

// shortenList makes room in a list of tasks marked fit (step 2 of
// fitPayload). The texts emptied here are given back what room is left
// by growBack.
func (m *fitting) shortenList(l *taskList) {
	for _, task := range l.entries {
		for i := range task {
			if task[i].fit {
				task[i].raw = jsonString("")
			}
		}
		if m.fits() {
			return
		}
	}
	for len(l.entries) > 1 && !m.fits() {
		l.entries = l.entries[1:]
		m.setShown(len(l.entries))
	}
	if len(l.entries) == 1 && !m.fits() {
		newest := l.entries[0]
		for i := range newest {
			var s string
			if f := &newest[i]; !f.fit && json.Unmarshal(f.raw, &s) == nil {
				f.fit, f.text, f.raw = true, []rune(s), jsonString(s)
			}
		}
		m.shorten(newest)
	}
}

// setShown writes how many tasks the list holds into {task_count: shown}.
func (m *fitting) setShown(n int) {
	for i := range m.fields {
		if m.fields[i].shown {
			m.fields[i].raw = json.RawMessage(strconv.Itoa(n))
		}
	}
}

// growBack gives every text marked fit the longest form that fits with
// the others as they are. Room only shrinks as it goes, so each keeps the
// longest form it can have in the message as sent.
func (m *fitting) growBack() {
	grow := func(fields []builtField) {
		for i := range fields {
			if fields[i].fit {
				m.fitText(&fields[i])
			}
		}
	}
	grow(m.fields)
	for _, f := range m.fields {
		if f.list != nil {
			for i := len(f.list.entries) - 1; i >= 0; i-- {
				grow(f.list.entries[i])
			}
		}
	}
}

// fitText sets f to the longest form of its text that fits with the rest
// of the message as it is: all of it, else its first characters and the
// marker, else nothing. The cut forms only grow with the characters kept,
// so the longest that fits is found by halving.
func (m *fitting) fitText(f *builtField) {
	room := m.max - (m.size() - len(f.raw))
	if whole := jsonString(string(f.text)); len(whole) <= room {
		f.raw = whole
		return
	}
	k := sort.Search(max(len(f.text)-1, 0), func(i int) bool {
		return len(jsonString(m.cutForm(f.text, i+1))) > room
	})
	f.raw = jsonString(m.cutForm(f.text, k))
}

// cutForm is text cut to its first k characters (k below their number),
// without the white space the cut leaves at its end, and the marker;
// nothing when no more than white space is left.
func (m *fitting) cutForm(text []rune, k int) string {
	kept := strings.TrimRightFunc(string(text[:k]), unicode.IsSpace)
	if kept == "" {
		return ""
	}
	return kept + m.marker
}
