package statusapi

import (
	"context"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// listWarnings looks, in list mode, for what makes tool displays miss
// events although every hop works: another program popping the list, or
// NEMO's events waiting under another name the plugin has used. A Redis
// that refuses the look (an ACL on CLIENT LIST) or does not answer adds
// nothing here: ingest says once in its log that its check is off, and
// the redis hop says when Redis is down.
func (s *Server) listWarnings(ctx context.Context) []*statusv1.HealthWarning {
	if s.input.Mode != "list" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	db := redisconn.DB(s.rdb)
	var found []pluginlist.Warning
	if others, err := pluginlist.Consumers(ctx, s.rdb); err == nil && len(others) > 0 {
		found = append(found, pluginlist.ConsumersWarning(s.input.List, db, others))
	}
	if elsewhere, err := pluginlist.EventsElsewhere(ctx, s.rdb, s.input.List); err == nil {
		for _, e := range elsewhere {
			found = append(found, pluginlist.ElsewhereWarning(s.input.List, db, e))
		}
	}
	out := make([]*statusv1.HealthWarning, len(found))
	for i, w := range found {
		out[i] = &statusv1.HealthWarning{Code: w.Code, Summary: w.Summary, Detail: w.Detail}
	}
	return out
}
