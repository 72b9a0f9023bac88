package service

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// Certificates are renewed while the services run: cert-manager replaces
// the files of a Kubernetes secret (by swapping its ..data symlink) well
// before the old ones expire. So the files are read again at every TLS
// handshake, in both directions, and a renewal is in use for the next
// connection, without a restart. Connections already up keep the
// certificates they were made with: TLS checks certificates only at the
// handshake, so they stay valid. Handshakes are rare (the hops keep
// long-lived connections), and reading three small files is cheap next to
// the handshake itself.
//
// This is the idea of the publisher's watch of the broker's certificate
// (mqttsession/reload.go): the new files are used only once they make a
// usable configuration; renewed files that do not (written halfway, a key
// that is not the certificate's, an expired certificate) are reported and
// the previous ones stay in use, since an outage of every hop is worse
// than a certificate used a little longer.

// complete says which of the three files is missing: mutual TLS needs all.
func (f TLSFiles) complete() error {
	var missing []string
	for _, flag := range []struct{ name, value string }{{"-grpc-tls-cert", f.Cert}, {"-grpc-tls-key", f.Key}, {"-grpc-tls-ca", f.CA}} {
		if flag.value == "" {
			missing = append(missing, flag.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("gRPC TLS needs -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca together: %s not set", strings.Join(missing, " and "))
	}
	return nil
}

func (f TLSFiles) any() bool { return f.Cert != "" || f.Key != "" || f.CA != "" }

// tlsMaterial is one reading of the files, checked, as credentials.
type tlsMaterial struct {
	sum            [sha256.Size]byte
	leaf           *x509.Certificate
	server, client credentials.TransportCredentials
}

// tlsSource hands out the material of the files as they are now.
type tlsSource struct {
	files      TLSFiles
	clientAuth tls.ClientAuthType
	log        *slog.Logger

	mu       sync.Mutex
	cur      *tlsMaterial
	reported string // the problem of renewed files last logged, logged once
}

// newTLSSource reads the files; an error says which file and what is wrong.
func newTLSSource(files TLSFiles, clientAuth tls.ClientAuthType, log *slog.Logger) (*tlsSource, error) {
	s := &tlsSource{files: files, clientAuth: clientAuth, log: log}
	pems, sum, err := s.read()
	if err != nil {
		return nil, err
	}
	if s.cur, err = s.parse(pems, sum, time.Now()); err != nil {
		return nil, err
	}
	return s, nil
}

// current is the material of the files as they are now, or the previous
// material while renewed files cannot be used.
func (s *tlsSource) current() *tlsMaterial {
	s.mu.Lock()
	defer s.mu.Unlock()
	pems, sum, err := s.read()
	if err == nil {
		if sum == s.cur.sum {
			return s.cur
		}
		var m *tlsMaterial
		if m, err = s.parse(pems, sum, time.Now()); err == nil {
			s.cur, s.reported = m, ""
			s.log.Info("gRPC TLS files renewed; new connections use them",
				"cert_file", s.files.Cert, "subject", m.leaf.Subject.String(), "expires", m.leaf.NotAfter.UTC().Format(time.RFC3339))
			return m
		}
	}
	if problem := err.Error(); problem != s.reported {
		s.reported = problem
		s.log.Warn("gRPC TLS files changed, but the new ones cannot be used; new connections keep the previous ones until they are fixed",
			"problem", problem)
	}
	return s.cur
}

// last is the material in use, without looking at the files.
func (s *tlsSource) last() *tlsMaterial {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// read reads the three files and sums them, to see whether they changed.
func (s *tlsSource) read() (pems [3][]byte, sum [sha256.Size]byte, err error) {
	h := sha256.New()
	for i, f := range []struct{ flag, path string }{{"-grpc-tls-cert", s.files.Cert}, {"-grpc-tls-key", s.files.Key}, {"-grpc-tls-ca", s.files.CA}} {
		if pems[i], err = os.ReadFile(f.path); err != nil {
			return pems, sum, fmt.Errorf("%s: %w", f.flag, err)
		}
		inner := sha256.Sum256(pems[i])
		h.Write(inner[:])
	}
	copy(sum[:], h.Sum(nil))
	return pems, sum, nil
}

// parse checks the files as far as can be known without a peer: the key
// is the certificate's, the certificate is within its dates, may serve
// TLS, and is signed by the CA, which the peers trust too (a certificate
// it did not sign would be refused by every peer).
func (s *tlsSource) parse(pems [3][]byte, sum [sha256.Size]byte, now time.Time) (*tlsMaterial, error) {
	certPEM, keyPEM, caPEM := pems[0], pems[1], pems[2]
	f := s.files
	pool, err := caPool(f.CA, caPEM)
	if err != nil {
		return nil, err
	}
	chain := pemBlocks(certPEM, func(t string) bool { return t == "CERTIFICATE" })
	if len(chain) == 0 {
		hint := ""
		if len(pemBlocks(certPEM, isKeyBlock)) > 0 {
			hint = " (it holds a private key: are -grpc-tls-cert and -grpc-tls-key swapped?)"
		}
		return nil, fmt.Errorf("-grpc-tls-cert %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)%s", f.Cert, hint)
	}
	if len(pemBlocks(keyPEM, isKeyBlock)) == 0 {
		return nil, fmt.Errorf("-grpc-tls-key %s holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)", f.Key)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("-grpc-tls-key %s and -grpc-tls-cert %s do not make a key pair: %w", f.Key, f.Cert, err)
	}
	leaf := cert.Leaf
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("-grpc-tls-cert %s expired on %s", f.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("-grpc-tls-cert %s is valid only from %s on, and this machine's clock says %s",
			f.Cert, leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case !allowsUsage(leaf, x509.ExtKeyUsageServerAuth):
		return nil, fmt.Errorf("-grpc-tls-cert %s may not serve TLS: its extended key usage lacks serverAuth (a service's certificate needs serverAuth, and clientAuth to call other services)", f.Cert)
	}
	intermediates := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			intermediates.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("-grpc-tls-cert %s (issued by %q) is not signed by the CA in -grpc-tls-ca %s, so the other services would refuse it: %w",
			f.Cert, leaf.Issuer.String(), f.CA, err)
	}
	return &tlsMaterial{
		sum:  sum,
		leaf: leaf,
		server: credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   s.clientAuth,
			ClientCAs:    pool,
		}),
		// The server name to check is the host of the address dialled,
		// which grpc sets at each handshake.
		client: credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}),
	}, nil
}

// caPool reads every certificate of the CA file: a bundle with the old
// and the new CA while a CA is being replaced.
func caPool(path string, data []byte) (*x509.CertPool, error) {
	blocks := pemBlocks(data, func(t string) bool { return t == "CERTIFICATE" })
	if len(blocks) == 0 {
		return nil, fmt.Errorf("-grpc-tls-ca %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	pool := x509.NewCertPool()
	for i, b := range blocks {
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("-grpc-tls-ca %s: certificate %d of %d: %w", path, i+1, len(blocks), err)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

func pemBlocks(data []byte, keep func(blockType string) bool) []*pem.Block {
	var out []*pem.Block
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out
		}
		if keep(b.Type) {
			out = append(out, b)
		}
	}
}

func isKeyBlock(t string) bool { return strings.HasSuffix(t, "PRIVATE KEY") }

// allowsUsage reports whether a peer checking for usage accepts cert; a
// certificate that names no extended usage may be used for any.
func allowsUsage(cert *x509.Certificate, usage x509.ExtKeyUsage) bool {
	return len(cert.ExtKeyUsage) == 0 || slices.Contains(cert.ExtKeyUsage, usage) || slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny)
}

// reloadingCreds are gRPC's TLS credentials made from the files as they
// are at each handshake.
type reloadingCreds struct {
	src    *tlsSource
	server bool
}

func (c reloadingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.src.current().client.ClientHandshake(ctx, authority, raw)
}

// ServerHandshake logs the connections it refuses: a client without a
// certificate of the CA is a peer to fix, or someone who should not be
// there. A connection closed before saying anything (a TCP check) is not
// worth a line.
func (c reloadingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.src.current().server.ServerHandshake(raw)
	if err != nil && !errors.Is(err, io.EOF) {
		c.src.log.Warn("refused a gRPC connection: its TLS handshake failed", "from", raw.RemoteAddr().String(), "err", err)
	}
	return conn, info, err
}

func (c reloadingCreds) Info() credentials.ProtocolInfo {
	if c.server {
		return c.src.last().server.Info()
	}
	return c.src.last().client.Info()
}

// Clone shares the source: the credentials hold no state of their own.
func (c reloadingCreds) Clone() credentials.TransportCredentials { return c }

// OverrideServerName is not supported: grpc.WithAuthority sets the name.
func (c reloadingCreds) OverrideServerName(string) error {
	return errors.New("the server name of the services' TLS comes from the address dialled (or grpc.WithAuthority)")
}
