package service

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// listenPprof serves Go's profiles (CPU, heap, allocations, goroutines) on
// addr, for `go tool pprof` while a service runs under load. A profile
// shows the code and memory of the service, so it is served only on
// loopback, and only when asked for: reach it from elsewhere with
// `kubectl port-forward` or an SSH tunnel. The command line is not served:
// it may hold a setting someone passed as a flag.
func listenPprof(addr string) (net.Listener, *http.Server, error) {
	if !isLoopback(addr) {
		return nil, nil, fmt.Errorf("-pprof-addr %s: profiles are served on loopback only (127.0.0.1:port or [::1]:port)", addr)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("pprof listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return lis, newHTTPServer(mux), nil
}
