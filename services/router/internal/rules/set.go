// Package rules decides which MQTT messages each event becomes, as a rules
// file says: which events a rule matches, the topics it writes them to
// (templates such as "{prefix}nemo/tools/{tool_id}/enabled"), with which
// QoS, retain flag, expiry and payload fields. The file is checked as a
// whole when it is loaded, so that a bad edit is refused with every
// problem named by line and column while the rules in force stay.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// Set is a loaded rules file. It is never changed once loaded, so one Set
// may serve any number of goroutines; a reload makes a new Set.
type Set struct {
	prefix string
	// screens is "screens: true": the file's messages are read by the
	// tool screens, so the router's display settings say how their texts
	// are written (in ASCII unless -display-ascii=false). It is a setting
	// of the file, not of the built-in profile, so that a copy of
	// displays.yaml keeps it, and a publish added to it later is covered
	// without having to say so.
	screens bool
	rules   []rule
	// sum identifies the content the Set came from, and a prefix
	// given by WithPrefix.
	sum [sha256.Size]byte
	// settings are the router's (see WithSettings); nil is the defaults.
	settings *Settings
	// extra are rules run alongside these (see Alongside).
	extra []*Set
}

type rule struct {
	name    string
	when    conditions
	publish []publication
	// continues is true when later rules see the event too; by default
	// the first rule that matches is the only one.
	continues bool
}

// Version is a short hash of the rules' content, to tell in status pages
// and metrics which rules are in force.
func (s *Set) Version() string {
	return hex.EncodeToString(s.sum[:])[:12]
}

// Names lists the rules' names in the order they are tried, those run
// alongside after, for status pages to show which rules are in force.
func (s *Set) Names() []string {
	var names []string
	for _, x := range s.all() {
		for _, r := range x.rules {
			names = append(names, r.name)
		}
	}
	return names
}

// WithPrefix returns the rules with {prefix} standing for prefix instead
// of the file's value: a prefix given on the command line then applies to
// the built-in rules too. Its Version differs from the original's.
func (s *Set) WithPrefix(prefix string) (*Set, error) {
	if msg := checkPrefix(prefix); msg != "" {
		return nil, fmt.Errorf("topic prefix %q: %s", prefix, msg)
	}
	c := *s
	c.prefix = prefix
	c.sum = sha256.Sum256(append(s.sum[:], "\x00prefix="+prefix...))
	return &c, nil
}

// Apply returns the messages the rules make of ev, in rule order (those
// of the rules run alongside after), and the names of the rules that
// matched. state is the state of the event's tool after the event, which
// payloads may read ({state: …}, {tasks: …}, "about: open_task"); nil
// when there is none (no tool, or a router without Redis). No messages and
// no error means the event is filtered: no rule matched, or those that did
// publish nothing. Messages have no id; the event's ordering key and its
// id (as the user property "event_id") go with each. The error names the
// rule and says why it cannot make a message for this event (a source
// topic that cannot be published, a topic over MQTT's 65,535 bytes, a
// message that cannot be kept within its max_bytes): the event cannot be
// published as the rules say, and no message of it should be.
func (s *Set) Apply(ev *bridgev1.Event, state *statusv1.Tool) (msgs []*bridgev1.Message, matched []string, err error) {
	in := newInput(ev)
	for _, x := range s.all() {
		sc := &scope{in: in, prefix: x.prefix, settings: x.settings.forEvent(ev), state: state, ascii: x.screens && x.settings.ascii()}
		for _, r := range x.rules {
			if !r.when.hold(in) {
				continue
			}
			matched = append(matched, r.name)
			for i := range r.publish {
				out, err := r.publish[i].messages(sc)
				if err != nil {
					return nil, matched, fmt.Errorf("rule %q, publish[%d]: %w", r.name, i, err)
				}
				if msgs == nil {
					msgs = out // most events make one rule's messages: no copy
				} else {
					msgs = append(msgs, out...)
				}
			}
			if !r.continues {
				break
			}
		}
	}
	return msgs, matched, nil
}
