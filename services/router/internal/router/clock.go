package router

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// clockSync is how often the router reads Redis's clock again. Between
// readings it counts on its own monotonic clock, which drifts by far less
// than toolstate.StreamSlack in that time; reading again catches Redis's
// clock being set.
const clockSync = 15 * time.Second

// redisClock tells the time by Redis's clock, which stamps the stream's
// entry ids, without a call to Redis per event: it reads TIME now and then
// and adds the time passed since on the local monotonic clock. Until it
// has read TIME once, it tells the local time.
type redisClock struct {
	rdb  *redis.Client
	read atomic.Pointer[clockReading]
}

type clockReading struct {
	redis time.Time // Redis's TIME
	local time.Time // time.Now() just after, with its monotonic reading
}

func (c *redisClock) now() time.Time {
	r := c.read.Load()
	if r == nil {
		return time.Now()
	}
	return r.redis.Add(time.Since(r.local))
}

func (c *redisClock) sync(ctx context.Context) error {
	t, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return err
	}
	c.read.Store(&clockReading{redis: t, local: time.Now()})
	return nil
}

// follow reads Redis's clock every clockSync until ctx ends. Missing a
// reading is harmless: the last one still counts.
func (c *redisClock) follow(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(clockSync)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := c.sync(ctx); err != nil && ctx.Err() == nil {
				log.Debug("cannot read Redis's clock; counting on from the last reading", "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}
