// Package devstack runs the whole bridge on one machine for trying it out.
package devstack

import (
	"flag"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
)

// Options configure `make run`; every flag also reads its environment
// variable (REDIS_URL, MQTT_URL, DEMO, INGEST_MODE, LIST_KEY, ...).
type Options struct {
	BinDir            string
	RedisURL          string
	MQTTURL           string
	Demo              bool
	DemoInterval      time.Duration
	DemoSeed          int64
	IngestMode        string
	ListKey           string
	EmbeddedRedisAddr string
	EmbeddedMQTTAddr  string
	GRPCPortBase      int
	HTTPPortBase      int
	HTTPAddr          string
	Displays          bool
	AdminToken        string
}

// Bind registers the flags.
func (o *Options) Bind(fs *flag.FlagSet) {
	fs.StringVar(&o.BinDir, "bin-dir", "bin", "where the ingest, router and publisher binaries are")
	secret.Var(fs, &o.RedisURL, "redis-url", "", "a real Redis (redis://[:password@]host:6379/1, redis+sentinel://... or redis+cluster://...); empty: an embedded one, for trying it out only")
	secret.Var(fs, &o.MQTTURL, "mqtt-url", "", "a real MQTT broker (mqtt://[user:password@]host:1883 or mqtts://host:8883); empty: an embedded one, for trying it out only")
	fs.BoolVar(&o.Demo, "demo", true, "write realistic NEMO events (DEMO=0 turns it off)")
	fs.DurationVar(&o.DemoInterval, "demo-interval", 700*time.Millisecond, "time between two demo events")
	fs.Int64Var(&o.DemoSeed, "demo-seed", 1, "seed of the demo, for a repeatable run")
	fs.StringVar(&o.IngestMode, "ingest-mode", "stream", "stream, list or pubsub")
	fs.StringVar(&o.ListKey, "list-key", records.InputList, "list mode: the list NEMO pushes to ("+pluginlist.OlderName+" for older plugin versions), for ingest, the gateway and the demo")
	fs.StringVar(&o.EmbeddedRedisAddr, "embedded-redis-addr", "127.0.0.1:6390", "where the embedded Redis listens")
	fs.StringVar(&o.EmbeddedMQTTAddr, "embedded-mqtt-addr", "127.0.0.1:1884", "where the embedded MQTT broker listens")
	fs.IntVar(&o.GRPCPortBase, "grpc-port-base", 7001, "gRPC ports of ingest, router, publisher and gateway: this one and the next three")
	fs.IntVar(&o.HTTPPortBase, "http-port-base", 9101, "metrics ports of ingest, router and publisher: this one and the next two")
	fs.StringVar(&o.HTTPAddr, "http-addr", "127.0.0.1:8080", "where the gateway serves the page, the REST API and its metrics (:8080 shows them to the network, with no admin token)")
	fs.BoolVar(&o.Displays, "displays", false, "also publish what the ESP32 tool displays read (DISPLAYS=1), and their nemo/server/status")
	secret.Var(fs, &o.AdminToken, "admin-token", "", "the gateway's admin token, which write actions need; empty: one made for the run and shown at start")
}
