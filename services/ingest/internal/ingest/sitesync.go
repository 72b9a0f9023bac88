package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// siteSyncEvery is how often a site's ingest keeps the site's Redis and
// the bridge's in step for the NEMO plugin: well within the status's TTL
// of 90 s, which the copy keeps, so a dead bridge's status still expires
// at the site.
const siteSyncEvery = 10 * time.Second

// controlBatch is the most reload requests passed on at once.
const controlBatch = 100

// syncSite does for a named site's NEMO plugin what the bridge does in
// its own Redis, until ctx ends: the plugin's page reads
// records.BridgeStatus from the site's Redis, which the publisher writes
// into the bridge's only; and the plugin asks for a reload by pushing
// onto records.ControlList in the site's Redis, which the routers read in
// the bridge's. Every siteSyncEvery it copies the status (value and
// remaining TTL; a status gone from the bridge's Redis is left to expire
// at the site too) and moves the reload requests across.
func syncSite(ctx context.Context, bridge, site redis.UniversalClient, log *slog.Logger) {
	tick := time.NewTicker(siteSyncEvery)
	defer tick.Stop()
	failing := false
	for {
		err := errors.Join(copyStatusOnce(ctx, bridge, site), forwardReloadsOnce(ctx, site, bridge))
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn("cannot keep the site's Redis in step with the bridge's for the NEMO plugin (its page's bridge status, its reload requests); retrying", "err", err, "retry_in", siteSyncEvery)
		case err == nil && failing:
			log.Info("the site's Redis is in step with the bridge's again")
		}
		failing = err != nil
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// forwardReloadsOnce moves the oldest reload requests (up to
// controlBatch) from the site's control list to the bridge's: read, pushed
// on, then trimmed from the list's tail, where nothing new arrives (the
// plugin pushes at the head), so that a failure in between sends a
// request twice, never loses one. The routers pass on any of them as one
// reload.
func forwardReloadsOnce(ctx context.Context, site, bridge redis.UniversalClient) error {
	entries, err := site.LRange(ctx, records.ControlList, -controlBatch, -1).Result()
	if err != nil || len(entries) == 0 {
		return err
	}
	// Oldest first onto the bridge's list, as the plugin would have.
	oldestFirst := make([]any, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		oldestFirst = append(oldestFirst, entries[i])
	}
	if err := bridge.LPush(ctx, records.ControlList, oldestFirst...).Err(); err != nil {
		return err
	}
	return site.LTrim(ctx, records.ControlList, 0, int64(-len(entries)-1)).Err()
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
