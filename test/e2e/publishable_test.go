package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Events whose topic holds what mosquitto closes the connection on (a
// Unicode noncharacter, more than 200 levels) arrive on a sanitised topic,
// and the events around them arrive too: before, the bridge sent such a
// topic as it was, and resent it at every reconnect, so that nothing else
// was delivered again.
func TestEventsOnTopicsBrokersRefuseArriveSanitised(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/tools/#")
	deep := "nemo/tools/" + strings.Repeat("x/", 250) + "start"
	bad := map[string]string{ // source topic → the topic subscribers get
		"nemo/tools/Etch \uFFFF/start":            "nemo/tools/Etch _/start",
		"nemo/tools/\uFDD0 \U0001FFFE \u0085/end": "nemo/tools/_ _ _/end",
		deep: "nemo/tools/" + strings.Repeat("x/", 198) + strings.Repeat("x_", 52) + "start",
	}
	envs := harness.Envelopes(harness.Events(10, 2, 0))
	for source := range bad {
		env, _ := json.Marshal(map[string]any{"topic": source, "payload": `{"event":"tool_usage_start","tool_id":40}`, "qos": 1})
		envs = append(envs, string(env))
	}
	envs = append(envs, harness.Envelopes(harness.Events(10, 2, 5))...)
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", envs); err != nil {
		t.Fatal(err)
	}
	// A session stuck on a message the broker refuses keeps resending what
	// it had in flight, so messages go on arriving: the wait has a deadline
	// besides the pause it allows between them.
	deadline := time.Now().Add(time.Minute)
	err := sub.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
		progress := "all there"
		if _, err := harness.CheckOrder(msgs, 2, 10); err != nil {
			progress = err.Error()
		}
		got := map[string]bool{}
		for _, m := range msgs {
			got[m.Topic] = true
		}
		for source, want := range bad {
			if !got[want] {
				progress = fmt.Sprintf("nothing on %.60q (from %.60q)", want, source)
			}
		}
		if progress != "all there" && time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", progress)
		}
		return progress == "all there", progress
	})
	if err != nil {
		t.Fatal(err)
	}
	nothingPending(t, p)
	if dead, err := p.Redis.Client(1).XLen(ctx(t), "nemo:events:dead").Result(); err != nil || dead != 0 {
		t.Errorf("%d dead letters (%v), want none", dead, err)
	}
}

// The publisher answers a message brokers would close the connection on
// with an error that says why, and never sends it: the message after it
// arrives, and the session stays up.
func TestPublisherRefusesUnpublishableMessages(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	sub := subscribe(t, p, "nemo/#")
	session := sessionClient(t, p.Publisher.GRPCAddr)
	// Before the publisher checked messages, none of them was ever
	// answered: a short deadline says so.
	streamCtx, cancel := context.WithTimeout(ctx(t), time.Minute)
	defer cancel()
	stream, err := session.Publish(streamCtx)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(id, topic string) *bridgev1.Message {
		return &bridgev1.Message{Id: id, Topic: topic, Payload: []byte("x"), Qos: 1, OrderingKey: "k"}
	}
	withType := msg("content-type", "nemo/ok/1")
	withType.ContentType = "text/\uFFFE"
	want := map[string]string{
		"noncharacter": "not sent: topic level 3 holds U+FFFF, a Unicode noncharacter that brokers refuse",
		"levels":       "not sent: the topic has 202 levels; brokers such as mosquitto allow at most 201",
		"wildcard":     "not sent: topic level 2 holds '#', an MQTT wildcard",
		"content-type": "not sent: the content type holds U+FFFE, a Unicode noncharacter that brokers refuse (at byte 5)",
		"good":         "",
	}
	if err := stream.Send(&publisherv1.PublishRequest{Messages: []*bridgev1.Message{
		msg("noncharacter", "nemo/tools/\uFFFF"),
		msg("levels", "nemo/"+strings.Repeat("a/", 200)+"a"),
		msg("wildcard", "nemo/#"),
		withType,
		msg("good", "nemo/ok/2"),
	}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for len(got) < len(want) {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		for _, r := range resp.GetResults() {
			got[r.GetMessageId()] = r.GetReason()
		}
	}
	for id, w := range want {
		if (w == "") != (got[id] == "") || !strings.HasPrefix(got[id], w) {
			t.Errorf("%s: got %q, want %q", id, got[id], w)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("the stream ended with %v", err)
	}
	err = sub.WaitFor(15*time.Second, func(msgs []harness.Message) (bool, string) {
		for _, m := range msgs {
			if m.Topic == "nemo/ok/2" {
				return true, ""
			}
		}
		return false, "nemo/ok/2 did not arrive"
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sub.Messages() {
		if m.Topic != "nemo/ok/2" && strings.HasPrefix(m.Topic, "nemo/ok") {
			t.Errorf("a refused message arrived on %q", m.Topic)
		}
	}
	if resp, err := session.GetSession(ctx(t), &publisherv1.GetSessionRequest{}); err != nil || !resp.GetConnected() {
		t.Errorf("session %v, %v; want it connected", resp, err)
	}
	log, err := p.Broker.Log()
	if err != nil || strings.Contains(log, "malformed packet") || strings.Contains(log, "protocol error") {
		t.Errorf("the broker closed a connection on a message (%v)", err)
	}
}

// sanitiserCorpus is the seed corpus of the topic sanitiser's fuzzer
// (mqtttopic.Sanitize): topics from events, many of which brokers refuse
// as they are.
const sanitiserCorpus = "../../services/platform/mqtttopic/testdata/fuzz/FuzzSanitizeAlwaysYieldsAPublishableTopic"

// The oracle of publishable.Topic, the one rule the sanitiser, the rules
// and the publisher follow, is a real mosquitto: every candidate topic is
// published at QoS 1 on one MQTT v5 connection (a new one after each
// disconnect), and the rule says publishable exactly when mosquitto answers
// with a PUBACK instead of closing the connection. A PUBACK may refuse the
// message with a reason code (mosquitto's 0x87 for a client's $SYS topic):
// that refusal is the message's alone, and the publisher reports it.
func TestPublishableAgreesWithMosquitto(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	broker, err := env.StartMosquitto(pki, harness.MosquittoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	candidates := append(corpusTopics(t), generatedTopics()...)
	c := &oracleClient{addr: broker.PlainAddr}
	defer c.close()
	var published, refused int
	for _, cand := range candidates {
		ruleErr := publishable.Topic(cand.topic)
		if len(cand.topic) > publishable.MaxTopicBytes {
			// MQTT's two-byte length cannot say it (paho would send the
			// topic cut short): only the rule is asked.
			if ruleErr == nil {
				t.Errorf("%s: %d bytes, and the rule takes it", cand.name, len(cand.topic))
			}
			continue
		}
		acked, answer, err := c.publish(cand.topic)
		if acked && strings.Contains(answer, "reason code 0x8") {
			t.Logf("%s: mosquitto %s", cand.name, answer)
		}
		if err != nil {
			t.Fatalf("%s: %v", cand.name, err)
		}
		if acked != (ruleErr == nil) {
			t.Errorf("%s (%.60q): the rule says %v; mosquitto %s", cand.name, cand.topic, orPublishable(ruleErr), answer)
		}
		if acked {
			published++
		} else {
			refused++
		}
	}
	t.Logf("%d candidates: mosquitto took %d and refused %d, as the rule says", len(candidates), published, refused)
	if published == 0 || refused == 0 {
		t.Errorf("the corpus must hold topics of both kinds")
	}
}

func orPublishable(err error) string {
	if err == nil {
		return "publishable"
	}
	return err.Error()
}

type candidate struct{ name, topic string }

// corpusTopics reads the fuzzer's seed corpus ("go test fuzz v1" files of
// one string each).
func corpusTopics(t *testing.T) []candidate {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sanitiserCorpus, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus in %s: %v", sanitiserCorpus, err)
	}
	var out []candidate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		quoted, ok := strings.CutPrefix(lines[len(lines)-1], "string(")
		if !ok || len(lines) != 2 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s is not a corpus file of one string", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, candidate{"corpus " + filepath.Base(f), s})
	}
	return out
}

// generatedTopics cover every rule at its edges, with the characters on
// either side of each class brokers refuse.
func generatedTopics() []candidate {
	levels := func(n int) string { return strings.Repeat("a/", n-1) + "a" }
	out := []candidate{
		{"plain", "nemo/tools/12/enabled"},
		{"empty", ""},
		{"one slash", "/"},
		{"empty levels", "a//b/"},
		{"a broker topic", "$SYS/nemo"},
		{"dollar", "$nemo"},
		{"200 levels", levels(200)},
		{"201 levels", levels(201)},
		{"202 levels", levels(202)},
		{"201 empty levels", strings.Repeat("/", 200)},
		{"202 empty levels", strings.Repeat("/", 201)},
		{"65535 bytes", strings.Repeat("a", 65535)},
		{"65535 bytes ending in a 3-byte character", strings.Repeat("a", 65532) + "€"},
		{"65536 bytes", strings.Repeat("a", 65536)},
		{"plus", "a/+"}, {"hash", "a/#"}, {"plus inside a level", "a+b"}, {"hash inside a level", "a#b"},
		{"NUL", "a/\x00"},
		{"U+FEFF", "a/\uFEFF"},
		{"private use", "a/\uE000\uF8FF\U000F0000\U0010FFFD"},
		{"emoji", "a/😀/👩‍🔬"},
		{"U+FFFD", "a/\uFFFD"},
		{"U+FDCF", "a/\uFDCF"}, {"U+FDD0", "a/\uFDD0"}, {"U+FDEF", "a/\uFDEF"}, {"U+FDF0", "a/\uFDF0"},
		{"space", "a b"}, {"tilde", "a~"}, {"U+00A0", "a\u00A0"},
	}
	for plane := rune(0); plane <= 16; plane++ {
		for _, low := range []rune{0xFFFD, 0xFFFE, 0xFFFF} {
			r := plane<<16 | low
			out = append(out, candidate{fmt.Sprintf("%U", r), "a/" + string(r)})
		}
	}
	for r := rune(1); r <= 0x9F; r++ {
		if r < 0x20 || r >= 0x7F {
			out = append(out, candidate{fmt.Sprintf("control %U", r), "a/" + string(r) + "b"})
		}
	}
	// Go strings cannot hold surrogates as characters, only as these bytes.
	for name, b := range map[string]string{
		"0xFF": "\xff", "0xFE": "\xfe", "a lone continuation byte": "\x80",
		"overlong '/'": "\xc0\xaf", "overlong 3-byte": "\xe0\x80\xaf", "overlong 4-byte": "\xf0\x80\x80\xaf",
		"surrogate U+D800": "\xed\xa0\x80", "surrogate U+DFFF": "\xed\xbf\xbf", "over U+10FFFF": "\xf4\x90\x80\x80",
		"0xF5": "\xf5\x80\x80\x80", "cut short at the end": "\xe2\x82", "cut short before a level": "\xe2\x82/x",
	} {
		out = append(out, candidate{"bytes " + name, "a/" + b})
	}
	return out
}

// oracleClient speaks MQTT v5 in raw packets, so that it sends a topic
// exactly as given, whatever it holds.
type oracleClient struct {
	addr   string
	conn   net.Conn
	nextID uint16
}

// publish sends topic at QoS 1 and reports whether the broker answered
// with a PUBACK, and what it answered; err is for an answer that is
// neither a PUBACK nor the end of the connection.
func (c *oracleClient) publish(topic string) (acked bool, answer string, err error) {
	if c.conn == nil {
		if err := c.connect(); err != nil {
			return false, "", err
		}
	}
	c.nextID = c.nextID%65535 + 1
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	pub := &packets.Publish{Topic: topic, QoS: 1, PacketID: c.nextID, Payload: []byte("x"), Properties: &packets.Properties{}}
	if _, err := pub.WriteTo(c.conn); err != nil {
		c.close()
		return false, "closed the connection before the publish was written: " + err.Error(), nil
	}
	p, err := packets.ReadPacket(c.conn)
	var timeout net.Error
	switch {
	case errors.As(err, &timeout) && timeout.Timeout():
		return false, "", fmt.Errorf("mosquitto neither answered nor closed the connection: %w", err)
	case err != nil:
		c.close()
		return false, "closed the connection: " + err.Error(), nil
	}
	switch pk := p.Content.(type) {
	case *packets.Puback:
		if pk.PacketID != c.nextID {
			return false, "", fmt.Errorf("PUBACK for packet %d, want %d", pk.PacketID, c.nextID)
		}
		if pk.ReasonCode >= 0x80 {
			// mosquitto 2.0.11 drops the connection at the next packet
			// after it refused a QoS 1 publish: start afresh.
			c.close()
		}
		return true, fmt.Sprintf("acknowledged it with reason code 0x%02X", pk.ReasonCode), nil
	case *packets.Disconnect:
		c.close()
		return false, fmt.Sprintf("disconnected with reason code 0x%02X", pk.ReasonCode), nil
	}
	return false, "", fmt.Errorf("unexpected answer %s", p.PacketType())
}

func (c *oracleClient) connect() error {
	conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	connect := &packets.Connect{ProtocolName: "MQTT", ProtocolVersion: 5, CleanStart: true, ClientID: "publishable-oracle", Properties: &packets.Properties{}}
	if _, err := connect.WriteTo(conn); err != nil {
		conn.Close()
		return err
	}
	p, err := packets.ReadPacket(conn)
	if err != nil {
		conn.Close()
		return err
	}
	if ack, ok := p.Content.(*packets.Connack); !ok || ack.ReasonCode != 0 {
		conn.Close()
		return fmt.Errorf("no successful CONNACK: %v", p)
	}
	c.conn = conn
	return nil
}

func (c *oracleClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
