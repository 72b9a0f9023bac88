package mqttsession

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA signs the certificates of a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate for name, valid from notBefore for a day,
// and its key, as PEM.
func (ca testCA) issue(t *testing.T, name string, notBefore time.Time, server bool) (cert *x509.Certificate, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// secretDir lays files out as Kubernetes mounts a secret: each name is a
// symlink into ..data, itself a symlink to a timestamped directory that an
// update replaces by swapping ..data.
type secretDir struct {
	t       *testing.T
	dir     string
	version int
}

func (d *secretDir) path(name string) string { return filepath.Join(d.dir, name) }

func (d *secretDir) update(files map[string][]byte) {
	d.t.Helper()
	d.version++
	version := filepath.Join(d.dir, "..v"+strings.Repeat("I", d.version))
	if err := os.Mkdir(version, 0o700); err != nil {
		d.t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(version, name), data, 0o600); err != nil {
			d.t.Fatal(err)
		}
		if _, err := os.Lstat(d.path(name)); err != nil {
			if err := os.Symlink(filepath.Join("..data", name), d.path(name)); err != nil {
				d.t.Fatal(err)
			}
		}
	}
	tmp := d.path("..data_tmp")
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, d.path("..data")); err != nil {
		d.t.Fatal(err)
	}
}

// logBuffer collects a session's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// peer is the broker's end of a connection the watcher may hang up.
type peer struct {
	conn net.Conn
	got  chan []byte // what arrived before the close
}

func newPeer() (client net.Conn, p *peer) {
	client, server := net.Pipe()
	p = &peer{conn: server, got: make(chan []byte, 1)}
	go func() {
		data, _ := io.ReadAll(server)
		p.got <- data
	}()
	return client, p
}

// hungUp waits for the connection to be closed and returns what was sent.
func (p *peer) hungUp(t *testing.T) []byte {
	t.Helper()
	select {
	case data := <-p.got:
		return data
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not closed")
		return nil
	}
}

func (p *peer) stillOpen(t *testing.T) {
	t.Helper()
	select {
	case data := <-p.got:
		t.Fatalf("the connection was closed (after %x)", data)
	case <-time.After(50 * time.Millisecond):
	}
}

// The watcher reconnects when the files change and make a usable
// configuration, and otherwise says why it keeps the connection: files
// written halfway, a key of another certificate, an expired certificate,
// a CA that does not vouch for the broker. One problem is logged once.
func TestTLSFilesRenewedWhileConnected(t *testing.T) {
	ca := newTestCA(t, "Lab Root CA")
	stranger := newTestCA(t, "Other CA")
	brokerCert, _, _ := ca.issue(t, "broker.lab", time.Now().Add(-time.Hour), true)
	_, oneCert, oneKey := ca.issue(t, "bridge-one", time.Now().Add(-time.Hour), false)
	_, twoCert, twoKey := ca.issue(t, "bridge-two", time.Now().Add(-time.Hour), false)
	_, oldCert, oldKey := ca.issue(t, "bridge-old", time.Now().Add(-48*time.Hour), false)

	secret := &secretDir{t: t, dir: t.TempDir()}
	secret.update(map[string][]byte{"ca.crt": ca.pem, "tls.crt": oneCert, "tls.key": oneKey})
	cfg := Config{CAFile: secret.path("ca.crt"), CertFile: secret.path("tls.crt"), KeyFile: secret.path("tls.key"), TLSReloadInterval: time.Second}
	logs := &logBuffer{}
	connected := true
	brokerURL, _ := url.Parse("tls://broker.lab:8883")
	w := newTLSWatch(cfg, slog.New(slog.NewTextHandler(logs, nil)), func() bool { return connected })
	state := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{brokerCert}}

	connect := func() *peer {
		t.Helper()
		files, err := cfg.readTLSFiles()
		if err != nil {
			t.Fatal(err)
		}
		conn, p := newPeer()
		t.Cleanup(func() { conn.Close() })
		w.live.set(conn, state, files, broker{url: brokerURL, shown: "mqtts://broker.lab:8883"})
		return p
	}
	p := connect()
	if reported := w.check(""); reported != "" || logs.take() != "" {
		t.Fatalf("unchanged files: reported %q", reported)
	}
	p.stillOpen(t)

	half := twoCert[:len(twoCert)/2]
	for _, c := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"certificate written halfway", map[string][]byte{"tls.crt": half, "tls.key": twoKey},
			"no complete PEM certificate in it; it is empty or still being written"},
		{"key of another certificate", map[string][]byte{"tls.crt": twoCert, "tls.key": oneKey},
			"private key does not match public key"},
		{"expired certificate", map[string][]byte{"tls.crt": oldCert, "tls.key": oldKey},
			"The new client certificate " + cfg.CertFile + " expired on "},
		{"CA that did not sign the broker's certificate", map[string][]byte{"ca.crt": stranger.pem, "tls.crt": twoCert, "tls.key": twoKey},
			"The new CA file " + cfg.CAFile + " does not vouch for the broker's certificate (issued by Lab Root CA)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string][]byte{"ca.crt": ca.pem}
			for name, data := range c.files {
				files[name] = data
			}
			secret.update(files)
			reported := w.check("")
			log := logs.take()
			if !strings.Contains(reported, c.want) || !strings.Contains(log, "level=WARN") || !strings.Contains(log, "keeping the current connection") {
				t.Fatalf("reported %q, want it to contain %q; log:\n%s", reported, c.want, log)
			}
			t.Logf("%s", reported)
			if again := w.check(reported); again != reported || logs.take() != "" {
				t.Errorf("the same problem again: reported %q and logged it again", again)
			}
			p.stillOpen(t)
		})
	}

	// The right pair, by a swap of ..data: hang up with a DISCONNECT.
	secret.update(map[string][]byte{"ca.crt": ca.pem, "tls.crt": twoCert, "tls.key": twoKey})
	start := time.Now()
	if reported := w.check("an older problem"); reported != "" {
		t.Fatalf("a good pair reported %q", reported)
	}
	if log := logs.take(); !strings.Contains(log, "level=INFO") || !strings.Contains(log, `msg="TLS files changed; reconnecting to use them"`) {
		t.Fatalf("log:\n%s", log)
	}
	// DISCONNECT, remaining length 2: reason code 0, no properties.
	if got := p.hungUp(t); !bytes.Equal(got, []byte{0xE0, 0x02, 0x00, 0x00}) {
		t.Errorf("sent %x before closing, want a DISCONNECT with reason 0 (e0 02 00 00)", got)
	}
	t.Logf("hung up %s after the check", time.Since(start).Round(time.Millisecond))
	// Acted on once: the retired connection is not hung up twice.
	if reported := w.check(""); reported != "" || logs.take() != "" {
		t.Errorf("after the hang-up: reported %q", reported)
	}

	// The next connection uses the new files: nothing to do.
	p = connect()
	if reported := w.check(""); reported != "" || logs.take() != "" {
		t.Errorf("the new connection: reported %q", reported)
	}
	p.stillOpen(t)

	// While disconnected, changes wait for the next connection attempt.
	connected = false
	secret.update(map[string][]byte{"ca.crt": ca.pem, "tls.crt": oneCert, "tls.key": oneKey})
	if reported := w.check(""); reported != "" || logs.take() != "" {
		t.Errorf("disconnected: reported %q", reported)
	}
	p.stillOpen(t)
}

// The dialer's view of the files: a read error names the file as tlsdiag
// expects, and the sum follows the contents, not the names.
func TestTLSFilesSum(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "a")
	write("cert.pem", "b")
	write("key.pem", "c")
	cfg := Config{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	first, err := cfg.readTLSFiles()
	if err != nil {
		t.Fatal(err)
	}
	// Bytes moved from one file to the next are a change.
	write("ca.pem", "ab")
	write("cert.pem", "")
	moved, err := cfg.readTLSFiles()
	if err != nil {
		t.Fatal(err)
	}
	if first.sum() == moved.sum() {
		t.Error("the sum did not change when bytes moved from one file to another")
	}
	if err := os.Remove(cfg.KeyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.readTLSFiles(); err == nil || !strings.Contains(err.Error(), cfg.KeyFile) {
		t.Errorf("missing key file: %v", err)
	}
}
