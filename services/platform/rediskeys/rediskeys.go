// Package rediskeys names what the services share in Redis besides
// NEMO's input: one service writes each key and another reads it, so both
// take the name from here.
package rediskeys

const (
	// Tools is the hash of tool id → current state as JSON, which the
	// router keeps and the gateway serves.
	Tools = "nemo:bridge:tools"
	// ToolSequences is the hash of tool id → sequence of that state, so an
	// older event delivered again never overwrites newer state.
	ToolSequences = "nemo:bridge:tools:seq"
	// Recent is the capped stream of the messages the broker acknowledged
	// last (router), the gateway's live feed.
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
