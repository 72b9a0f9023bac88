package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIssuedCertificatesVerifyAgainstTheirCAOnly(t *testing.T) {
	ca := MustNew(t, CAOptions{CommonName: "Lab CA", Organization: "Cleanroom"})
	twin := MustNew(t, CAOptions{CommonName: "Lab CA", Organization: "Cleanroom"})
	if got := ca.Cert.Subject; got.CommonName != "Lab CA" || !slices.Equal(got.Organization, []string{"Cleanroom"}) {
		t.Errorf("CA subject %v", got)
	}
	server := ca.MustIssue(t, Loopback("broker", Server))
	for _, c := range []struct {
		pool *x509.CertPool
		ok   bool
	}{{ca.Pool(), true}, {twin.Pool(), false}} {
		_, err := server.Cert.Verify(x509.VerifyOptions{Roots: c.pool, DNSName: "localhost"})
		if c.ok != (err == nil) {
			t.Errorf("verify: %v, want ok = %v", err, c.ok)
		}
	}
	if !slices.ContainsFunc(server.Cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) {
		t.Errorf("IPs %v lack 127.0.0.1", server.Cert.IPAddresses)
	}
	if server.Cert.Subject.CommonName != "broker" {
		t.Errorf("common name %q, want the Name", server.Cert.Subject.CommonName)
	}
}

func TestFilesAreWrittenIntoTheCAsDirectoryWithPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	ca := MustNew(t, CAOptions{Dir: dir, File: "root.pem", CommonName: "Lab CA"})
	if ca.File != filepath.Join(dir, "root.pem") {
		t.Errorf("CA file %s", ca.File)
	}
	c := ca.MustIssue(t, Spec{Name: "bridge", CommonName: "nemo-bridge", Usage: Client})
	if c.CertFile != filepath.Join(dir, "bridge.pem") || c.KeyFile != filepath.Join(dir, "bridge.key") {
		t.Errorf("files %s %s", c.CertFile, c.KeyFile)
	}
	for _, f := range []string{ca.File, c.CertFile, c.KeyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
		t.Error(err)
	}
	certPEM, _ := ca.MustSign(t, Spec{Name: "unwritten"})
	if len(certPEM) == 0 {
		t.Error("Sign made no certificate")
	}
	if _, err := os.Stat(filepath.Join(dir, "unwritten.pem")); !os.IsNotExist(err) {
		t.Errorf("Sign wrote a file: %v", err)
	}
}

func TestUsagesAndValidity(t *testing.T) {
	ca := MustNew(t, CAOptions{CommonName: "Lab CA"})
	for u, want := range map[Usage][]x509.ExtKeyUsage{
		Server:          {x509.ExtKeyUsageServerAuth},
		Client:          {x509.ExtKeyUsageClientAuth},
		ServerAndClient: {x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	} {
		if got := ca.MustIssue(t, Spec{Name: "c", Usage: u}).Cert.ExtKeyUsage; !slices.Equal(got, want) {
			t.Errorf("usage %d: %v, want %v", u, got, want)
		}
	}
	if c := ca.MustIssue(t, Expired(Spec{Name: "expired"})).Cert; !c.NotAfter.Before(time.Now()) {
		t.Errorf("expired certificate valid until %v", c.NotAfter)
	}
	from, until := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	if c := ca.MustIssue(t, Spec{Name: "early", NotBefore: from, NotAfter: until}).Cert; !c.NotBefore.Equal(from) || !c.NotAfter.Equal(until) {
		t.Errorf("validity %v to %v, want %v to %v", c.NotBefore, c.NotAfter, from, until)
	}
	old := MustNew(t, CAOptions{CommonName: "Old CA", NotBefore: from.AddDate(-200, 0, 0), NotAfter: until.AddDate(-200, 0, 0)})
	if !old.Cert.NotAfter.Equal(until.AddDate(-200, 0, 0)) {
		t.Errorf("CA valid until %v", old.Cert.NotAfter)
	}
}
