package records

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// A recent message is a message the broker acknowledged, kept in the
// capped stream Recent, one stream entry per message.
//
// Written by: the router's recent log (RecentValues, with XADD).
// Read by: the gateway's ListMessages (ReadRecent).
//
// The stream entry's fields:
//
//	topic      the MQTT topic
//	payload    the payload's bytes
//	qos        0, 1 or 2
//	retain     "true" or "false"
//	event_id   the id of the event it came from
//	sent_at    when the broker acknowledged it, Unix milliseconds
//	tool_id    the tool's id; absent when the message is of no tool
//	site       the event's site; absent for the default site
const (
	rmTopic   = "topic"
	rmPayload = "payload"
	rmQos     = "qos"
	rmRetain  = "retain"
	rmEventID = "event_id"
	rmSentAt  = "sent_at"
	rmToolID  = "tool_id"
	rmSite    = "site"
)

// RecentValues are the stream fields of m, for XADD. sent_at keeps
// milliseconds; payload_text and expiry_seconds are not kept.
func RecentValues(m *statusv1.Message) []any {
	v := []any{
		rmTopic, m.GetTopic(),
		rmPayload, m.GetPayload(),
		rmQos, m.GetQos(),
		rmRetain, strconv.FormatBool(m.GetRetain()),
		rmEventID, m.GetEventId(),
		rmSentAt, m.GetSentAt().AsTime().UnixMilli(),
	}
	if m.GetToolId() != 0 { // tool ids are positive
		v = append(v, rmToolID, m.GetToolId())
	}
	if m.GetSite() != "" {
		v = append(v, rmSite, m.GetSite())
	}
	return v
}

// ReadRecent reads one entry of the recent stream; PayloadText is the
// payload when it is UTF-8.
func ReadRecent(e redis.XMessage) *statusv1.Message {
	text := func(k string) string { v, _ := e.Values[k].(string); return v }
	m := &statusv1.Message{
		Topic:   text(rmTopic),
		Payload: []byte(text(rmPayload)),
		Retain:  text(rmRetain) == "true",
		EventId: text(rmEventID),
		Site:    text(rmSite),
	}
	if utf8.Valid(m.Payload) {
		m.PayloadText = string(m.Payload)
	}
	if q, err := strconv.ParseUint(text(rmQos), 10, 32); err == nil {
		m.Qos = uint32(q)
	}
	if ms, err := strconv.ParseInt(text(rmSentAt), 10, 64); err == nil {
		m.SentAt = timestamppb.New(time.UnixMilli(ms))
	}
	if id, err := strconv.ParseInt(text(rmToolID), 10, 32); err == nil {
		m.ToolId = int32(id)
	}
	return m
}
