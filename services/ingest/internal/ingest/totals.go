package ingest

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// totals adds the events ingest settled to the running total across every
// replica, from which the gateway computes events per second. Its client
// never retries (redisconn.NoRetryClient): HINCRBY is not idempotent, and
// a retry after a lost reply would add the batch to the total twice.
type totals struct{ rdb *redis.Client }

// addIn is best effort: a batch missing from the total while Redis is away
// only makes one rate sample low, and must not hold up acknowledgements.
func (t totals) addIn(ctx context.Context, n int) {
	_ = t.rdb.HIncrBy(ctx, records.Counters, records.CounterEventsIn, int64(n)).Err()
}
