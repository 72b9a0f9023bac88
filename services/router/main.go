// Command router turns NEMO events into MQTT messages and hands them to the
// publisher. "router check FILE..." checks rules files instead, without
// starting the service.
package main

import (
	"context"
	"os"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/router"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rulecheck"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(rulecheck.Run(os.Args[2:], os.Stdout, os.Stderr))
	}
	var o router.Options
	service.Main("router", o.Bind, func(ctx context.Context) error { return router.Run(ctx, o) })
}
