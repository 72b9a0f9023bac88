package ingest

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// totalsKey holds running totals across every replica, from which the
// gateway computes events per second: ingest adds the events it settled.
const totalsKey = "nemo:bridge:counters"

type totals struct{ rdb *redis.Client }

// addIn is best effort: a batch missing from the total while Redis is away
// only makes one rate sample low, and must not hold up acknowledgements.
func (t totals) addIn(ctx context.Context, n int) {
	_ = t.rdb.HIncrBy(ctx, totalsKey, "events_in", int64(n)).Err()
}
