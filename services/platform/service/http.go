package service

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The limits of one HTTP request.
const (
	maxRequestBytes = 1 << 20
	maxHeaderBytes  = 64 << 10
)

// The HTTP server's timeouts, so that a client that sends or reads slowly
// (a slowloris trickling its headers, a stalled connection) cannot hold
// connections open without end.
const (
	// readHeaderTimeout is all a client gets to send its headers.
	readHeaderTimeout = 5 * time.Second
	// readTimeout bounds reading a whole request, a body of
	// maxRequestBytes included, even over a slow link.
	readTimeout = 30 * time.Second
	// writeTimeout bounds a whole answer, from the end of the request's
	// headers. A stream that outlives it (the gateway's live feed) sets
	// its own deadlines with http.ResponseController.
	writeTimeout = time.Minute
	// idleTimeout closes a kept-alive connection nobody uses.
	idleTimeout = 2 * time.Minute
)

// newHTTPServer serves h on the metrics, probes and (for the gateway) REST
// port, within the limits above.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		// Every body is cut at maxRequestBytes, so that no request can
		// make a service buffer without bound; the largest legitimate
		// body, a dry run of one event, is far below it. A handler that
		// reads past it gets an *http.MaxBytesError (the gateway answers
		// 413); headers past maxHeaderBytes are answered 431 by net/http.
		Handler:           http.MaxBytesHandler(h, maxRequestBytes),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
	}
}

func probeMux(rt *Runtime) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(rt.Metrics, promhttp.HandlerOpts{Registry: rt.Metrics}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !rt.serving() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
