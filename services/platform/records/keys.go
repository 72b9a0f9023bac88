// Package records is what the services share in Redis: the key names, the
// default names of NEMO's inputs, and each record that more than one
// service touches (a dead letter, a tool's state, a recent message),
// defined once as a proto message of nemo.status.v1 and written and read
// only through this package. One service writes each record and others
// read it, so both sides take the key, the field names and the encoding
// from here; each record's file says who writes it and who reads it.
package records

import (
	"strings"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
)

// The default names of NEMO's inputs and of the dead letters, for the
// flags of ingest, the router and the gateway and for devstack. The list's
// name belongs to pluginlist, which knows every name the plugin has used
// (OlderName, KnownNames); it is repeated here so that every default is
// found in one place.
const (
	// InputStream is the stream NEMO writes to (stream mode).
	InputStream = "nemo:events"
	// InputList is the list the NEMO plugin pushes to (list mode).
	InputList = pluginlist.Name
	// InputChannel is the channel the plugin can publish to (pubsub mode):
	// the same name as its list.
	InputChannel = "nemo_mqtt_events"
	// DeadLetters is the stream of refused events (see deadletter.go).
	DeadLetters = "nemo:events:dead"
)

// InputProcessingList is where list entries of InputList wait until
// acknowledged (ProcessingList).
var InputProcessingList = ProcessingList(InputList)

const (
	// Tools is the hash of tool id → current state as JSON (see
	// toolstate.go), which the router keeps and the gateway serves.
	Tools = "nemo:bridge:tools"
	// ToolSequences is the hash of tool id → sequence of that state, so an
	// older event delivered again never overwrites newer state. It is
	// compared and set with Tools in one script, so it shares Tools' hash
	// slot (Sibling); versions before were OldToolSequences (CarryOver).
	ToolSequences    = "{" + Tools + "}:seq"
	OldToolSequences = Tools + ":seq"
	// Recent is the capped stream of the messages the broker acknowledged
	// last (router), the gateway's live feed (see recent.go).
	Recent = "nemo:bridge:recent"
	// Counters is the hash of running totals across every replica:
	// ingest adds to CounterEventsIn, the router to CounterMessagesOut;
	// the gateway turns them into rates.
	Counters           = "nemo:bridge:counters"
	CounterEventsIn    = "events_in"
	CounterMessagesOut = "messages_out"
	// ControlList is where the NEMO plugin asks its bridge to reload: it
	// LPUSHes ReloadConfig there. Routers pop it and pass each reload on
	// ControlChannel, the channel of the same name that every router
	// follows and reloads its rules on.
	ControlList    = "nemo_mqtt_bridge_control"
	ControlChannel = "nemo_mqtt_bridge_control"
	ReloadConfig   = "reload_config"
	// BridgeStatus is the string the NEMO plugin's page reads to tell
	// whether the bridge is connected to the broker: the active publisher
	// keeps BridgeConnected or BridgeDisconnected there with a TTL, so
	// that a dead bridge's status expires.
	BridgeStatus       = "nemo_mqtt_bridge_status"
	BridgeConnected    = "connected"
	BridgeDisconnected = "disconnected"
)

// The leases (services/platform/lease): one key per job that only one
// process may do at a time, holding the holder's token with a TTL, and
// beside it, in its Redis Cluster hash slot, the count of acquisitions
// (the fence, lease.Fence).
const leasePrefix = "nemo:bridge:lease:"

// PublisherLease is the lease of the MQTT session of clientID:
// "nemo:bridge:lease:<client id>", held by the active publisher.
func PublisherLease(clientID string) string { return leasePrefix + clientID }

// IngestLease is the lease of reading one input, held by the active
// ingest: "nemo:bridge:lease:ingest:", "site:<site>:" for a named site
// (two sites' inputs may have one name, each in its own Redis, and share
// the bridge's Redis for their leases), and the input as
//
//	stream:<stream>:<group>:<consumer>   stream mode (one consumer of a group)
//	list:<list>                          list mode (the list NEMO pushes to)
//	pubsub:<channel>                     pubsub mode
//
// e.g. "nemo:bridge:lease:ingest:stream:nemo:events:nemo-bridge:nemo-bridge".
// The mode is part of it because the plugin's list and channel have one
// name. Names are joined as they are, so two inputs whose names only
// place a ":" differently (stream "a:b", group "c" and stream "a", group
// "b:c") would share a lease: one of them would stand by.
func IngestLease(site, mode string, names ...string) string {
	key := leasePrefix + "ingest:"
	if site != "" {
		key += "site:" + site + ":"
	}
	return key + mode + ":" + strings.Join(names, ":")
}
