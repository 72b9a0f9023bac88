// Package publishable decides what the bridge may send a broker: the topic,
// the payload and the other strings of a PUBLISH, by the rules brokers
// enforce. It matters because a broker does not refuse such a message
// alone: mosquitto closes the connection on it, and a session that resends
// the message at every reconnect then delivers nothing else. So whatever
// makes a message (the router's sanitiser and rules) or sends one (the
// publisher) asks here.
//
// The rules are MQTT 5's as mosquitto 2.0 enforces them: UTF-8 strings as
// mosquitto_validate_utf8 (lib/utf8_mosq.c) checks them, publish topics as
// mosquitto_pub_topic_check (lib/util_topic.c) does, and an empty topic,
// which src/handle_publish.c refuses without a topic alias (the bridge uses
// none). test/e2e's TestPublishableAgreesWithMosquitto holds them against a
// real mosquitto.
package publishable

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// MaxStringBytes bounds every MQTT string, whose length is written in
	// two bytes (MQTT 5 §1.5.4).
	MaxStringBytes = 65535
	// MaxTopicBytes is the longest topic, an MQTT string.
	MaxTopicBytes = MaxStringBytes
	// MaxTopicLevels is the most levels a topic may have: mosquitto closes
	// the connection of a client that publishes to a topic of more than
	// 200 "/" (TOPIC_HIERARCHY_LIMIT). MQTT itself sets no limit.
	MaxTopicLevels = 201
	// MaxPayloadBytes is the longest payload: an MQTT packet holds at most
	// 268,435,455 bytes after its fixed header (MQTT 5 §2.1.4), and
	// headerRoom of them stay for the rest of a PUBLISH.
	MaxPayloadBytes = 268_435_455 - headerRoom
	// headerRoom is room for the longest topic (65,537 bytes with its
	// length), the packet identifier and the properties the bridge sets (a
	// content type, an expiry and an event id).
	headerRoom = 1 << 20
)

// A Problem is a character, or a byte that is not UTF-8, that brokers
// refuse, and where it is.
type Problem struct {
	// Offset is where it starts in the string checked, in bytes.
	Offset int
	// Level is the topic level it is in, counted from 1; 0 in a string
	// that is not a topic.
	Level int
	// What it is, in words that follow "holds": "U+FFFF, a Unicode
	// noncharacter that brokers refuse".
	What string
}

func (p *Problem) Error() string {
	if p.Level > 0 {
		return fmt.Sprintf("topic level %d holds %s", p.Level, p.What)
	}
	return fmt.Sprintf("holds %s (at byte %d)", p.What, p.Offset)
}

// Topic says why brokers refuse t as the topic of a PUBLISH, or returns
// nil. A character a topic cannot hold is reported as a *Problem. Topics
// starting with "$" pass: brokers take them (mosquitto answers one under
// $CONTROL/ with a reason code, without closing the connection), though the
// bridge keeps its own messages out of them.
func Topic(t string) error {
	switch {
	case t == "":
		return errors.New("the topic is empty")
	case len(t) > MaxTopicBytes:
		return fmt.Errorf("the topic is %d bytes long; MQTT allows at most %d", len(t), MaxTopicBytes)
	}
	if n := strings.Count(t, "/") + 1; n > MaxTopicLevels {
		return fmt.Errorf("the topic has %d levels; brokers such as mosquitto allow at most %d", n, MaxTopicLevels)
	}
	if p := TopicChars(t); p != nil {
		return p
	}
	return nil
}

// TopicChars finds the first character of s that no topic can hold,
// wherever it stands, or returns nil: s is a topic or a part of one, such
// as a prefix or the literal text of a template. Its Level counts the
// levels of s.
func TopicChars(s string) *Problem {
	i, what := scan(s, TopicChar)
	if what == "" {
		return nil
	}
	return &Problem{Offset: i, Level: strings.Count(s[:i], "/") + 1, What: what}
}

// TopicChar says why a topic cannot hold r, in words that follow "holds",
// or returns "": a topic holds what any MQTT string may, except the
// wildcards.
func TopicChar(r rune) string {
	if r == '+' || r == '#' {
		return fmt.Sprintf("%q, an MQTT wildcard, which only subscriptions may use", r)
	}
	return textChar(r)
}

// Text says why brokers refuse s as one of the other strings of a PUBLISH
// (its content type, the name or value of a user property), or returns
// nil: MQTT strings follow the rules of a topic's characters, wildcards
// aside. A character it cannot hold is reported as a *Problem.
func Text(s string) error {
	if len(s) > MaxStringBytes {
		return fmt.Errorf("is %d bytes long; MQTT allows at most %d", len(s), MaxStringBytes)
	}
	if i, what := scan(s, textChar); what != "" {
		return &Problem{Offset: i, What: what}
	}
	return nil
}

// Payload says why brokers refuse p as the payload of a PUBLISH, or returns
// nil. Only its size counts: the bridge never sets the payload format
// indicator, so brokers take any bytes (with the indicator saying UTF-8,
// MQTT 5 §3.3.2.3.2 would let them refuse a payload that is not).
func Payload(p []byte) error {
	if len(p) > MaxPayloadBytes {
		return fmt.Errorf("the payload is %d bytes long; an MQTT packet holds at most %d beside its topic and properties", len(p), MaxPayloadBytes)
	}
	return nil
}

// textChar says why no MQTT string may hold r, or returns "". MQTT 5
// §1.5.4 forbids U+0000 and surrogates and lets a receiver refuse control
// characters and noncharacters; mosquitto refuses all of them, in every
// plane.
func textChar(r rune) string {
	switch {
	case r == 0:
		return "U+0000 (NUL), which MQTT forbids in every string"
	case !utf8.ValidRune(r):
		return fmt.Sprintf("%U, which is no Unicode character", r)
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return fmt.Sprintf("control character %U, which brokers refuse", r)
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return fmt.Sprintf("%U, a Unicode noncharacter that brokers refuse", r)
	}
	return ""
}

// scan finds the first byte that is not UTF-8, or the first character that
// char refuses, and where it starts; what is "" when there is none.
func scan(s string, char func(rune) string) (offset int, what string) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i, fmt.Sprintf("the byte 0x%02X, which is not UTF-8 there", s[i])
			}
		}
		if w := char(r); w != "" {
			return i, w
		}
	}
	return 0, ""
}

// Prefix says why p cannot be put before topics as written (a rules
// file's prefix, a site's topic prefix), or returns nil. "" is no prefix.
func Prefix(p string) error {
	if strings.HasPrefix(p, "$") {
		return errors.New(`a prefix cannot start with "$": such topics are reserved for the broker (like $SYS)`)
	}
	if p == "" {
		return nil
	}
	var char *Problem
	switch err := Topic(p); {
	case errors.As(err, &char):
		return errors.New("a topic prefix cannot hold " + char.What)
	case err != nil:
		return errors.New("by itself, " + err.Error())
	}
	return nil
}
