package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// workload is what every phase sends and how it reaches the broker: the
// QoS NEMO's envelope asks for (the raw phases publish with it too), the
// size each event's payload is padded to, and the broker's URL with the
// TLS configuration its clients use (nil for plain TCP).
type workload struct {
	qos          byte
	payloadBytes int // 0: the probe as it is
	broker       *url.URL
	tls          *tls.Config
	caFile       string // the CA the publisher is given with TLS
	// stampBursts, in the latency phase, has every message carry when its
	// burst was handed over (probe.BurstNS) beside when it was sent.
	stampBursts bool
}

// filler pads payloads; sliced, never copied per message.
var filler = strings.Repeat("x", 1<<20)

// payload is the probe of event seq for tool, sent at sentNS, of the
// burst handed over at burstNS (0: not said), as JSON, padded with a
// filler field to about payloadBytes when that is larger than the probe.
func (w workload) payload(tool, seq int, sentNS, burstNS int64) []byte {
	p := probe{ToolID: tool, Seq: seq, SentNS: sentNS, BurstNS: burstNS}
	b, _ := json.Marshal(p)
	const field = len(`,"pad":""`)
	if extra := w.payloadBytes - len(b) - field; extra > 0 {
		p.Pad = filler[:min(extra, len(filler))]
		b, _ = json.Marshal(p)
	}
	return b
}

// subscribeQoS is what the measuring subscribers ask for: at least 1 (as
// before), and 2 when the workload publishes at 2, so that every message
// is delivered at the QoS it was published with.
func (w workload) subscribeQoS() byte { return max(1, w.qos) }

func (w workload) transport() string {
	if w.tls != nil {
		return "TLS"
	}
	return "plain TCP"
}

func (w workload) payloadText() string {
	if w.payloadBytes == 0 {
		return fmt.Sprintf("payload %d bytes", len(w.payload(0, 0, 0, 0)))
	}
	return fmt.Sprintf("payload padded to %d bytes", w.payloadBytes)
}

// lastPhase is the number of the last phase: 5, ingest alone.
const lastPhase = 5

// parsePhases reads -phases: "all" or a comma-separated list of 1 to 5.
func parsePhases(s string) (map[int]bool, error) {
	phases := map[int]bool{}
	if s == "" || s == "all" {
		for i := 1; i <= lastPhase; i++ {
			phases[i] = true
		}
		return phases, nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > lastPhase {
			return nil, fmt.Errorf("-phases %q: want phase numbers 1 to %d, comma-separated", s, lastPhase)
		}
		phases[n] = true
	}
	return phases, nil
}

func phasesText(phases map[int]bool) string {
	var ns []string
	for i := 1; i <= lastPhase; i++ {
		if phases[i] {
			ns = append(ns, strconv.Itoa(i))
		}
	}
	return strings.Join(ns, ",")
}

func allPhases(phases map[int]bool) bool {
	for i := 1; i <= lastPhase; i++ {
		if !phases[i] {
			return false
		}
	}
	return true
}
