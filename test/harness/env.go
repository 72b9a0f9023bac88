// Package harness runs the bridge on real components for tests and the
// benchmark: redis-server and mosquitto (with TLS certificates it makes) on
// free loopback ports in a temporary directory, and the services as
// separate processes built from this tree. It never touches servers already
// running on the machine.
package harness

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Env owns everything started for one test or run; Close stops it all, the
// last started first.
type Env struct {
	Dir   string
	mu    sync.Mutex
	stops []func()
	logs  []string
}

// NewEnv keeps its files (configurations, logs, certificates) in dir.
func NewEnv(dir string) *Env { return &Env{Dir: dir} }

func (e *Env) onClose(stop func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stops = append(e.stops, stop)
}

func (e *Env) addLog(path string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, path)
}

// Close stops every process started in the environment.
func (e *Env) Close() {
	e.mu.Lock()
	stops := e.stops
	e.stops = nil
	e.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
}

// LogTails returns the last lines of every log, for a failing test's
// report.
func (e *Env) LogTails(lines int) string {
	e.mu.Lock()
	logs := append([]string(nil), e.logs...)
	e.mu.Unlock()
	var b strings.Builder
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "---- %s (last %d lines)\n%s\n", filepath.Base(path), lines, strings.Join(all[max(0, len(all)-lines):], "\n"))
	}
	return b.String()
}

// WaitTCP waits until something accepts connections on addr.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %s", addr, timeout)
}
