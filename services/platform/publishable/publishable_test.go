package publishable

import (
	"errors"
	"strings"
	"testing"
)

func TestTopic(t *testing.T) {
	levels := func(n int) string { return strings.Repeat("a/", n-1) + "a" }
	for _, tc := range []struct {
		name, topic string
		want        string // a fragment of the error; "" when publishable
	}{
		{"plain", "nemo/tools/12/enabled", ""},
		{"spaces and punctuation", "nemo/tools/Raith EBL (R&D)/start", ""},
		{"empty levels", "/nemo//x/", ""},
		{"a broker topic", "$SYS/x", ""},
		{"one slash", "/", ""},
		{"BOM, private use, emoji, U+FFFD", "a/\uFEFF\uE000\U0010FFFD😀\uFFFD", ""},
		{"last character before the noncharacters", "a/\uFDCF\uFDF0\uFFFD", ""},
		{"DEL's neighbours", "a/~\u00A0", ""},
		{"201 levels", levels(MaxTopicLevels), ""},
		{"longest", strings.Repeat("a", MaxTopicBytes), ""},
		{"empty", "", "the topic is empty"},
		{"too long", strings.Repeat("a", MaxTopicBytes+1), "the topic is 65536 bytes long; MQTT allows at most 65535"},
		{"202 levels", levels(MaxTopicLevels + 1), "the topic has 202 levels; brokers such as mosquitto allow at most 201"},
		{"plus", "nemo/a+b", `topic level 2 holds '+', an MQTT wildcard`},
		{"hash", "#", `topic level 1 holds '#', an MQTT wildcard`},
		{"NUL", "a/b/\x00", "topic level 3 holds U+0000 (NUL)"},
		{"tab", "a\tb", "topic level 1 holds control character U+0009, which brokers refuse"},
		{"DEL", "a/\x7f", "control character U+007F"},
		{"C1", "a/\u0085", "control character U+0085"},
		{"last C1", "a/\u009F", "control character U+009F"},
		{"U+FFFF", "nemo/tools/\uFFFF", "topic level 3 holds U+FFFF, a Unicode noncharacter that brokers refuse"},
		{"U+FFFE", "\uFFFE", "U+FFFE, a Unicode noncharacter"},
		{"U+FDD0", "a/\uFDD0", "U+FDD0, a Unicode noncharacter"},
		{"U+FDEF", "a/\uFDEF", "U+FDEF, a Unicode noncharacter"},
		{"U+1FFFE", "a/\U0001FFFE", "U+1FFFE, a Unicode noncharacter"},
		{"U+10FFFF", "a/\U0010FFFF", "U+10FFFF, a Unicode noncharacter"},
		{"a byte that is not UTF-8", "a/b\xff", "topic level 2 holds the byte 0xFF, which is not UTF-8 there"},
		{"a surrogate's encoding", "a/\xed\xa0\x80", "the byte 0xED"},
		{"an overlong encoding", "a/\xc0\xaf", "the byte 0xC0"},
		{"a character cut short", "a/\xe2\x82", "the byte 0xE2"},
	} {
		err := Topic(tc.topic)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestTopicCharsSaysWhere(t *testing.T) {
	p := TopicChars("ab/c/d\uFDD0e")
	if p == nil || p.Offset != 6 || p.Level != 3 {
		t.Fatalf("got %+v, want offset 6 in level 3", p)
	}
	var got *Problem
	if !errors.As(Topic("ab/c/d\uFDD0e"), &got) || *got != *p {
		t.Errorf("Topic's problem %+v differs from TopicChars' %+v", got, p)
	}
	if p := TopicChars("a/b"); p != nil {
		t.Errorf("got %+v for a good topic", p)
	}
}

func TestText(t *testing.T) {
	for _, ok := range []string{"", "application/json", "a+b#c", "Zoë 😀"} {
		if err := Text(ok); err != nil {
			t.Errorf("Text(%q): %v", ok, err)
		}
	}
	for s, want := range map[string]string{
		"ab\uFFFF":                            "holds U+FFFF, a Unicode noncharacter that brokers refuse (at byte 2)",
		"\x00":                                "U+0000 (NUL)",
		"a\x1b":                               "control character U+001B",
		"\xff":                                "the byte 0xFF",
		strings.Repeat("x", MaxStringBytes+1): "is 65536 bytes long",
	} {
		if err := Text(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Text(%.20q) = %v, want an error with %q", s, err, want)
		}
	}
}

func TestPayload(t *testing.T) {
	if err := Payload(make([]byte, 1<<16)); err != nil {
		t.Error(err)
	}
	// A slice header, not the bytes: the check reads only the length.
	huge := make([]byte, 0, MaxPayloadBytes+1)[:MaxPayloadBytes+1]
	if err := Payload(huge); err == nil || !strings.Contains(err.Error(), "an MQTT packet holds at most") {
		t.Errorf("a payload over the limit: %v", err)
	}
}
