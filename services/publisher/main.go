// Command publisher owns the bridge's MQTT session and publishes what the
// router sends it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/publisher"
)

func main() {
	var o publisher.Options
	fs := flag.NewFlagSet("publisher", flag.ExitOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "publisher:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := publisher.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "publisher:", err)
		os.Exit(1)
	}
}
