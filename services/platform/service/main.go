package service

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

// Main is the whole of a command's main: it registers the command's flags
// with bind, parses them (with environment fallbacks), and runs run until
// SIGINT or SIGTERM. It exits 2 on a configuration error, 1 when run fails.
func Main(name string, bind func(*flag.FlagSet), run func(context.Context) error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	bind(fs)
	if err := envflag.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}
