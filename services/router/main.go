// Command router turns NEMO events into MQTT messages and hands them to the
// publisher.
package main

import (
	"context"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/router"
)

func main() {
	var o router.Options
	service.Main("router", o.Bind, func(ctx context.Context) error { return router.Run(ctx, o) })
}
