package service

import (
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// In a container with a memory limit, the runtime's soft limit is 90% of
// it; without one ("max"), or when GOMEMLIMIT is set, nothing changes.
func TestTheSoftMemoryLimitFollowsTheContainers(t *testing.T) {
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	dir := t.TempDir()
	file := func(text string) string {
		p := filepath.Join(dir, "memory.max")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	log := slog.New(slog.DiscardHandler)
	t.Setenv("GOMEMLIMIT", "")

	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory(log, []string{filepath.Join(dir, "absent"), file("134217728\n")})
	if got := debug.SetMemoryLimit(-1); got != 134217728/10*9 {
		t.Errorf("soft limit %d with a 128 MiB container, want 90%%: %d", got, 134217728/10*9)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	limitMemory(log, []string{file("max\n")})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("soft limit %d without a container limit, want none", got)
	}
	t.Setenv("GOMEMLIMIT", "100MiB")
	limitMemory(log, []string{file("134217728\n")})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("soft limit %d although GOMEMLIMIT is set, want GOMEMLIMIT's (left to the runtime)", got)
	}
}
