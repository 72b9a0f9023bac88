package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The production setting: the services talk gRPC with mutual TLS. Events
// flow and the gateway sees every hop; each service refuses a client
// without a certificate of the CA (none, or another CA's, or plain
// text), the gateway's public gRPC wants TLS but no certificate, and a
// certificate renewed on disk is in use for the next connection, without
// a restart.
func TestMutualTLSBetweenTheServices(t *testing.T) {
	t.Parallel()
	const tools, perTool = 5, 20
	p := startPipeline(t, harness.PipelineOptions{MutualTLS: true})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(harness.Events(tools*perTool, tools, 0))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 30*time.Second)
	nothingPending(t, p)
	eventually(t, 30*time.Second, func() error {
		var health struct {
			Healthy bool
			Summary string
		}
		if code := getJSON(t, "http://"+gw.HTTPAddr+"/v1/health", &health); code != 200 || !health.Healthy {
			return fmt.Errorf("the gateway, asking every hop over mutual TLS: %d %+v", code, health)
		}
		return nil
	})

	stranger, err := p.Env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	withCert := func(certFile, keyFile string) credentials.TransportCredentials {
		t.Helper()
		cfg := &tls.Config{RootCAs: p.PKI.Pool()}
		if certFile != "" {
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			// Presented whatever CAs the server names, as a client
			// trying its luck would.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		}
		return credentials.NewTLS(cfg)
	}
	clients := []struct {
		name  string
		creds credentials.TransportCredentials
	}{
		{"a certificate of the CA", withCert(p.PKI.ClientCertFile, p.PKI.ClientKeyFile)},
		{"no certificate", withCert("", "")},
		{"a certificate of another CA", withCert(stranger.ClientCertFile, stranger.ClientKeyFile)},
		{"plain text", insecure.NewCredentials()},
	}
	for _, s := range []*harness.Service{p.Ingest, p.Router, p.Publisher, gw} {
		for i, c := range clients {
			err := healthCheck(t, s.GRPCAddr, c.creds)
			// Only a certificate of the CA is let in, except on the
			// gateway's public API, where TLS is enough.
			wantOK := i == 0 || (s == gw && c.name != "plain text")
			if wantOK != (err == nil) {
				t.Errorf("%s, a client with %s: err = %v, want ok = %v", s.Name, c.name, err, wantOK)
			}
		}
	}

	// cert-manager renews the router's certificate in place.
	flags, err := p.ServiceTLSFlags("router")
	if err != nil {
		t.Fatal(err)
	}
	renewed := serialOf(t, flags[1])
	if got := servedSerial(t, p); got.Cmp(renewed) != 0 {
		t.Errorf("after the renewal the router presents certificate %d, want the renewed %d", got, renewed)
	}
	if err := healthCheck(t, p.Router.GRPCAddr, withCert(p.PKI.ClientCertFile, p.PKI.ClientKeyFile)); err != nil {
		t.Errorf("the router with its renewed certificate: %v", err)
	}
}

// healthCheck asks addr's health service over a new connection.
func healthCheck(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(c, &healthpb.HealthCheckRequest{})
	return err
}

// servedSerial is the serial number of the certificate the router presents
// to a new connection.
func servedSerial(t *testing.T, p *harness.Pipeline) *big.Int {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(p.PKI.ClientCertFile, p.PKI.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", p.Router.GRPCAddr, &tls.Config{RootCAs: p.PKI.Pool(), Certificates: []tls.Certificate{pair}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

func serialOf(t *testing.T, certFile string) *big.Int {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber
}
