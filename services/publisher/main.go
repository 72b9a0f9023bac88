// Command publisher owns the bridge's MQTT session and publishes what the
// router sends it.
package main

import (
	"context"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/publisher"
)

func main() {
	var o publisher.Options
	service.Main("publisher", o.Bind, func(ctx context.Context) error { return publisher.Run(ctx, o) })
}
