// Command ingest reads NEMO's events from Redis and streams them to the
// router, acknowledging each in Redis once the broker has it.
package main

import (
	"context"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/ingest"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

func main() {
	var o ingest.Options
	service.Main("ingest", o.Bind, func(ctx context.Context) error { return ingest.Run(ctx, o) })
}
