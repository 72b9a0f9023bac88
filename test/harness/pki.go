package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// PKI is a CA made for one test, with a server certificate for 127.0.0.1
// and localhost and a client certificate, as PEM files in a directory of
// its own. Two PKIs of one environment are strangers to each other, which
// is how a test gets a "wrong CA".
type PKI struct {
	Dir                           string
	CAFile                        string
	CertFile, KeyFile             string // the server's
	ClientCertFile, ClientKeyFile string
	CA                            *x509.Certificate

	caKey  *ecdsa.PrivateKey
	serial atomic.Int64
}

// CertSpec says what certificate Issue makes.
type CertSpec struct {
	// Name names the files: <Name>.pem and <Name>.key.
	Name string
	// CommonName, IPs and DNSNames are the subject; for a server, what the
	// client checks the address it dialled against.
	CommonName string
	IPs        []net.IP
	DNSNames   []string
	// Client makes a client certificate instead of a server one.
	Client bool
	// ServerAndClient makes a certificate for both, as a service of the
	// bridge has: it serves its neighbours and calls them.
	ServerAndClient bool
	// Expired makes a certificate whose validity ended yesterday.
	Expired bool
}

// KeyPair names the PEM files of a certificate and its key.
type KeyPair struct{ CertFile, KeyFile string }

// LoopbackServer is the subject of the broker's usual certificate.
func LoopbackServer(name string) CertSpec {
	return CertSpec{Name: name, CommonName: "127.0.0.1", IPs: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
}

// NewPKI makes the CA, the server and the client certificates.
func (e *Env) NewPKI() (*PKI, error) {
	dir, err := os.MkdirTemp(e.Dir, "pki-")
	if err != nil {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test Lab Root CA " + filepath.Base(dir), Organization: []string{"Cleanroom"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir, CAFile: filepath.Join(dir, "ca.pem"), CA: ca, caKey: caKey}
	p.serial.Store(1)
	if err := writePEM(p.CAFile, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	server, err := p.Issue(LoopbackServer("server"))
	if err != nil {
		return nil, err
	}
	client, err := p.Issue(CertSpec{Name: "client", CommonName: "nemo-bridge", Client: true})
	if err != nil {
		return nil, err
	}
	p.CertFile, p.KeyFile = server.CertFile, server.KeyFile
	p.ClientCertFile, p.ClientKeyFile = client.CertFile, client.KeyFile
	return p, nil
}

// Issue signs a certificate with the CA, for the variants TLS tests need:
// a server certificate for the wrong name, an expired one, more clients.
func (p *PKI) Issue(spec CertSpec) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if spec.Expired {
		notBefore, notAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	usages := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	switch {
	case spec.ServerAndClient:
		usages = append(usages, x509.ExtKeyUsageClientAuth)
	case spec.Client:
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial.Add(1)),
		Subject:      pkix.Name{CommonName: spec.CommonName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usages,
		IPAddresses:  spec.IPs,
		DNSNames:     spec.DNSNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.caKey)
	if err != nil {
		return KeyPair{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	kp := KeyPair{CertFile: filepath.Join(p.Dir, spec.Name+".pem"), KeyFile: filepath.Join(p.Dir, spec.Name+".key")}
	if err := writePEM(kp.CertFile, "CERTIFICATE", der); err != nil {
		return KeyPair{}, err
	}
	return kp, writePEM(kp.KeyFile, "EC PRIVATE KEY", keyDER)
}

func writePEM(path, blockType string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600)
}

// Pool holds the CA, for clients that must trust the broker.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}
