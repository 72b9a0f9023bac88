// Package topic makes MQTT topic names safe to publish to.
package topic

import (
	"fmt"
	"strings"
	"unicode"
)

// MaxLen is the longest topic MQTT can carry (a UTF-8 string of at most
// 65,535 bytes).
const MaxLen = 65535

// Sanitize turns a topic that came from event data into one a broker will
// accept and that cannot act as a wildcard: in every level `+` and `#`
// become `_`, NUL is removed and other control characters (which MQTT says
// topics should not hold, and which some subscribers' logs and screens
// mangle) become `_`; an empty level becomes `_`; a leading `$` (reserved
// for broker topics such as $SYS) becomes `_`; invalid UTF-8 is replaced.
// It fails only for a topic that is empty or too long.
func Sanitize(t string) (string, error) {
	if t == "" {
		return "", fmt.Errorf("topic is empty")
	}
	t = strings.ToValidUTF8(t, "\uFFFD")
	levels := strings.Split(t, "/")
	for i, l := range levels {
		l = strings.ReplaceAll(l, "\x00", "")
		l = strings.Map(safeRune, l)
		if l == "" {
			l = "_"
		}
		levels[i] = l
	}
	if strings.HasPrefix(levels[0], "$") {
		levels[0] = "_" + levels[0][1:]
	}
	out := strings.Join(levels, "/")
	if len(out) > MaxLen {
		return "", fmt.Errorf("topic is %d bytes long; MQTT allows at most %d", len(out), MaxLen)
	}
	return out, nil
}

// safeRune keeps a character of a topic level, or makes it "_" when it is
// a wildcard or a control character.
func safeRune(r rune) rune {
	if r == '+' || r == '#' || unicode.IsControl(r) {
		return '_'
	}
	return r
}

// SafeLevel makes a value from an event fit in one topic level: "/", the
// wildcards "+" and "#", NUL and the other control characters become "_",
// as does an empty value, because an empty level is easy to miss in a
// subscription.
func SafeLevel(v string) string {
	if v == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '/' {
			return '_'
		}
		return safeRune(r)
	}, v)
}
