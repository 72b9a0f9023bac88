// Command devstack is `make run`: the whole bridge on one machine, with an
// embedded Redis and MQTT broker unless real ones are named, and a demo
// that writes realistic NEMO events.
package main

import (
	"context"

	"github.com/nemo-mqtt-bridge/bridge/services/devstack/internal/devstack"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

func main() {
	var o devstack.Options
	service.Main("devstack", o.Bind, func(ctx context.Context) error { return devstack.Run(ctx, o) })
}
