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
