package devstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/devstack/internal/demo"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/brokerurls"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
)

// order of the services, which is also the order of their ports.
var order = []string{"ingest", "router", "publisher", "gateway"}

// ports are the gRPC and HTTP addresses of each service on loopback; by
// default the services' own defaults.
func (o Options) ports(name string) (grpc, http string) {
	i := slices.Index(order, name)
	if name == "gateway" {
		return fmt.Sprintf("127.0.0.1:%d", o.GRPCPortBase+i), o.HTTPAddr
	}
	return fmt.Sprintf("127.0.0.1:%d", o.GRPCPortBase+i), fmt.Sprintf("127.0.0.1:%d", o.HTTPPortBase+i)
}

// Run starts everything and stops it all, in order, when ctx ends.
func Run(ctx context.Context, o Options) error {
	redisURL, mqttURL := o.RedisURL, o.MQTTURL
	if redisURL == "" {
		m, u, err := startRedis(o.EmbeddedRedisAddr)
		if err != nil {
			return err
		}
		defer m.Close()
		redisURL = u
	}
	if mqttURL == "" {
		b, u, err := startBroker(o.EmbeddedMQTTAddr)
		if err != nil {
			return err
		}
		defer b.Close()
		mqttURL = u
	}
	// Writes on the page and the REST API always need the admin token:
	// one made for this run unless one was given, shown in the banner.
	token := o.AdminToken
	if token == "" {
		token = rand.Text()
	}
	children, err := services(o, redisURL, mqttURL, token)
	if err != nil {
		return err
	}
	runCtx, stopChildren := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() { defer wg.Done(); c.supervise(runCtx, os.Stdout) }()
	}
	o.banner(os.Stdout, redisURL, mqttURL, token)

	if o.Demo {
		if err := playDemo(ctx, o, redisURL); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}
	<-ctx.Done()
	fmt.Println("stopping: gateway, ingest, router, then publisher")
	stopChildren()
	for i := len(children) - 1; i >= 0; i-- { // in reverse order of start
		children[i].stop()
	}
	wg.Wait()
	return nil
}

// services are the children. The URLs, which may hold passwords, and the
// admin token reach them in the environment, not as flags that ps shows.
func services(o Options, redisURL, mqttURL, token string) ([]*child, error) {
	publisherAddr, _ := o.ports("publisher")
	routerAddr, _ := o.ports("router")
	ingestAddr, _ := o.ports("ingest")
	args := map[string][]string{
		"router":  {"-publisher-addr", publisherAddr},
		"ingest":  {"-router-addr", routerAddr, "-ingest-mode", o.IngestMode, "-list", o.ListKey},
		"gateway": {"-ingest-mode", o.IngestMode, "-list", o.ListKey, "-ingest-addr", ingestAddr, "-router-addr", routerAddr, "-publisher-addr", publisherAddr},
	}
	redis := setting("redis-url", redisURL)
	secrets := map[string][]string{
		"publisher": {setting("mqtt-url", mqttURL), redis},
		"router":    {redis},
		"ingest":    {redis},
		"gateway":   {redis, setting("admin-token", token)},
	}
	if o.Displays {
		args["router"] = append(args["router"], "-displays")
		args["publisher"] = append(args["publisher"], "-presence-topic", "nemo/server/status")
	}
	var out []*child
	for _, name := range []string{"publisher", "router", "ingest", "gateway"} {
		bin, err := binary(o.BinDir, name)
		if err != nil {
			return nil, err
		}
		grpcAddr, httpAddr := o.ports(name)
		common := []string{"-grpc-addr", grpcAddr, "-http-addr", httpAddr, "-log-format", "text"}
		out = append(out, &child{name: name, bin: bin, args: append(common, args[name]...), secrets: secrets[name]})
	}
	return out, nil
}

// setting is the environment variable that sets flag to value.
func setting(flag, value string) string {
	return envflag.Name(flag) + "=" + value
}

// playDemo writes the demo lab's events into the input until ctx ends.
func playDemo(ctx context.Context, o Options, redisURL string) error {
	cfg, err := redisconn.Parse("redis-url", redisURL, "devstack-demo")
	if err != nil {
		return err
	}
	rdb := cfg.Client()
	defer rdb.Close()
	lab := demo.NewLab(o.DemoSeed)
	tick := time.NewTicker(o.DemoInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			for _, e := range lab.Next(now) {
				if err := o.write(ctx, rdb, e.Envelope(now)); err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "demo: cannot write an event:", err)
				}
			}
		}
	}
}

// write puts one envelope where the NEMO plugin would for the input.
func (o Options) write(ctx context.Context, rdb redis.UniversalClient, envelope string) error {
	switch o.IngestMode {
	case "list":
		return rdb.LPush(ctx, o.ListKey, envelope).Err()
	case "pubsub":
		return rdb.Publish(ctx, records.InputChannel, envelope).Err()
	}
	return rdb.XAdd(ctx, &redis.XAddArgs{Stream: records.InputStream, Values: []any{"event", envelope}}).Err()
}

func (o Options) banner(w io.Writer, redisURL, mqttURL, token string) {
	r := shown(redisURL)
	embedded := func(given string) string {
		if given == "" {
			return " (embedded, for trying it out only)"
		}
		return ""
	}
	// The token is shown only when made here: one given was known already.
	admin := token + "  (made for this run; the page asks for it under Refused events)"
	if o.AdminToken != "" {
		admin = "the one given (-admin-token-file or ADMIN_TOKEN)"
	}
	fmt.Fprintf(w, `
NEMO MQTT bridge is running.
  Redis:        %s%s, input: %s
  MQTT broker:  %s%s
  Demo events:  %v
  Displays:     %v
The bridge's page:  http://%s/  (REST API under /v1/, OpenAPI at /openapi.json)
Admin token, for replaying refused events, reloading the rules and test messages:
  %s
Watch the messages:
  %s
Look into Redis (the refused events):
  %s
Metrics: http://127.0.0.1:%d/metrics (ingest; router and publisher on the next two ports)
Between the services: plain-text gRPC on loopback (for trying out only;
  production uses mutual TLS, see the README's "Security between the services").
Stop with Ctrl-C.

`, r.Redacted(), embedded(o.RedisURL), o.input(), shownBrokers(mqttURL), embedded(o.MQTTURL), o.Demo, o.Displays, browsable(o.HTTPAddr),
		admin, mosquittoSubHint(mqttURL), redisCliHint(redisURL, records.DeadLetters), o.HTTPPortBase)
}

// shown reads a URL for the banner, which masks its password; one that
// does not parse shows as nothing (the service given it says why).
func shown(raw string) *url.URL {
	u, err := secret.ParseURL(raw)
	if err != nil {
		return &url.URL{}
	}
	return u
}

// shownBrokers is the banner's list of brokers, each shown as shown does,
// separated by ", ".
func shownBrokers(raw string) string {
	urls := brokerurls.Split(raw)
	for i, u := range urls {
		urls[i] = shown(u).Redacted()
	}
	return strings.Join(urls, ", ")
}

// input names what ingest reads, for the banner.
func (o Options) input() string {
	if o.IngestMode == "list" {
		return "list " + o.ListKey
	}
	return o.IngestMode
}

// browsable turns a listen address into one a browser can open.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
