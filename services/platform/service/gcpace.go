package service

import (
	"os"
	"runtime/debug"
)

// gcPercent is how far the heap grows past what is live before the next
// collection (GOGC), twice Go's default, unless the operator sets GOGC.
// The services hold little (ingest's window bounds it) and allocate for
// every event, so a drain at Go's default collects many times a second
// and spends about a tenth of each service's CPU on it; twice the growth
// halves that for about 10 MiB more resident memory each (see
// docs/performance.md). Near a container's limit the soft memory limit
// (limitMemory) makes the collector work harder whatever this says.
const gcPercent = 200

func paceCollector() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
