// Package gateway is the gateway service: StatusService on its gRPC port,
// and on its HTTP port (next to /metrics and the probes) REST through
// grpc-gateway, the live stream, the OpenAPI document and the page. REST
// and the live stream call StatusService through an in-process gRPC server
// (see inProcess), so that they pass the same interceptors as gRPC callers.
package gateway

import (
	"flag"
	"fmt"
	"time"
	_ "time/tzdata" // time zones also where the system has no zoneinfo

	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/statusapi"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// Options configure the gateway.
type Options struct {
	Service        service.Options
	RedisURL       string
	IngestAddr     string
	RouterAddr     string
	PublisherAddrs string
	Input          statusapi.Input
	AdminToken     string
	ProtectReads   bool
	TestTopic      string
	TimeZone       string
}

// Bind registers the gateway's flags. The input flags take the same
// defaults as ingest's, so that both look at the same keys.
func (o *Options) Bind(fs *flag.FlagSet) {
	o.Service.Bind(fs, "gateway", "127.0.0.1:7004", "127.0.0.1:8080")
	// Its gRPC is the public status API: callers authenticate with the
	// admin token, not with a certificate of the bridge's CA.
	o.Service.PublicAPI = true
	secret.Var(fs, &o.RedisURL, "redis-url", "redis://localhost:6379/1", "the Redis the bridge uses (a password goes in the URL: redis://:password@host:6379/1; also redis+sentinel:// and redis+cluster://)")
	fs.StringVar(&o.IngestAddr, "ingest-addr", "localhost:7001", "gRPC addresses of ingest, for its health: each input's ingests comma-separated (the active one and standbys), inputs (NEMO sites) separated by ; and named for their -site as name=addr,addr, the default site's without a name, e.g. ingest-0:7001,ingest-1:7001;north=ingest-north-0:7001,ingest-north-1:7001; the hop is fine when one ingest reads in every input")
	fs.StringVar(&o.RouterAddr, "router-addr", "localhost:7002", "gRPC address of the router (health, rules); the replicas, comma-separated, when several run")
	fs.StringVar(&o.PublisherAddrs, "publisher-addr", "localhost:7003", "gRPC addresses of the publishers, comma-separated (the active one and standbys), or the router's -publisher-addr with its shards separated by ;")
	fs.StringVar(&o.Input.Mode, "ingest-mode", "stream", "how ingest reads events: stream, list or pubsub (for backlog and lag)")
	fs.StringVar(&o.Input.Stream, "stream", records.InputStream, "stream mode: the stream NEMO writes to")
	fs.StringVar(&o.Input.Group, "group", "nemo-bridge", "stream mode: ingest's consumer group")
	fs.StringVar(&o.Input.List, "list", records.InputList, "list mode: the list the NEMO plugin pushes to ("+pluginlist.OlderName+" for older plugin versions) [$"+pluginlist.Setting+"]")
	fs.StringVar(&o.Input.ProcessingList, "processing-list", "", "list mode: where entries wait until acknowledged (empty: {<list>}:processing, as ingest)")
	fs.StringVar(&o.Input.DeadLetterStream, "dead-letter-stream", records.DeadLetters, "the stream of refused events")
	secret.Var(fs, &o.AdminToken, "admin-token", "", "bearer token that write actions (replay, reload, test message) need; empty: the gateway makes one at start and logs it once")
	fs.BoolVar(&o.ProtectReads, "protect-reads", false, "reads need the admin token too")
	fs.StringVar(&o.TimeZone, "timezone", "Local", "IANA time zone of the lab, e.g. America/Los_Angeles, for times in sentences (the displays' setting) [$DISPLAY_TIMEZONE]")
	fs.StringVar(&o.TestTopic, "test-topic", "nemo/bridge/test", "test messages go below this topic (the bridge's MQTT user must be allowed to publish and subscribe there)")
}

func (o *Options) validate() error {
	if _, err := statusapi.ParseIngestAddrs(o.IngestAddr); err != nil {
		return fmt.Errorf("-ingest-addr %q: %w", o.IngestAddr, err)
	}
	if o.Input.ProcessingList == "" {
		o.Input.ProcessingList = records.ProcessingList(o.Input.List)
	}
	switch o.Input.Mode {
	case "stream", "list", "pubsub":
		return nil
	}
	return fmt.Errorf("-ingest-mode %q: want stream, list or pubsub", o.Input.Mode)
}

func (o *Options) zone() (*time.Location, error) {
	z, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("-timezone %q: not an IANA time zone such as America/Los_Angeles: %w", o.TimeZone, err)
	}
	return z, nil
}
