package rules

import (
	"slices"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
)

// conditions are what a rule's match block asks of an event; every one
// that is given must hold. A nil list means the condition is not given (the
// loader refuses empty lists, which could match nothing).
type conditions struct {
	events  []string
	toolIDs []idRange
	topics  []mqtttopic.Filter
	fields  []fieldCondition
}

// idRange is an inclusive range of tool ids; a single id is lo == hi.
type idRange struct{ lo, hi int64 }

func (c *conditions) hold(in *input) bool {
	return c.eventHolds(in) && c.toolIDHolds(in) && c.topicHolds(in) && c.fieldsHold(in)
}

func (c *conditions) eventHolds(in *input) bool {
	if c.events == nil {
		return true
	}
	return in.ev.GetEventType() != "" && slices.Contains(c.events, in.ev.GetEventType())
}

// toolIDHolds reads the tool id ingest read, as NEMO writes it.
func (c *conditions) toolIDHolds(in *input) bool {
	if c.toolIDs == nil {
		return true
	}
	if in.ev.ToolId == nil {
		return false
	}
	id := int64(in.ev.GetToolId())
	for _, r := range c.toolIDs {
		if r.lo <= id && id <= r.hi {
			return true
		}
	}
	return false
}

func (c *conditions) topicHolds(in *input) bool {
	if c.topics == nil {
		return true
	}
	if in.topicErr != nil {
		return false
	}
	for _, f := range c.topics {
		if f.MatchesLevels(in.levels) {
			return true
		}
	}
	return false
}

func (c *conditions) fieldsHold(in *input) bool {
	for _, f := range c.fields {
		if !f.holds(in) {
			return false
		}
	}
	return true
}
