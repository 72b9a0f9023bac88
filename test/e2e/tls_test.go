package e2e

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// serviceLog is what a service of env has logged so far.
func serviceLog(t *testing.T, env *harness.Env, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, to, string(b))
}

// brokerConnected matches mosquitto's log line for a connection of the
// bridge's session (client id bridge-<n>, as StartPipeline names it) whose
// certificate names user.
func brokerConnected(user string) *regexp.Regexp {
	return regexp.MustCompile(`New client connected from \S+ as bridge-\d+ \(p5, c[01], k\d+, u'` + regexp.QuoteMeta(user) + `'\)`)
}

// presenceConnected is brokerConnected for the presence connection
// (client id bridge-<n>-presence).
func presenceConnected(user string) *regexp.Regexp {
	return regexp.MustCompile(`New client connected from \S+ as bridge-\d+-presence \(p5, c[01], k\d+, u'` + regexp.QuoteMeta(user) + `'\)`)
}

// The bridge's client certificate is renewed while events flow, the way
// a Kubernetes secret is (a new file renamed over the old): the publisher
// refuses a certificate caught half-written and keeps its connection,
// then reconnects with the complete new pair within seconds, without the
// broker publishing its last will, and no event is lost or reordered.
// The presence connection for the displays moves to the new pair too.
func TestClientCertificateRenewedWhileEventsFlow(t *testing.T) {
	t.Parallel()
	const tools, perTool = 20, 200
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	one, err := pki.Issue(harness.CertSpec{Name: "bridge-one", CommonName: "bridge-one", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	two, err := pki.Issue(harness.CertSpec{Name: "bridge-two", CommonName: "bridge-two", Client: true})
	if err != nil {
		t.Fatal(err)
	}
	secret := t.TempDir()
	certFile, keyFile := filepath.Join(secret, "tls.crt"), filepath.Join(secret, "tls.key")
	copyFile(t, one.CertFile, certFile)
	copyFile(t, one.KeyFile, keyFile)
	p, err := env.StartPipeline(bin, harness.PipelineOptions{
		PKI:       pki,
		Broker:    harness.MosquittoOptions{RequireCertificate: true, IdentityAsUsername: true},
		Publisher: []string{"-mqtt-cert-file", certFile, "-mqtt-key-file", keyFile, "-mqtt-tls-reload-interval", "1s", "-presence-topic", "nemo/server/status"},
	})
	if err != nil {
		t.Fatal(err)
	}
	subscriberCert := harness.KeyPair{CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile}
	sub, err := p.SubscribeWith(harness.SubscribeOptions{Filter: "nemo/tools/+/enabled", QoS: 1, ClientCert: &subscriberCert})
	if err != nil {
		t.Fatal(err)
	}
	status, err := p.SubscribeWith(harness.SubscribeOptions{Filter: "nemo/bridge/status", QoS: 1, ClientCert: &subscriberCert})
	if err != nil {
		t.Fatal(err)
	}
	presence, err := p.SubscribeWith(harness.SubscribeOptions{Filter: "nemo/server/status", QoS: 1, ClientCert: &subscriberCert})
	if err != nil {
		t.Fatal(err)
	}
	brokerLog := func() string {
		t.Helper()
		log, err := p.Broker.Log()
		if err != nil {
			t.Fatal(err)
		}
		return log
	}
	eventually(t, 10*time.Second, func() error {
		if log := brokerLog(); !brokerConnected("bridge-one").MatchString(log) || !presenceConnected("bridge-one").MatchString(log) {
			return fmt.Errorf("the broker did not log the bridge's connections as bridge-one:\n%s", log)
		}
		return nil
	})

	// 4,000 events over about 8 s.
	written := writePaced(p, harness.Events(tools*perTool, tools, 0), 8*time.Second)
	waitForCount(t, sub, 400)

	// A certificate caught half-written: refused, the connection stays.
	half, err := os.ReadFile(two.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, string(half[:len(half)/2]))
	eventually(t, 10*time.Second, func() error {
		if log := serviceLog(t, env, "publisher"); !strings.Contains(log, "TLS files changed, but the new ones cannot be used") {
			return fmt.Errorf("the publisher did not refuse the half-written certificate")
		}
		return nil
	})
	refusal := regexp.MustCompile(`msg="TLS files changed, but the new ones cannot be used.*`).FindString(serviceLog(t, env, "publisher"))
	t.Logf("half-written certificate: %s", refusal)
	if !strings.Contains(refusal, "no complete PEM certificate") || !strings.Contains(refusal, certFile) {
		t.Errorf("the refusal does not say what is wrong with %s: %s", certFile, refusal)
	}
	if got := harness.Distinct(sub.Messages()); got >= tools*perTool {
		t.Fatalf("all %d events arrived before the certificate was renewed; the test proves nothing", got)
	}

	// The renewed pair: the key first, then the certificate.
	copyFile(t, two.KeyFile, keyFile)
	copyFile(t, two.CertFile, certFile)
	renewedAt := time.Now()
	eventually(t, 15*time.Second, func() error {
		if log := brokerLog(); !brokerConnected("bridge-two").MatchString(log) || !presenceConnected("bridge-two").MatchString(log) {
			return fmt.Errorf("the broker logged no connection of the bridge's session and presence as bridge-two")
		}
		return nil
	})
	t.Logf("the broker saw the bridge as bridge-two %s after the new files were in place (checked every 1s)", time.Since(renewedAt).Round(10*time.Millisecond))
	t.Logf("broker: %s", brokerConnected("bridge-two").FindString(brokerLog()))

	if err := <-written; err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	nothingPending(t, p)

	log := serviceLog(t, env, "publisher")
	if n := strings.Count(log, `msg="TLS files changed; reconnecting to use them"`); n != 2 {
		t.Errorf("the publisher reconnected %d times for new TLS files, want once for the session and once for presence", n)
	}
	ups := regexp.MustCompile(`msg="connected to MQTT broker".*session_present=(\w+)`).FindAllStringSubmatch(log, -1)
	if len(ups) != 2 || ups[1][1] != "true" {
		t.Errorf("connections %v, want two, the second one finding its session on the broker", ups)
	}
	if gap, ok := reconnectGap(log); ok {
		t.Logf("the publisher was connected again %s after it hung up for the new files", gap)
	}
	if !p.Publisher.Running() {
		t.Error("the publisher is not running")
	}
	// The bridge left on purpose: no last will, the status stayed online.
	for _, m := range status.Messages() {
		var s struct{ State, Reason string }
		if json.Unmarshal(m.Payload, &s) == nil && s.State != "online" {
			t.Errorf("status %s/%s during the renewal, want online only", s.State, s.Reason)
		}
	}
	for _, m := range presence.Messages() {
		if string(m.Payload) != "online" {
			t.Errorf("presence %q during the renewal, want online only", m.Payload)
		}
	}
	if n := len(sub.Messages()) - tools*perTool; n > 0 {
		t.Logf("%d duplicates around the reconnect", n)
	}
}

// reconnectGap is the time between the publisher's log lines "TLS files
// changed; reconnecting" and the next "connected to MQTT broker".
func reconnectGap(log string) (time.Duration, bool) {
	at := func(line string) (time.Time, bool) {
		m := regexp.MustCompile(`time=(\S+)`).FindStringSubmatch(line)
		if m == nil {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, m[1])
		return t, err == nil
	}
	var hungUp time.Time
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(line, `msg="TLS files changed; reconnecting to use them"`):
			hungUp, _ = at(line)
		case !hungUp.IsZero() && strings.Contains(line, `msg="connected to MQTT broker"`):
			up, ok := at(line)
			return up.Sub(hungUp), ok
		}
	}
	return 0, false
}

// certDay is the expiry date of the certificate in file, as the bridge's
// messages write it.
func certDay(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotAfter.UTC().Format("2006-01-02")
}

// The publisher explains in GetSession's last_error, with the files,
// names and dates involved, why a real mosquitto does not let it in, and
// keeps trying with backoff without crashing. The right settings with a
// password file and an ACL connect (the ACL refusing a topic is
// TestBrokerRefusalGoesToDeadLetters).
func TestConnectionProblemsExplainedInSessionStatus(t *testing.T) {
	t.Parallel()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	const acl = "user bridge\ntopic write nemo/#\n"
	users := map[string]string{"bridge": "s3cret"}
	for _, c := range []struct {
		name string
		// setup returns the broker's options, the publisher's flags and
		// the words last_error must contain, for a fresh PKI.
		setup func(t *testing.T, pki, stranger *harness.PKI) (harness.MosquittoOptions, []string, []string)
		// connects: the right settings, which must connect.
		connects bool
	}{{
		name: "wrong CA",
		setup: func(t *testing.T, pki, stranger *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			return harness.MosquittoOptions{}, []string{"-mqtt-ca-file", stranger.CAFile},
				[]string{"issued by '" + pki.CA.Subject.CommonName + "' (Cleanroom)", "the CA file " + stranger.CAFile + " does not contain", "-mqtt-ca-file"}
		},
	}, {
		name: "certificate for another name",
		setup: func(t *testing.T, pki, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			other := issue(t, pki, harness.CertSpec{Name: "other-name", CommonName: "broker.example", DNSNames: []string{"broker.example"}})
			return harness.MosquittoOptions{ServerCert: &other}, nil,
				[]string{"certificate is for broker.example, not for 127.0.0.1, the host in -mqtt-url", "-mqtt-server-name"}
		},
	}, {
		name: "wrong -mqtt-server-name",
		setup: func(t *testing.T, pki, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			return harness.MosquittoOptions{}, []string{"-mqtt-server-name", "mqtt.lab.example"},
				[]string{"certificate is for localhost and 127.0.0.1", "-mqtt-server-name (MQTT_SERVER_NAME) expects 'mqtt.lab.example'"}
		},
	}, {
		name: "expired server certificate",
		setup: func(t *testing.T, pki, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			expired := issue(t, pki, harness.CertSpec{Name: "expired", CommonName: "127.0.0.1", IPs: harness.LoopbackServer("").IPs, Expired: true})
			return harness.MosquittoOptions{ServerCert: &expired}, nil,
				[]string{"The broker's certificate expired on " + certDay(t, expired.CertFile), "renewed certificate"}
		},
	}, {
		name: "no client certificate",
		setup: func(t *testing.T, _, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			return harness.MosquittoOptions{RequireCertificate: true}, nil,
				[]string{"requires a client certificate, and the bridge has none", "-mqtt-cert-file", "-mqtt-key-file"}
		},
	}, {
		name: "expired client certificate",
		setup: func(t *testing.T, pki, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			expired := issue(t, pki, harness.CertSpec{Name: "expired-client", CommonName: "nemo-bridge", Client: true, Expired: true})
			return harness.MosquittoOptions{RequireCertificate: true}, []string{"-mqtt-cert-file", expired.CertFile, "-mqtt-key-file", expired.KeyFile},
				[]string{"client certificate " + expired.CertFile + " expired on " + certDay(t, expired.CertFile), "-mqtt-cert-file"}
		},
	}, {
		name: "wrong password",
		setup: func(t *testing.T, _, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			return harness.MosquittoOptions{Users: users, ACL: acl}, []string{"-mqtt-username", "bridge", "-mqtt-password", "wrong"},
				[]string{"does not let user 'bridge' in: the password is wrong", "-mqtt-password (MQTT_PASSWORD)", "password file"}
		},
	}, {
		name: "password file and ACL, right settings",
		setup: func(t *testing.T, _, _ *harness.PKI) (harness.MosquittoOptions, []string, []string) {
			return harness.MosquittoOptions{Users: users, ACL: acl}, []string{"-mqtt-username", "bridge", "-mqtt-password", "s3cret"}, nil
		},
		connects: true,
	}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			pki, err := env.NewPKI()
			if err != nil {
				t.Fatal(err)
			}
			stranger, err := env.NewPKI()
			if err != nil {
				t.Fatal(err)
			}
			brokerOpts, flags, words := c.setup(t, pki, stranger)
			broker, err := env.StartMosquitto(pki, brokerOpts)
			if err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			pub, err := env.StartService(bin, "publisher", append([]string{
				"-mqtt-url", broker.TLSURL(), "-mqtt-ca-file", pki.CAFile,
			}, flags...)...)
			if err != nil {
				t.Fatal(err)
			}
			session := sessionClient(t, pub.GRPCAddr)
			var last *publisherv1.GetSessionResponse
			eventually(t, 30*time.Second, func() error {
				resp, err := session.GetSession(ctx(t), &publisherv1.GetSessionRequest{})
				if err != nil {
					return err
				}
				last = resp
				if c.connects {
					if !resp.GetConnected() || resp.GetLastError() != "" {
						return fmt.Errorf("the right settings: connected %t, last error %q", resp.GetConnected(), resp.GetLastError())
					}
					return nil
				}
				if resp.GetConnected() {
					return fmt.Errorf("connected; want a refusal")
				}
				for _, w := range words {
					if !strings.Contains(resp.GetLastError(), w) {
						return fmt.Errorf("last_error %q does not say %q", resp.GetLastError(), w)
					}
				}
				return nil
			})
			if c.connects {
				return
			}
			t.Logf("last_error: %s", last.GetLastError())
			// It keeps trying, with backoff (250 ms at least, growing to
			// 15 s), and does not crash.
			attempts := func() int {
				return strings.Count(serviceLog(t, env, "publisher"), `msg="cannot connect to MQTT broker"`)
			}
			eventually(t, 30*time.Second, func() error {
				if n := attempts(); n < 3 {
					return fmt.Errorf("%d connection attempts so far, want it to keep trying", n)
				}
				return nil
			})
			took, n := time.Since(started), attempts()
			if limit := int(took/(250*time.Millisecond)) + 1; n > limit {
				t.Errorf("%d attempts in %s: faster than the backoff allows (at most %d)", n, took.Round(time.Millisecond), limit)
			}
			if !pub.Running() {
				t.Fatal("the publisher exited")
			}
			if resp, err := session.GetSession(ctx(t), &publisherv1.GetSessionRequest{}); err != nil || resp.GetConnected() {
				t.Fatalf("GetSession after %d attempts: %v %v", n, resp, err)
			}
			t.Logf("%d attempts in %s, still running", n, took.Round(time.Millisecond))
		})
	}
}

func issue(t *testing.T, pki *harness.PKI, spec harness.CertSpec) harness.KeyPair {
	t.Helper()
	kp, err := pki.Issue(spec)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func sessionClient(t *testing.T, addr string) publisherv1.PublisherServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return publisherv1.NewPublisherServiceClient(conn)
}
