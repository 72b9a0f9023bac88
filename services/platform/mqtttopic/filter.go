// Package mqtttopic holds the bridge's MQTT topics of both kinds. The
// topics NEMO gives, made publishable: Sanitize turns an event's topic
// into one a broker accepts and SafeLevel fits an event's value in one
// level (sanitize.go, used by the router). The filters subscribers give:
// ParseFilter checks one and Filter matches topics against it (filter.go,
// used by the rules' topic matches, the gateway's filter of recent
// messages, the publisher's round-trip subscriptions). The validity rule
// itself, what a broker takes as a topic, lives in package publishable
// (platform/publishable); both halves follow it.
package mqtttopic

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
)

// Filter is a parsed MQTT topic filter: "+" is a whole level, "#" the
// whole last level.
type Filter []string

// ParseFilter checks f and parses it. Its characters and level count
// follow the rules of a topic (publishable), wildcards aside: a filter a
// broker refuses closes the connection that subscribes with it, which for
// the publisher's reads of retained messages is the bridge's session.
func ParseFilter(f string) (Filter, error) {
	if f == "" {
		return nil, errors.New("a topic filter cannot be empty")
	}
	if err := publishable.Text(f); err != nil {
		return nil, fmt.Errorf("a topic filter %w", err)
	}
	levels := strings.Split(f, "/")
	if len(levels) > publishable.MaxTopicLevels {
		return nil, fmt.Errorf("the topic filter has %d levels; brokers such as mosquitto allow at most %d", len(levels), publishable.MaxTopicLevels)
	}
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return nil, errors.New(`"#" may only be the last level`)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return nil, errors.New(`"+" and "#" must be a whole level`)
		}
	}
	return levels, nil
}

// Matches reports whether topic matches the filter.
func (f Filter) Matches(topic string) bool {
	return f.MatchesLevels(strings.Split(topic, "/"))
}

// MatchesLevels is Matches for a topic already split into its levels, for
// callers that try one topic against many filters.
func (f Filter) MatchesLevels(levels []string) bool {
	for i, l := range f {
		if l == "#" {
			return true
		}
		if i >= len(levels) || (l != "+" && l != levels[i]) {
			return false
		}
	}
	return len(levels) == len(f)
}
