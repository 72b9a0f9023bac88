package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// statusCopyEvery is how often a site's ingest copies the bridge's status
// into the site's Redis: well within the status's TTL of 90 s, which the
// copy keeps, so a dead bridge's status still expires at the site.
const statusCopyEvery = 10 * time.Second

// copyBridgeStatus keeps the NEMO plugin's page of a site, which reads
// records.BridgeStatus from the site's own Redis, telling the truth: the
// publisher writes it into the bridge's Redis only. It copies the value
// and its remaining TTL from bridge to site every statusCopyEvery until
// ctx ends; a status gone from the bridge's Redis is left to expire at
// the site too.
func copyBridgeStatus(ctx context.Context, bridge, site redis.UniversalClient, log *slog.Logger) {
	tick := time.NewTicker(statusCopyEvery)
	defer tick.Stop()
	failing := false
	for {
		err := copyStatusOnce(ctx, bridge, site)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn("cannot copy the bridge's status to the site's Redis for the NEMO plugin's page; retrying", "err", err, "retry_in", statusCopyEvery)
		case err == nil && failing:
			log.Info("copying the bridge's status to the site's Redis again")
		}
		failing = err != nil
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func copyStatusOnce(ctx context.Context, bridge, site redis.UniversalClient) error {
	pipe := bridge.Pipeline()
	value := pipe.Get(ctx, records.BridgeStatus)
	ttl := pipe.PTTL(ctx, records.BridgeStatus)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if errors.Is(value.Err(), redis.Nil) || ttl.Val() <= 0 {
		return nil // no status, or one kept for good: nothing to copy
	}
	return site.Set(ctx, records.BridgeStatus, value.Val(), ttl.Val()).Err()
}
