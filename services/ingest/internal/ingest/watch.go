package ingest

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
)

// warnEventsElsewhere says, at start, when the list ingest reads is empty
// while another name the NEMO plugin has used holds entries: a lab that
// runs an older plugin reads nothing otherwise, and nothing else says why.
// A Redis error is left to the read loop, which reports it.
func warnEventsElsewhere(ctx context.Context, rdb *redis.Client, list string, log *slog.Logger) {
	found, err := pluginlist.EventsElsewhere(ctx, rdb, list)
	if err != nil {
		return
	}
	for _, e := range found {
		w := pluginlist.ElsewhereWarning(list, rdb.Options().DB, e)
		log.Warn(w.Summary, "code", w.Code, "list", list, "other_list", e.List, "entries", e.Entries,
			"setting", pluginlist.Setting+"="+e.List)
	}
}
