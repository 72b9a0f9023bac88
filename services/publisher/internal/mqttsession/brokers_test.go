package mqttsession

import (
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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
)

// -mqtt-url takes several brokers, separated by whitespace or by commas
// before the next URL; a comma in a password stays in it.
func TestSeveralBrokerURLs(t *testing.T) {
	for _, tt := range []struct {
		name, raw string
		dial      []string // what autopaho dials, in order
		shown     string   // Broker(): health and logs
		passwords []string
	}{
		{"one", "mqtts://bridge:pw@broker.lab", []string{"tls://broker.lab:8883"}, "mqtts://bridge:xxxxx@broker.lab", []string{"pw"}},
		{"one, spaces around", "  mqtt://broker.lab:1884\n", []string{"mqtt://broker.lab:1884"}, "mqtt://broker.lab:1884", []string{""}},
		{"spaces", "mqtts://a.lab mqtts://b.lab:8884", []string{"tls://a.lab:8883", "tls://b.lab:8884"}, "mqtts://a.lab, mqtts://b.lab:8884", []string{"", ""}},
		{"new lines and tabs", "mqtts://a.lab\n\tmqtts://b.lab\r\nmqtts://c.lab\n", []string{"tls://a.lab:8883", "tls://b.lab:8883", "tls://c.lab:8883"},
			"mqtts://a.lab, mqtts://b.lab, mqtts://c.lab", []string{"", "", ""}},
		{"commas", "mqtt://a.lab,mqtts://b.lab,tcp://c.lab,ssl://d.lab,tls://e.lab", []string{"mqtt://a.lab:1883", "tls://b.lab:8883", "mqtt://c.lab:1883", "tls://d.lab:8883", "tls://e.lab:8883"},
			"mqtt://a.lab, mqtts://b.lab, tcp://c.lab, ssl://d.lab, tls://e.lab", []string{"", "", "", "", ""}},
		{"comma and space, and a trailing comma", "mqtts://a.lab, MQTTS://b.lab ,, mqtts://c.lab,", []string{"tls://a.lab:8883", "tls://b.lab:8883", "tls://c.lab:8883"},
			"mqtts://a.lab, mqtts://b.lab, mqtts://c.lab", []string{"", "", ""}},
		{"commas in the passwords", "mqtts://bridge:pa,ss@a.lab:8883,mqtts://bridge:,p,w,mqtt:x,@b.lab:8883",
			[]string{"tls://a.lab:8883", "tls://b.lab:8883"}, "mqtts://bridge:xxxxx@a.lab:8883, mqtts://bridge:xxxxx@b.lab:8883", []string{"pa,ss", ",p,w,mqtt:x,"}},
		{"a comma in the user name", "mqtt://lab,bridge:pw@a.lab mqtt://lab,bridge:pw@b.lab", []string{"mqtt://a.lab:1883", "mqtt://b.lab:1883"},
			"mqtt://lab,bridge:xxxxx@a.lab, mqtt://lab,bridge:xxxxx@b.lab", []string{"pw", "pw"}},
		{"an escaped password", "mqtts://bridge:p%2Cw%20x%2F@a.lab,mqtts://bridge:p%40w@b.lab", []string{"tls://a.lab:8883", "tls://b.lab:8883"},
			"mqtts://bridge:xxxxx@a.lab, mqtts://bridge:xxxxx@b.lab", []string{"p,w x/", "p@w"}},
	} {
		c := Config{URL: tt.raw}
		bs, err := c.brokers()
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var dial, passwords []string
		for _, b := range bs {
			dial = append(dial, b.url.String())
			passwords = append(passwords, b.password)
		}
		if !slices.Equal(dial, tt.dial) || !slices.Equal(passwords, tt.passwords) {
			t.Errorf("%s: dials %q with passwords %q, want %q with %q", tt.name, dial, passwords, tt.dial, tt.passwords)
		}
		if got := c.Broker(); got != tt.shown {
			t.Errorf("%s: shown as %q, want %q", tt.name, got, tt.shown)
		}
	}
}

// A URL among several that is not a broker URL is refused by its
// position, without quoting any part of it.
func TestABadURLAmongSeveralIsNamedByItsPositionWithoutThePassword(t *testing.T) {
	for _, tt := range []struct {
		raw, position string
	}{
		{"mqtts://bridge:s3cret@a.lab mqtts://bridge:s3cret@b.lab:port", "its 2nd URL (of 2)"},
		{"mqtts://bridge:s3cret@a.lab,mqtts://bridge:s3/cret@b.lab", "its 2nd URL (of 2)"},
		{"mqtts://bridge:s3cret@a.lab,http://bridge:s3cret@b.lab", "its 2nd URL (of 2)"},
		{"mqtt://a.lab mqtt://b.lab bridge:s3cret@c.lab:1883", "its 3rd URL (of 3)"},
		// A space in a password cuts the URL in two: the first half's
		// "port" is part of the password.
		{"mqtts://bridge:s3c ret@a.lab mqtts://b.lab", "its 1st URL (of 3)"},
		{"mqtts://bridge:s3cret@a.lab, mqtts://bridge:s3%zzcret@b.lab", "its 2nd URL (of 2)"},
	} {
		_, err := Config{URL: tt.raw}.brokers()
		if err == nil || !strings.Contains(err.Error(), "-mqtt-url: "+tt.position) {
			t.Errorf("%s: %v, want a refusal naming %s", tt.raw, err, tt.position)
			continue
		}
		for _, part := range []string{"s3", "cret", "ret", "a.lab", "b.lab", "c.lab", "bridge"} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%s: the refusal %q quotes %q", tt.raw, err, part)
			}
		}
	}
}

// Each broker gets the login of its own URL; -mqtt-username and
// -mqtt-password, when given, win for every broker.
func TestEachBrokerLogsInWithItsURLsLoginUnlessTheFlagsGiveOne(t *testing.T) {
	raw := "mqtts://one:pw,1@a.lab mqtts://two@b.lab mqtts://c.lab"
	for _, tt := range []struct {
		name, user, password string
		want                 [][2]string
	}{
		{"URLs only", "", "", [][2]string{{"one", "pw,1"}, {"two", ""}, {"", ""}}},
		{"password flag", "", "flag-pw", [][2]string{{"one", "flag-pw"}, {"two", "flag-pw"}, {"", "flag-pw"}}},
		{"both flags", "bridge", "flag-pw", [][2]string{{"bridge", "flag-pw"}, {"bridge", "flag-pw"}, {"bridge", "flag-pw"}}},
	} {
		c := Config{URL: raw, Username: tt.user, Password: tt.password}
		l, err := c.checkedBrokers()
		if err != nil {
			t.Fatal(err)
		}
		cfg := c.clientConfig(l, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
		for i, want := range tt.want {
			cp := connectTo(t, cfg, i)
			if cp.Username != want[0] || string(cp.Password) != want[1] || cp.UsernameFlag != (want[0] != "") || cp.PasswordFlag != (want[1] != "") {
				t.Errorf("%s: CONNECT to broker %d with %q / %q, want %q / %q", tt.name, i+1, cp.Username, cp.Password, want[0], want[1])
			}
			// The broker whose CONNECT was built last is the one tried:
			// connection errors and the session's state name it.
			if b, at := l.current(); at != i || b.url.Host != cfg.ServerUrls[i].Host {
				t.Errorf("%s: trying broker %d, but the list says %d", tt.name, i+1, at+1)
			}
			if user := c.target(l.all[i]).Username; user != want[0] {
				t.Errorf("%s: failures at broker %d are explained for user %q, want %q", tt.name, i+1, user, want[0])
			}
			if addr := c.target(l.all[i]).Addr; addr != cfg.ServerUrls[i].Host {
				t.Errorf("%s: failures at broker %d are explained for %s", tt.name, i+1, addr)
			}
		}
	}
}

func TestOrdinals(t *testing.T) {
	var got []string
	for _, n := range []int{1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112} {
		got = append(got, ordinal(n))
	}
	want := []string{"1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}

// Each broker's certificate is checked for the host of its own URL (unless
// -mqtt-server-name names one for all), and the TLS watch learns which
// broker its connection is to.
func TestEachBrokersCertificateIsCheckedForItsOwnHost(t *testing.T) {
	ca := newTestCA(t, "Cluster CA")
	_, certA, keyA := ca.issue(t, "localhost", time.Now().Add(-time.Hour), true)
	certB, keyB := issueForIP(t, ca, net.IPv4(127, 0, 0, 1))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	addrA, addrB := tlsListener(t, certA, keyA), tlsListener(t, certB, keyB)
	_, portA, _ := net.SplitHostPort(addrA)
	_, portB, _ := net.SplitHostPort(addrB)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	c := Config{URL: "mqtts://localhost:" + portA + " mqtts://127.0.0.1:" + portB, CAFile: caFile}
	l, err := c.checkedBrokers()
	if err != nil {
		t.Fatal(err)
	}
	w := newTLSWatch(c, log, func() bool { return true })
	dial := dialer(c, l, log, w, 5*time.Second, nil)
	for i, u := range l.urls() {
		conn, err := dial(t.Context(), autopaho.ClientConfig{}, u)
		if err != nil {
			t.Fatalf("broker %d (%s): %v", i+1, u, err)
		}
		conn.Close()
		_, state, _, to := w.live.get()
		if to.shown != l.all[i].shown || state == nil || w.serverName(to) != u.Hostname() {
			t.Errorf("broker %d: the watch holds a connection to %q checked for %q", i+1, to.shown, w.serverName(to))
		}
	}

	// -mqtt-server-name is for every broker: the second's certificate does
	// not name localhost.
	c.ServerName = "localhost"
	l, _ = c.checkedBrokers()
	dial = dialer(c, l, log, newTLSWatch(c, log, func() bool { return true }), 5*time.Second, nil)
	if _, err := dial(t.Context(), autopaho.ClientConfig{}, l.urls()[1]); err == nil || !strings.Contains(err.Error(), "localhost") {
		t.Fatalf("the second broker with -mqtt-server-name localhost: %v, want its certificate refused", err)
	}
}

// issueForIP returns a server certificate for ip and its key, as PEM.
func issueForIP(t *testing.T, ca testCA, ip net.IP) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: ip.String()},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{ip},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// tlsListener serves TLS handshakes with the certificate on a loopback
// port until the test ends, and returns its address.
func tlsListener(t *testing.T, certPEM, keyPEM []byte) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// While no broker answers, the session's last error says why each one
// refused at its last attempt, after its URL (password masked); one
// broker's error stands alone, as before.
func TestTheLastErrorNamesEachBrokersProblem(t *testing.T) {
	bs, err := Config{URL: "mqtts://bridge:s3cret@a.lab mqtts://bridge:s3cret@b.lab"}.brokers()
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{brokers: newBrokerList(bs), problems: map[int]string{}, watch: func(State) {}}
	s.fail(0, "Nothing is listening at a.lab:8883.")
	s.fail(1, "The broker refused the login.")
	s.fail(0, "The host name 'a.lab' is not known (DNS).")
	want := "mqtts://bridge:xxxxx@a.lab: The host name 'a.lab' is not known (DNS). mqtts://bridge:xxxxx@b.lab: The broker refused the login."
	if got := s.State().LastError; got != want {
		t.Fatalf("LastError %q, want %q", got, want)
	}
	s.set(State{Connected: true, Broker: bs[1].shown})
	s.set(State{})
	s.fail(1, "The broker refused the login.")
	if got := s.State().LastError; got != "mqtts://bridge:xxxxx@b.lab: The broker refused the login." {
		t.Fatalf("after a connection, LastError %q still names older problems", got)
	}

	one, _ := Config{URL: "mqtts://a.lab"}.brokers()
	s = &Session{brokers: newBrokerList(one), problems: map[int]string{}, watch: func(State) {}}
	s.fail(0, "Nothing is listening at a.lab:8883.")
	if got := s.State().LastError; got != "Nothing is listening at a.lab:8883." {
		t.Fatalf("one broker: LastError %q", got)
	}
}
