// Command ingest reads NEMO's events from Redis and streams them to the
// router, acknowledging each in Redis once the broker has it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/ingest"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

func main() {
	var o ingest.Options
	fs := flag.NewFlagSet("ingest", flag.ExitOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := ingest.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}
