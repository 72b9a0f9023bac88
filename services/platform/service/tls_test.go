package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// A service with the TLS files answers only clients that present a
// certificate of its CA, and the runtime's DialPeer presents one.
func TestMutualTLSRefusesClientsWithoutACertificateOfTheCA(t *testing.T) {
	ca, stranger := newTestCA(t, "Lab CA"), newTestCA(t, "Someone else's CA")
	addr := startService(t, Options{TLS: files(t, ca, "router")}, serving)
	clientCert, clientKey := issue(t, ca, testpki.Loopback("client", testpki.Client))
	strangerCert, strangerKey := issue(t, stranger, loopback("stranger"))

	for _, c := range []struct {
		name  string
		creds credentials.TransportCredentials
		ok    bool
	}{
		{"a certificate of the CA", credentials.NewTLS(clientConfig(t, ca, clientCert, clientKey)), true},
		{"no certificate", credentials.NewTLS(clientConfig(t, ca, "", "")), false},
		{"a certificate of another CA", credentials.NewTLS(clientConfig(t, ca, strangerCert, strangerKey)), false},
		{"plain text", plainText, false},
	} {
		err := check(t, addr, c.creds)
		if c.ok != (err == nil) {
			t.Errorf("a client with %s: err = %v, want ok = %v", c.name, err, c.ok)
		}
		if err != nil && status.Code(err) != codes.Unavailable {
			t.Errorf("a client with %s: code %v, want UNAVAILABLE (no connection)", c.name, status.Code(err))
		}
	}

	_, log := newLogBuffer()
	tr, err := newTransport(Options{GRPCAddr: "127.0.0.1:0", TLS: files(t, ca, "ingest")}, log)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := (&Runtime{transport: tr}).DialPeer(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := checkConn(conn); err != nil {
		t.Errorf("DialPeer with the service's files: %v", err)
	}
}

// The gateway's gRPC is a public API: TLS, but no client certificate.
func TestPublicAPINeedsTLSButNoClientCertificate(t *testing.T) {
	ca := newTestCA(t, "Lab CA")
	addr := startService(t, Options{TLS: files(t, ca, "gateway"), PublicAPI: true}, serving)
	if err := check(t, addr, credentials.NewTLS(clientConfig(t, ca, "", ""))); err != nil {
		t.Errorf("a TLS client without a certificate: %v", err)
	}
	if err := check(t, addr, plainText); err == nil {
		t.Error("a plain-text client was answered")
	}
}

// Renewed files are used for the next connection, in both directions,
// without a restart; renewed files that do not make a key pair are not,
// and the service keeps working with the previous ones.
func TestRenewedCertificatesAreUsedWithoutRestart(t *testing.T) {
	ca, next := newTestCA(t, "Lab CA"), newTestCA(t, "Lab CA 2026")
	// Both CAs in the server's file: a CA being replaced.
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	writeFile(t, bundle, append(readFile(t, ca.File), readFile(t, next.File)...))
	server := files(t, ca, "router")
	server.CA = bundle

	var seenMu sync.Mutex
	var seen *big.Int // serial of the last client certificate the server saw
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if p, ok := peer.FromContext(ctx); ok {
			if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
				seenMu.Lock()
				seen = info.State.PeerCertificates[0].SerialNumber
				seenMu.Unlock()
			}
		}
		return handler(ctx, req)
	}
	addr := startService(t, Options{TLS: server, Interceptors: Interceptors{Unary: []grpc.UnaryServerInterceptor{record}}}, serving)

	servedSerial := func() *big.Int {
		t.Helper()
		clientCert, clientKey := issue(t, ca, loopback("probe"))
		c, err := tls.Dial("tcp", addr, clientConfig(t, ca, clientCert, clientKey))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber
	}
	first := servedSerial()
	certPEM, keyPEM := ca.MustSign(t, loopback("router"))
	writeFile(t, server.Cert, certPEM)
	writeFile(t, server.Key, keyPEM)
	renewed, _ := x509.ParseCertificate(mustDecode(t, certPEM))
	if got := servedSerial(); got.Cmp(renewed.SerialNumber) != 0 {
		t.Errorf("after the renewal the server presents serial %v, want the renewed %v (was %v)", got, renewed.SerialNumber, first)
	}

	// A key that is not the certificate's (a renewal written halfway).
	_, otherKey := ca.MustSign(t, loopback("other"))
	writeFile(t, server.Key, otherKey)
	if got := servedSerial(); got.Cmp(renewed.SerialNumber) != 0 {
		t.Errorf("with a mismatched key on disk the server presents serial %v, want the last good %v", got, renewed.SerialNumber)
	}

	// The client side: a peer whose certificate is renewed by the new CA
	// presents the new one on its next connection.
	_, log := newLogBuffer()
	client := files(t, ca, "ingest")
	client.CA = bundle
	tr, err := newTransport(Options{GRPCAddr: "127.0.0.1:0", TLS: client}, log)
	if err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{transport: tr}
	dialAndCheck := func() *big.Int {
		t.Helper()
		conn, err := rt.DialPeer(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := checkConn(conn); err != nil {
			t.Fatal(err)
		}
		seenMu.Lock()
		defer seenMu.Unlock()
		return seen
	}
	before := dialAndCheck()
	certPEM, keyPEM = next.MustSign(t, loopback("ingest"))
	writeFile(t, client.Cert, certPEM)
	writeFile(t, client.Key, keyPEM)
	renewed, _ = x509.ParseCertificate(mustDecode(t, certPEM))
	if got := dialAndCheck(); got.Cmp(renewed.SerialNumber) != 0 {
		t.Errorf("after the client's renewal the server saw serial %v, want the renewed %v (was %v)", got, renewed.SerialNumber, before)
	}
}

// Files that cannot work stop the service at start, with the file and
// what is wrong with it.
func TestBadTLSFilesAreRefusedAtStartSayingWhichAndWhy(t *testing.T) {
	ca, stranger := newTestCA(t, "Lab CA"), newTestCA(t, "Someone else's CA")
	good := files(t, ca, "router")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, []byte("not a certificate\n"))
	expiredCert, expiredKey := issue(t, ca, testpki.Expired(loopback("expired")))
	futureCert, futureKey := issue(t, ca, notYetValid(loopback("future")))
	strangerCert, strangerKey := issue(t, stranger, loopback("stranger"))
	clientOnlyCert, clientOnlyKey := issue(t, ca, testpki.Loopback("client-only", testpki.Client))
	_, otherKey := issue(t, ca, loopback("other"))
	missing := filepath.Join(dir, "missing.pem")

	for _, c := range []struct {
		name  string
		files TLSFiles
		want  []string
	}{
		{"only a certificate", TLSFiles{Cert: good.Cert}, []string{"-grpc-tls-key and -grpc-tls-ca not set"}},
		{"a missing file", TLSFiles{Cert: missing, Key: good.Key, CA: good.CA}, []string{"-grpc-tls-cert", missing, "no such file"}},
		{"cert and key swapped", TLSFiles{Cert: good.Key, Key: good.Cert, CA: good.CA}, []string{"-grpc-tls-cert " + good.Key, "no PEM certificate", "swapped"}},
		{"no key in the key file", TLSFiles{Cert: good.Cert, Key: garbage, CA: good.CA}, []string{"-grpc-tls-key " + garbage, "no PEM private key"}},
		{"the key of another certificate", TLSFiles{Cert: good.Cert, Key: otherKey, CA: good.CA}, []string{otherKey, good.Cert, "do not make a key pair"}},
		{"no certificate in the CA file", TLSFiles{Cert: good.Cert, Key: good.Key, CA: garbage}, []string{"-grpc-tls-ca " + garbage, "no PEM certificate"}},
		{"an expired certificate", TLSFiles{Cert: expiredCert, Key: expiredKey, CA: good.CA}, []string{expiredCert, "expired on"}},
		{"a certificate not valid yet", TLSFiles{Cert: futureCert, Key: futureKey, CA: good.CA}, []string{futureCert, "valid only from"}},
		{"a certificate of another CA", TLSFiles{Cert: strangerCert, Key: strangerKey, CA: good.CA}, []string{strangerCert, "Someone else's CA", "not signed by the CA in -grpc-tls-ca " + good.CA}},
		{"a client-only certificate", TLSFiles{Cert: clientOnlyCert, Key: clientOnlyKey, CA: good.CA}, []string{clientOnlyCert, "lacks serverAuth"}},
	} {
		_, log := newLogBuffer()
		_, err := newTransport(Options{GRPCAddr: "127.0.0.1:0", TLS: c.files}, log)
		if err == nil {
			t.Errorf("%s: started", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}

	_, log := newLogBuffer()
	if _, err := newTransport(Options{GRPCAddr: "127.0.0.1:0", TLS: good, Insecure: true}, log); err == nil || !strings.Contains(err.Error(), "choose") {
		t.Errorf("-grpc-insecure with the TLS files: err = %v, want a refusal", err)
	}

	serverOnlyCert, serverOnlyKey := issue(t, ca, testpki.Loopback("server-only", testpki.Server))
	tr, err := newTransport(Options{GRPCAddr: "127.0.0.1:0", TLS: TLSFiles{Cert: serverOnlyCert, Key: serverOnlyKey, CA: good.CA}}, log)
	if err != nil {
		t.Fatal(err) // it may serve: the publisher calls nobody
	}
	if _, err := (&Runtime{transport: tr}).DialPeer("127.0.0.1:7002"); err == nil || !strings.Contains(err.Error(), "lacks clientAuth") {
		t.Errorf("DialPeer with a server-only certificate: err = %v, want it to say it lacks clientAuth", err)
	}
}

// Without the TLS files gRPC stays on this machine, listening and
// dialling, unless -grpc-insecure says otherwise, and the log says which.
func TestPlainTextGRPCStaysOnLoopback(t *testing.T) {
	for _, c := range []struct {
		addr     string
		insecure bool
		log      string // "" for a refusal
	}{
		{"127.0.0.1:7001", false, "only programs on this machine can connect"},
		{"localhost:7001", false, "only programs on this machine can connect"},
		{"[::1]:7001", false, "only programs on this machine can connect"},
		{":7001", false, ""},
		{"0.0.0.0:7001", false, ""},
		{"10.1.2.3:7001", false, ""},
		{"ingest.nemo.svc:7001", false, ""},
		{":7001", true, "INSECURE: gRPC WITHOUT TLS beyond this machine (-grpc-insecure)"},
	} {
		logs, log := newLogBuffer()
		tr, err := newTransport(Options{GRPCAddr: c.addr, Insecure: c.insecure}, log)
		if c.log == "" {
			if err == nil || !strings.Contains(err.Error(), "-grpc-insecure") || !strings.Contains(err.Error(), "-grpc-tls-cert") {
				t.Errorf("%s without TLS: err = %v, want a refusal naming the TLS flags and -grpc-insecure", c.addr, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s (insecure %v): %v", c.addr, c.insecure, err)
			continue
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), c.log) {
			t.Errorf("%s (insecure %v): log %q, want a warning saying %q", c.addr, c.insecure, logs, c.log)
		}
		rt := &Runtime{transport: tr}
		conn, err := rt.DialPeer("router.nemo.svc:7002")
		if c.insecure != (err == nil) {
			t.Errorf("%s (insecure %v): dialling another machine: err = %v", c.addr, c.insecure, err)
		}
		if err == nil {
			conn.Close()
		}
		if conn, err := rt.DialPeer("localhost:7002"); err != nil {
			t.Errorf("%s: dialling this machine: %v", c.addr, err)
		} else {
			conn.Close()
		}
	}
}

// Reflection lists every method to whoever connects: only on request.
func TestReflectionOnlyWhenAskedFor(t *testing.T) {
	for _, on := range []bool{false, true} {
		addr := startService(t, Options{Reflection: on}, serving)
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(plainText))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err == nil {
			// A Send refused by the server ends in io.EOF; Recv has the status.
			_ = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			_, err = stream.Recv()
		}
		cancel()
		conn.Close()
		if on && err != nil {
			t.Errorf("-grpc-reflection: %v", err)
		}
		if !on && status.Code(err) != codes.Unimplemented {
			t.Errorf("without -grpc-reflection: err = %v, want UNIMPLEMENTED", err)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t *testing.T, certPEM []byte) []byte {
	t.Helper()
	blocks := pemBlocks(certPEM, func(string) bool { return true })
	if len(blocks) == 0 {
		t.Fatal("no PEM block")
	}
	return blocks[0].Bytes
}

// The test PKI in this package's shape: certificates for 127.0.0.1 and
// localhost that serve and call, as a service's do.

func newTestCA(t *testing.T, name string) *testpki.CA {
	t.Helper()
	return testpki.MustNew(t, testpki.CAOptions{CommonName: name})
}

func loopback(name string) testpki.Spec { return testpki.Loopback(name, testpki.ServerAndClient) }

func notYetValid(s testpki.Spec) testpki.Spec {
	s.NotBefore, s.NotAfter = time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour)
	return s
}

// issue writes <name>.pem and <name>.key into the CA's directory.
func issue(t *testing.T, ca *testpki.CA, s testpki.Spec) (certFile, keyFile string) {
	t.Helper()
	c := ca.MustIssue(t, s)
	return c.CertFile, c.KeyFile
}

// files are a service's TLS files with a certificate of ca.
func files(t *testing.T, ca *testpki.CA, name string) TLSFiles {
	t.Helper()
	cert, key := issue(t, ca, loopback(name))
	return TLSFiles{Cert: cert, Key: key, CA: ca.File}
}

// clientConfig is a TLS client configuration trusting ca, with the
// certificate of certFile and keyFile if given.
func clientConfig(t *testing.T, ca *testpki.CA, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		// Presented whatever CAs the server names (Go would send none
		// that the server's CAs did not sign), as a client trying its
		// luck would.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return cfg
}

// writeFile replaces path at once, as a renewal does.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := testpki.WriteFile(path, data); err != nil {
		t.Fatal(err)
	}
}
