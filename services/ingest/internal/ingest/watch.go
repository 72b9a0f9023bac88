package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// warnEventsElsewhere says, at start, when the list ingest reads is empty
// while another name the NEMO plugin has used holds entries: a lab that
// runs an older plugin reads nothing otherwise, and nothing else says why.
// A Redis error is left to the read loop, which reports it.
func warnEventsElsewhere(ctx context.Context, rdb redis.UniversalClient, list string, log *slog.Logger) {
	found, err := pluginlist.EventsElsewhere(ctx, rdb, list)
	if err != nil {
		return
	}
	for _, e := range found {
		w := pluginlist.ElsewhereWarning(list, redisconn.DB(rdb), e)
		log.Warn(w.Summary, "code", w.Code, "list", list, "other_list", e.List, "entries", e.Entries,
			"setting", pluginlist.Setting+"="+e.List)
	}
}

// watchConsumers looks every interval for other programs taking entries
// from the list, and says so in the log when one appears, with what to do
// (the plugin's own bridge takes events away from ingest, and displays miss
// them), and when none is left. A Redis that refuses to show its clients
// (an ACL) is said once, and the check stops; a Redis that does not answer
// is the read loop's to report.
func watchConsumers(ctx context.Context, rdb redis.UniversalClient, list string, every time.Duration, log *slog.Logger, count prometheus.Gauge) {
	db := redisconn.DB(rdb)
	known := map[string]bool{} // address and name of the others seen last time
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		others, err := pluginlist.Consumers(ctx, rdb)
		if errors.Is(err, pluginlist.ErrUnavailable) {
			log.Warn("cannot check whether another program takes entries from the list; the check is off until ingest restarts", "list", list, "err", err)
			return
		}
		if err == nil {
			count.Set(float64(len(others)))
			current := map[string]bool{}
			for _, c := range others {
				key := c.Addr + " " + c.Name
				current[key] = true
				if !known[key] {
					w := pluginlist.ConsumersWarning(list, db, []pluginlist.Consumer{c})
					log.Warn(w.Summary, "code", w.Code, "list", list, "db", db,
						"client_addr", c.Addr, "client_name", c.Name, "cmd", c.Cmd, "blocked", c.Blocked)
				}
			}
			if len(current) == 0 && len(known) > 0 {
				log.Info("no other program takes entries from the list any more", "list", list)
			}
			known = current
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
