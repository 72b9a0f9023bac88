package mqtttopic

import (
	"fmt"
	"strings"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
)

// Sanitize turns a topic that came from event data into one a broker will
// accept and that cannot act as a wildcard: invalid UTF-8 is replaced with
// U+FFFD; in every level NUL is removed and whatever else a topic cannot
// hold (publishable.TopicChar: the wildcards + and #, control characters,
// which some subscribers' logs and screens mangle too, and Unicode
// noncharacters) becomes `_`; an empty level becomes `_`; the levels past
// publishable.MaxTopicLevels are kept in the last one, their "/" made `_`;
// a leading `$` (reserved for broker topics such as $SYS) becomes `_`.
// What it returns passes publishable.Topic. It fails only for a topic that
// is empty or too long.
func Sanitize(t string) (string, error) {
	if publishableAsIs(t) {
		return t, nil
	}
	return sanitize(t)
}

// publishableAsIs says whether sanitize would return t unchanged, as it
// does for nearly every topic NEMO sends: printable ASCII without the
// wildcards, no empty level, not too many levels, no leading "$". Checked
// byte by byte, it spares every event the splitting and joining.
func publishableAsIs(t string) bool {
	if t == "" || len(t) > publishable.MaxTopicBytes || t[0] == '$' {
		return false
	}
	levels, levelEmpty := 1, true
	for i := range len(t) {
		switch c := t[i]; {
		case c == '/':
			if levelEmpty {
				return false
			}
			levels, levelEmpty = levels+1, true
			continue
		case c < 0x20 || c >= 0x7f || c == '+' || c == '#':
			return false
		}
		levelEmpty = false
	}
	return !levelEmpty && levels <= publishable.MaxTopicLevels
}

func sanitize(t string) (string, error) {
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
	if last := publishable.MaxTopicLevels - 1; len(levels) > last+1 {
		// Joined rather than cut off: what tells two such topics apart is
		// often at their end.
		levels[last] = strings.Join(levels[last:], "_")
		levels = levels[:last+1]
	}
	if strings.HasPrefix(levels[0], "$") {
		levels[0] = "_" + levels[0][1:]
	}
	out := strings.Join(levels, "/")
	if len(out) > publishable.MaxTopicBytes {
		return "", fmt.Errorf("topic is %d bytes long; MQTT allows at most %d", len(out), publishable.MaxTopicBytes)
	}
	return out, nil
}

// safeRune keeps a character of a topic level, or makes it "_" when a
// topic cannot hold it.
func safeRune(r rune) rune {
	if publishable.TopicChar(r) != "" {
		return '_'
	}
	return r
}

// SafeLevel makes a value from an event fit in one topic level: "/" and
// whatever a topic cannot hold (the wildcards "+" and "#", NUL and the
// other control characters, Unicode noncharacters) become "_", as does an
// empty value, because an empty level is easy to miss in a subscription.
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
