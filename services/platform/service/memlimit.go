package service

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// The cgroup files that hold a container's memory limit: v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// limitMemory gives the Go runtime a soft memory limit of 90% of the
// container's, unless GOMEMLIMIT says otherwise: the garbage collector
// then works harder as the heap nears the limit, instead of letting it
// grow to twice what is live (GOGC's default) and the container be killed
// for it. What the services hold is bounded by ingest's window, but the
// bound is in events and bytes of payload, and each hop keeps copies.
func limitMemory(log *slog.Logger, files []string) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || limit <= 0 || limit >= 1<<60 { // "max", or v1's "no limit"
			return
		}
		soft := limit / 10 * 9
		debug.SetMemoryLimit(soft)
		log.Info("soft memory limit set from the container's", "limit_bytes", limit, "soft_limit_bytes", soft, "file", filepath.Clean(f))
		return
	}
}
