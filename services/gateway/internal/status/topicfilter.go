package status

import (
	"errors"
	"strings"
)

// checkFilter accepts an MQTT topic filter: "+" is a whole level, "#" the
// whole last level.
func checkFilter(f string) error {
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return errors.New(`"#" may only be the last level`)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return errors.New(`"+" and "#" must be a whole level`)
		}
	}
	return nil
}

// topicMatches reports whether topic matches the filter's levels.
func topicMatches(filter []string, topic string) bool {
	levels := strings.Split(topic, "/")
	for i, f := range filter {
		if f == "#" {
			return true
		}
		if i >= len(levels) || (f != "+" && f != levels[i]) {
			return false
		}
	}
	return len(levels) == len(filter)
}
