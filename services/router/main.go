// Command router turns NEMO events into MQTT messages and hands them to the
// publisher.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/router"
)

func main() {
	var o router.Options
	fs := flag.NewFlagSet("router", flag.ExitOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := router.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "router:", err)
		os.Exit(1)
	}
}
