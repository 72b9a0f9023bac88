package tlsdiag

import (
	"crypto/tls"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// TestSettingsFiles covers the errors mqttsession's config.go returns for
// the CA, certificate and key files: the real errors of os.ReadFile and
// tls.LoadX509KeyPair, wrapped as config.go wraps them. A missing or
// unreadable file is explained; the others are already written for people
// and pass through.
func TestSettingsFiles(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	bridge := ca.MustIssue(t, testpki.Spec{Name: "bridge", Usage: testpki.Client})
	other := ca.MustIssue(t, testpki.Spec{Name: "other", Usage: testpki.Client})
	missing := filepath.Join(t.TempDir(), "ca.pem")
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := Target{CAFile: missing, CertFile: bridge.CertFile, KeyFile: other.KeyFile}

	_, readErr := os.ReadFile(missing)
	_, mismatch := tls.LoadX509KeyPair(bridge.CertFile, other.KeyFile)
	missingKey := filepath.Join(t.TempDir(), "bridge-key.pem")
	_, noKey := tls.LoadX509KeyPair(bridge.CertFile, missingKey)
	for _, c := range []struct {
		name   string
		err    error
		target Target
		want   string
	}{{
		name: "CA file missing",
		err:  fmt.Errorf("MQTT CA file: %w", readErr),
		want: "The CA file " + missing + " does not exist. Check -mqtt-ca-file (MQTT_CA_FILE).",
	}, {
		// Root reads any file, so the test stands in the error.
		name: "CA file unreadable",
		err:  fmt.Errorf("MQTT CA file: %w", &fs.PathError{Op: "open", Path: missing, Err: syscall.EACCES}),
		want: "The CA file " + missing + " may not be read by the user the bridge runs as. Let that user read it.",
	}, {
		name: "no PEM in the CA file",
		err:  fmt.Errorf("MQTT CA file %s: no PEM certificate found in it", notPEM),
		want: "MQTT CA file " + notPEM + ": no PEM certificate found in it.",
	}, {
		name:   "key file missing",
		err:    fmt.Errorf("MQTT client certificate %s with key %s: %w", bridge.CertFile, missingKey, noKey),
		target: Target{CertFile: bridge.CertFile, KeyFile: missingKey},
		want:   "The client key file " + missingKey + " does not exist. Check -mqtt-key-file (MQTT_KEY_FILE).",
	}, {
		name: "key of another certificate",
		err:  fmt.Errorf("MQTT client certificate %s with key %s: %w", bridge.CertFile, other.KeyFile, mismatch),
		want: "MQTT client certificate " + bridge.CertFile + " with key " + other.KeyFile + ": tls: private key does not match public key.",
	}} {
		t.Run(c.name, func(t *testing.T) {
			if c.target == (Target{}) {
				c.target = target
			}
			expect(t, Explain(t.Context(), c.err, c.target), c.want, nil)
		})
	}
}
