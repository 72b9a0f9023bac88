package ingest

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/cause"
)

// rejected is an entry refused at some hop, on its way to the dead letters.
type rejected struct {
	entry  source.Entry
	cause  bridgev1.Cause
	reason string
}

// deadLetters writes refused entries to a stream, with the reason and the
// original entry, so that nothing is lost silently and an admin can replay
// them once the cause is fixed.
type deadLetters struct {
	rdb    *redis.Client
	stream string
	maxLen int64
	source string
}

func (d *deadLetters) write(ctx context.Context, rs []rejected) error {
	pipe := d.rdb.Pipeline()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, r := range rs {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: d.stream,
			MaxLen: d.maxLen,
			Approx: true,
			Values: []any{
				"code", cause.Code(r.cause),
				"reason", r.reason,
				"stage", cause.Stage(r.cause),
				"source", d.source,
				"source_id", r.entry.ID,
				"entry", r.entry.Original,
				"failed_at", now,
			},
		})
	}
	_, err := pipe.Exec(ctx)
	return err
}
