// Package cpushare sizes the Go scheduler of the bridge's services when
// they run side by side on one machine (make run, the tests, the bench).
//
// Each Go process schedules goroutines on GOMAXPROCS threads, by default
// one per core. When ingest, router and publisher share a machine with
// Redis and the broker, every one of them has an idle thread spinning for
// work on cores the others need, and hands goroutines between threads
// that the kernel then has to wake. Measured on two cores during a
// 100,000-event drain, one thread each cut the three services' CPU per
// event by a quarter and sped the drain up by a fifth (docs/performance.md).
package cpushare

import (
	"runtime"
	"strconv"
	"strings"
)

// pipelineServices is how many of the bridge's services share the
// machine's cores under load: ingest, router, publisher (the gateway and
// devstack's demo source are light).
const pipelineServices = 3

// Env is environ with GOMAXPROCS set to this process's cores (its own
// GOMAXPROCS, which follows a container's CPU limit) shared out among the
// pipeline's services, one at least, for a service started on this
// machine. A GOMAXPROCS already in environ is the operator's and is kept.
func Env(environ []string) []string {
	for _, kv := range environ {
		if name, _, _ := strings.Cut(kv, "="); name == "GOMAXPROCS" {
			return environ
		}
	}
	return append(environ[:len(environ):len(environ)], "GOMAXPROCS="+strconv.Itoa(Share(runtime.GOMAXPROCS(0))))
}

// Share is each pipeline service's share of cores.
func Share(cores int) int {
	return max(1, cores/pipelineServices)
}
