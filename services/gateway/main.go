// Command gateway answers what the bridge knows and how it is doing: the
// StatusService over gRPC, the same as REST with its OpenAPI document, and
// the monitoring page.
package main

import (
	"context"

	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/gateway"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

func main() {
	var o gateway.Options
	service.Main("gateway", o.Bind, func(ctx context.Context) error { return gateway.Run(ctx, o) })
}
