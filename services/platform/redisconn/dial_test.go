package redisconn

import (
	"context"
	"crypto/tls"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// tlsRedis runs a redis-server that speaks TLS only, with a certificate
// for localhost and 127.0.0.1 from ca, and returns its port.
func tlsRedis(t *testing.T, ca *testpki.CA) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed (apt-get install redis-server)")
	}
	cert := ca.MustIssue(t, testpki.Loopback("redis", testpki.Server))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	cmd := exec.Command(bin, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1", "127.0.0.2",
		"--tls-cert-file", cert.CertFile, "--tls-key-file", cert.KeyFile, "--tls-ca-cert-file", ca.File,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return port
}

func TestTLSConnectionsCheckTheNameTheURLGives(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{Dir: t.TempDir(), CommonName: "test CA"})
	port := tlsRedis(t, ca)
	client := func(host string) redis.UniversalClient {
		c := FromOptions(&redis.Options{Addr: net.JoinHostPort(host, strconv.Itoa(port)), TLSConfig: &tls.Config{RootCAs: ca.Pool()}, MaxRetries: -1})
		rdb := c.Client()
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	ctx := context.Background()
	good := client("localhost")
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = good.Set(ctx, "k", "v", 0).Err(); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("a client of rediss://localhost: %v", err)
	}
	if v, err := good.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET k = %q, %v", v, err)
	}
	// The certificate names localhost and 127.0.0.1, not this name: the
	// server's name comes from the address, as go-redis's own dialer has it.
	err = client("127.0.0.2").Ping(ctx).Err()
	if err == nil || !strings.Contains(err.Error(), "certificate is valid for") {
		t.Fatalf("a client of rediss://127.0.0.2: %v; want the certificate's names refused", err)
	}
}
