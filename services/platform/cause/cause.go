// Package cause turns bridgev1.Cause, why an event or a message was
// refused, into the words the dead letters, metrics and logs use: its
// stable name ("not_json") and the hop that found it. Every service reads
// them from here, so that no hop guesses a stage from a name.
package cause

import (
	"strings"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// Hops that refuse events, as the dead letters' stage names them.
const (
	Ingest    = "ingest"
	Router    = "router"
	Publisher = "publisher"
)

// Code is the cause's stable name: the enum value's name in lower case
// without CAUSE_, "not_json" for CAUSE_NOT_JSON; "unknown" when unset.
func Code(c bridgev1.Cause) string {
	if c == bridgev1.Cause_CAUSE_UNSPECIFIED {
		return "unknown"
	}
	name, ok := bridgev1.Cause_name[int32(c)]
	if !ok {
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(name, "CAUSE_"))
}

// Stage is the hop that finds the cause. The enum numbers them in blocks
// (ingest below 20, the router from 20, the publisher from 40), so a
// cause added later has its stage without an edit here.
func Stage(c bridgev1.Cause) string {
	switch {
	case c >= bridgev1.Cause_CAUSE_PUBLISH_REFUSED:
		return Publisher
	case c >= bridgev1.Cause_CAUSE_INVALID_TOPIC:
		return Router
	case c > bridgev1.Cause_CAUSE_UNSPECIFIED:
		return Ingest
	}
	return "unknown"
}
