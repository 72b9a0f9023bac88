package service

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve runs newHTTPServer with h on a loopback port.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Close() })
	return lis.Addr().String()
}

func TestHTTPRefusesHeadersPastTheLimitWith431(t *testing.T) {
	t.Parallel()
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("X-Big", strings.Repeat("a", maxHeaderBytes+8<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("headers of %d KiB: %d, want 431", (maxHeaderBytes+8<<10)>>10, resp.StatusCode)
	}
}

// A handler reading a body past the limit learns it as *http.MaxBytesError,
// which carries the limit for its answer.
func TestHTTPCutsBodiesAtTheLimit(t *testing.T) {
	t.Parallel()
	var limit int64
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			limit = tooLarge.Limit
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		}
	}))
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader(strings.Repeat(" ", 2<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || limit != maxRequestBytes {
		t.Fatalf("a 2 MiB body: %d, limit %d; want the handler to see the %d-byte limit", resp.StatusCode, limit, maxRequestBytes)
	}
}

// A slowloris sends its headers a line at a time, each in time to keep
// the connection alive; the server cuts it once readHeaderTimeout has
// passed, answering nothing.
func TestHTTPCutsAClientThatTricklesItsHeaders(t *testing.T) {
	t.Parallel()
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("served\n"))
	}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	if _, err := fmt.Fprint(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	cut := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(conn).ReadString('\n')
		cut <- err
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(readHeaderTimeout + 5*time.Second)
	for i := 0; ; i++ {
		select {
		case err := <-cut:
			took := time.Since(began)
			if err == nil {
				t.Fatal("the server answered headers that never ended")
			}
			if took < readHeaderTimeout-time.Second || took > readHeaderTimeout+3*time.Second {
				t.Fatalf("cut after %v, want about %v", took, readHeaderTimeout)
			}
			return
		case <-tick.C:
			// Writes may fail once the server closed; the read says so.
			_, _ = fmt.Fprintf(conn, "X-Trickle-%d: a\r\n", i)
		case <-giveUp:
			t.Fatalf("still connected after %v of trickled headers", time.Since(began))
		}
	}
}
