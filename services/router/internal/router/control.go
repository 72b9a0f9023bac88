package router

import (
	"context"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/rediskeys"
)

// followControl reloads the rules on every reload_config on the NEMO
// plugin's control channel until ctx ends. That message made the plugin's
// bridge read its configuration again; the router answers it by reloading
// its rules file, so that the plugin's admin action keeps working.
// Other messages on the channel are for others and are ignored. go-redis
// subscribes again by itself after a Redis outage; what is published
// meanwhile is lost, which the file watch makes up for.
func followControl(ctx context.Context, rdb *redis.Client, book *rulebook, log *slog.Logger) {
	sub := rdb.Subscribe(ctx, rediskeys.ControlChannel)
	defer sub.Close()
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if strings.TrimSpace(m.Payload) != rediskeys.ReloadConfig {
				log.Debug("control message ignored", "channel", rediskeys.ControlChannel, "payload", m.Payload)
				continue
			}
			// A refusal is logged and kept for GetRules by the rulebook.
			_, _ = book.reload(rediskeys.ReloadConfig)
		}
	}
}
