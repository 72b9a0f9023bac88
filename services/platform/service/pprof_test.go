package service

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Profiles show a service's code and memory: they are refused anywhere but
// on loopback, with words that say so.
func TestProfilesAreServedOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":6060", "0.0.0.0:6060", "192.168.1.5:6060", "pprof.example:6060"} {
		if _, _, err := listenPprof(addr); err == nil || !strings.Contains(err.Error(), "loopback only") {
			t.Errorf("-pprof-addr %s: %v, want a refusal that names loopback", addr, err)
		}
	}
	lis, srv, err := listenPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Close() })
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + lis.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/allocs?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("allocs: %d %.80q", code, body)
	}
	if code, _ := get("/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Errorf("cmdline: %d, want 404: the command line may hold a secret", code)
	}
}
