package tlsdiag

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// authority is a CA made for one test.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate as PEM, for -mqtt-ca-file
}

// leaf is a server or client certificate signed by an authority, with its
// PEM files for mosquitto and -mqtt-cert-file / -mqtt-key-file.
type leaf struct {
	pair     tls.Certificate
	certFile string
	keyFile  string
}

func newAuthority(t *testing.T, commonName, org string) *authority {
	t.Helper()
	return newAuthorityValid(t, commonName, org, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

func newAuthorityValid(t *testing.T, commonName, org string, notBefore, notAfter time.Time) *authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{org}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: cert, key: key, file: writePEM(t, commonName+"-ca.pem", "CERTIFICATE", der)}
}

// leafSpec says what a leaf certificate carries; zero dates mean valid now.
type leafSpec struct {
	name      string
	dnsNames  []string
	ips       []net.IP
	client    bool
	notBefore time.Time
	notAfter  time.Time
}

func (a *authority) issue(t *testing.T, s leafSpec) leaf {
	t.Helper()
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(24 * time.Hour)
	}
	usage := x509.ExtKeyUsageServerAuth
	if s.client {
		usage = x509.ExtKeyUsageClientAuth
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: s.name},
		DNSNames:     s.dnsNames,
		IPAddresses:  s.ips,
		NotBefore:    s.notBefore,
		NotAfter:     s.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := leaf{
		certFile: writePEM(t, s.name+".pem", "CERTIFICATE", der),
		keyFile:  writePEM(t, s.name+"-key.pem", "PRIVATE KEY", keyDER),
	}
	if l.pair, err = tls.LoadX509KeyPair(l.certFile, l.keyFile); err != nil {
		t.Fatal(err)
	}
	return l
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// writePEM writes a PEM file into a directory of the test's own, which
// the test removes when it ends.
func writePEM(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pool trusts just this authority, as -mqtt-ca-file pointing at it does.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// loopbackBroker is a server certificate valid for the test servers.
func loopbackBroker(name string) leafSpec {
	return leafSpec{name: name, dnsNames: []string{"localhost"}, ips: []net.IP{net.IPv4(127, 0, 0, 1)}}
}

// Fixed dates, so that the messages the tests expect are fixed too.
var (
	lastYear = time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	expiry   = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	someday  = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
)
