// Package publisherreads names what a publisher announces it reads, in the
// header of each Publish stream it answers, so that a router upgraded
// before its publishers sends an older one only what it understands.
package publisherreads

// Header is the stream header's name; its values are the fields below.
const Header = "nemo-publisher-reads"

// EventID: the publisher reads Message.event_id. One that does not
// announce it is sent the event's id in Message.user_properties.
const EventID = "event_id"

// EventIDProperty is the MQTT user property that carries the source
// event's id to subscribers, and the user_properties entry in which an
// older publisher reads it.
const EventIDProperty = "event_id"

// MaxInFlightKeys is the most ordering keys a publisher reads in one
// InFlight request (it holds them in memory while it searches its
// pipeline); a router asks in chunks of this many.
const MaxInFlightKeys = 10_000
