package harness

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/cpushare"
)

// Service is one of the bridge's processes with its addresses.
type Service struct {
	*Process
	GRPCAddr, HTTPAddr string
}

// StartService runs binDir/name on free ports with args added.
func (e *Env) StartService(binDir, name string, args ...string) (*Service, error) {
	return e.StartServiceAs(name, binDir, name, args...)
}

// StartServiceAs runs binDir/binary under another name (its log's name),
// for two instances of one service.
func (e *Env) StartServiceAs(name, binDir, binary string, args ...string) (*Service, error) {
	var addrs [2]string
	for i := range addrs {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addrs[i] = "127.0.0.1:" + strconv.Itoa(port)
	}
	all := append([]string{"-grpc-addr", addrs[0], "-http-addr", addrs[1], "-log-format", "text", "-shutdown-timeout", "5s"}, args...)
	// The services share this machine's cores as make run's do.
	p, err := e.start(&Process{Name: name, bin: filepath.Join(binDir, binary), args: all, environ: cpushare.Env(os.Environ())})
	if err != nil {
		return nil, err
	}
	return &Service{Process: p, GRPCAddr: addrs[0], HTTPAddr: addrs[1]}, nil
}

// WaitReady waits until /readyz answers 200.
func (s *Service) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + s.HTTPAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s", s.Name, timeout)
}

// Metric reads one sample from /metrics, e.g.
// `nemo_ingest_in_flight` or `nemo_ingest_dead_letters_total{code="not_json"}`.
func (s *Service) Metric(sample string) (float64, error) {
	resp, err := http.Get("http://" + s.HTTPAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, nil // a counter not yet incremented is not exported
}
