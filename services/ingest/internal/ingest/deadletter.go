package ingest

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/cause"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// rejected is an entry refused at some hop, on its way to the dead letters.
type rejected struct {
	entry  source.Entry
	cause  bridgev1.Cause
	reason string
}

// deadLetters writes refused entries to a stream, with the reason and the
// original entry, so that nothing is lost silently and an admin can replay
// them once the cause is fixed. The record is records' (deadletter.go),
// which the gateway reads and replays.
type deadLetters struct {
	rdb    redis.UniversalClient
	stream string
	maxLen int64
	// input is where the entries were read, where a replay puts them back.
	input *statusv1.Input
}

func (d *deadLetters) write(ctx context.Context, rs []rejected) error {
	pipe := d.rdb.Pipeline()
	now := timestamppb.New(time.Now())
	for _, r := range rs {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: d.stream,
			MaxLen: d.maxLen,
			Approx: true,
			Values: records.DeadLetterValues(&statusv1.DeadLetter{
				Code:     cause.Code(r.cause),
				Reason:   r.reason,
				Stage:    cause.Stage(r.cause),
				Input:    d.input,
				SourceId: r.entry.ID,
				Entry:    r.entry.AsHeld(),
				FailedAt: now,
			}),
		})
	}
	_, err := pipe.Exec(ctx)
	return err
}
