package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// profiler takes Go profiles of the services during the drain (-profile
// DIR): each service runs with -pprof-addr on a loopback port of its own.
type profiler struct {
	dir   string
	addrs map[string]string // service name → pprof address
	cpu   sync.WaitGroup
}

func newProfiler(dir string) (*profiler, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &profiler{dir: dir, addrs: map[string]string{}}, nil
}

// flags are the flags that make service name serve its profiles.
func (p *profiler) flags(name string) ([]string, error) {
	if p == nil {
		return nil, nil
	}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	p.addrs[name] = fmt.Sprintf("127.0.0.1:%d", port)
	return []string{"-pprof-addr", p.addrs[name]}, nil
}

// startCPU starts a CPU profile of every service for d, in the background.
func (p *profiler) startCPU(d time.Duration) {
	if p == nil {
		return
	}
	for name, addr := range p.addrs {
		p.cpu.Add(1)
		go func() {
			defer p.cpu.Done()
			_ = harness.WaitTCP(addr, 5*time.Second) // ingest starts with the drain
			p.fetch(name+".cpu.pprof", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), d+10*time.Second)
		}()
	}
}

// finish waits for the CPU profiles and takes each service's allocation
// profile (everything allocated since it started).
func (p *profiler) finish() {
	if p == nil {
		return
	}
	p.cpu.Wait()
	for name, addr := range p.addrs {
		p.fetch(name+".allocs.pprof", "http://"+addr+"/debug/pprof/allocs", 10*time.Second)
	}
	fmt.Printf("  profiles in %s: go tool pprof -top bin/<service> %s/<service>.cpu.pprof (or .allocs.pprof -sample_index=alloc_objects)\n", p.dir, p.dir)
}

func (p *profiler) fetch(file, url string, timeout time.Duration) {
	client := http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Printf("  profile %s: %v\n", file, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Printf("  profile %s: %s\n", file, resp.Status)
		return
	}
	out, err := os.Create(filepath.Join(p.dir, file))
	if err == nil {
		_, err = io.Copy(out, resp.Body)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Printf("  profile %s: %v\n", file, err)
	}
}
