package harness

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// PKI is a CA made for one test, with a server certificate for 127.0.0.1
// and localhost and a client certificate, as PEM files in a directory of
// its own under the Env's (keys 0600: mosquitto runs as root here). Two
// PKIs of one environment are strangers to each other, which is how a test
// gets a "wrong CA".
type PKI struct {
	Dir                           string
	CAFile                        string
	CertFile, KeyFile             string // the server's
	ClientCertFile, ClientKeyFile string
	CA                            *x509.Certificate

	ca *testpki.CA
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
	ca, err := testpki.New(testpki.CAOptions{Dir: dir, CommonName: "Test Lab Root CA " + filepath.Base(dir), Organization: "Cleanroom"})
	if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir, CAFile: ca.File, CA: ca.Cert, ca: ca}
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
	s := testpki.Spec{Name: spec.Name, CommonName: spec.CommonName, IPs: spec.IPs, DNSNames: spec.DNSNames, Usage: testpki.Server}
	switch {
	case spec.ServerAndClient:
		s.Usage = testpki.ServerAndClient
	case spec.Client:
		s.Usage = testpki.Client
	}
	if spec.Expired {
		s = testpki.Expired(s)
	}
	c, err := p.ca.Issue(s)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{CertFile: c.CertFile, KeyFile: c.KeyFile}, nil
}

// Pool holds the CA, for clients that must trust the broker.
func (p *PKI) Pool() *x509.CertPool { return p.ca.Pool() }
