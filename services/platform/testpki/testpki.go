// Package testpki is for tests only: certificates for throwaway brokers and
// services.
//
// A CA writes its certificate and every certificate it issues as PEM files
// into a directory of its own; keys are written 0600. Certificates are
// ECDSA P-256, valid from an hour ago to a day from now unless a test asks
// for other dates (expired, not yet valid, a CA that expired on a date a
// message names). Two CAs are strangers to each other, even with the same
// subject, which is how a test gets a "wrong CA" or a CA "made anew".
//
// Every function returns an error, for programs (the e2e harness, soak and
// bench runners); the Must* forms fail a test instead.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CAOptions say what CA New makes.
type CAOptions struct {
	// Dir is where the CA writes its files; it must exist.
	Dir string
	// File names the CA certificate's file in Dir: "ca.pem" if empty.
	File string
	// CommonName and Organization are the CA's subject.
	CommonName   string
	Organization string
	// NotBefore and NotAfter bound the CA's validity; zero means an hour
	// ago and a day from now.
	NotBefore, NotAfter time.Time
}

// CA is a certificate authority made for one test.
type CA struct {
	Dir  string            // where the files go
	File string            // the CA certificate as PEM, for a "CA file" flag
	Cert *x509.Certificate // the CA certificate
	PEM  []byte            // the CA certificate as PEM

	key *ecdsa.PrivateKey
}

// Usage is what a certificate may be used for.
type Usage int

const (
	Server          Usage = iota // serverAuth only
	Client                       // clientAuth only
	ServerAndClient              // both, as a service that serves and calls has
)

// Spec says what certificate Issue makes.
type Spec struct {
	// Name names the files, <Name>.pem and <Name>.key, and is the
	// subject's common name when CommonName is empty.
	Name       string
	CommonName string
	// DNSNames and IPs are the subject alternative names: for a server,
	// what a client checks the address it dialled against.
	DNSNames []string
	IPs      []net.IP
	Usage    Usage
	// NotBefore and NotAfter bound the validity; a zero one means an hour
	// ago or a day from now.
	NotBefore, NotAfter time.Time
}

// Loopback is a certificate for 127.0.0.1 and localhost, named name.
func Loopback(name string, u Usage) Spec {
	return Spec{Name: name, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Usage: u}
}

// Expired makes s a certificate whose validity ended a day ago.
func Expired(s Spec) Spec {
	s.NotBefore, s.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	return s
}

// Cert is an issued certificate with its key, in memory and on disk.
type Cert struct {
	CertFile, KeyFile string
	CertPEM, KeyPEM   []byte
	Cert              *x509.Certificate
	Pair              tls.Certificate
}

// New makes a CA and writes its certificate into o.Dir.
func New(o CAOptions) (*CA, error) {
	if o.Dir == "" {
		return nil, errors.New("testpki: no directory for the CA's files")
	}
	if o.File == "" {
		o.File = "ca.pem"
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	subject := pkix.Name{CommonName: o.CommonName}
	if o.Organization != "" {
		subject.Organization = []string{o.Organization}
	}
	notBefore, notAfter := validity(o.NotBefore, o.NotAfter)
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testpki: CA %q: %w", o.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Dir: o.Dir, File: filepath.Join(o.Dir, o.File), Cert: cert, PEM: PEM("CERTIFICATE", der), key: key}
	if err := WriteFile(ca.File, ca.PEM); err != nil {
		return nil, err
	}
	return ca, nil
}

// Sign makes a certificate and its key as PEM, writing nothing: for a test
// that writes them itself, as a renewal would.
func (ca *CA) Sign(s Spec) (certPEM, keyPEM []byte, err error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	usages := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	switch s.Usage {
	case Client:
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case ServerAndClient:
		usages = append(usages, x509.ExtKeyUsageClientAuth)
	}
	cn := s.CommonName
	if cn == "" {
		cn = s.Name
	}
	notBefore, notAfter := validity(s.NotBefore, s.NotAfter)
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     s.DNSNames,
		IPAddresses:  s.IPs,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usages,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("testpki: certificate %q: %w", s.Name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return PEM("CERTIFICATE", der), PEM("PRIVATE KEY", keyDER), nil
}

// Issue makes a certificate and writes <Name>.pem and <Name>.key into the
// CA's directory, replacing any of that name.
func (ca *CA) Issue(s Spec) (*Cert, error) {
	if s.Name == "" {
		return nil, errors.New("testpki: a certificate needs a Name for its files")
	}
	certPEM, keyPEM, err := ca.Sign(s)
	if err != nil {
		return nil, err
	}
	c := &Cert{
		CertFile: filepath.Join(ca.Dir, s.Name+".pem"),
		KeyFile:  filepath.Join(ca.Dir, s.Name+".key"),
		CertPEM:  certPEM,
		KeyPEM:   keyPEM,
	}
	if c.Pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	if c.Cert = c.Pair.Leaf; c.Cert == nil {
		if c.Cert, err = x509.ParseCertificate(c.Pair.Certificate[0]); err != nil {
			return nil, err
		}
	}
	if err := WriteFile(c.CertFile, certPEM); err != nil {
		return nil, err
	}
	return c, WriteFile(c.KeyFile, keyPEM)
}

// Pool trusts just this CA, as a CA file holding it does.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// PEM encodes one block.
func PEM(blockType string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
}

// WriteFile replaces path at once, mode 0600, as a renewal does (a
// Kubernetes secret swaps a symlink; cert-manager writes whole files).
func WriteFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// TB is the part of testing.TB the Must forms use.
type TB interface {
	Helper()
	Fatal(args ...any)
	TempDir() string
}

// MustNew is New failing t; an empty o.Dir is a new t.TempDir().
func MustNew(t TB, o CAOptions) *CA {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	ca, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// MustIssue is Issue failing t.
func (ca *CA) MustIssue(t TB, s Spec) *Cert {
	t.Helper()
	c, err := ca.Issue(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// MustSign is Sign failing t.
func (ca *CA) MustSign(t TB, s Spec) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.Sign(s)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func validity(notBefore, notAfter time.Time) (time.Time, time.Time) {
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	return notBefore, notAfter
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// newSerial is random, so that two CAs of one subject (a CA made anew) do
// not issue look-alike certificates.
func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, big.NewInt(1<<62))
}
