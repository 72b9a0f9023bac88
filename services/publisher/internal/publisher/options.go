// Package publisher is the publisher service: it owns the bridge's MQTT
// session and publishes what the router sends, answering for each message
// once the broker acknowledged it.
package publisher

import (
	"flag"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// Options configure the publisher.
type Options struct {
	Service       service.Options
	MQTT          mqttsession.Config
	MaxInFlight   int
	Capacity      int
	AckTimeout    time.Duration
	LeaseRedisURL string
	LeaseTTL      time.Duration
	// PresenceTopic, when set, gets "online"/"offline" for tool displays
	// over a second connection (see mqttsession.Presence).
	PresenceTopic string
	// RedisURL is NEMO's Redis, where the active publisher keeps the
	// NEMO plugin's bridge status (see pluginstatus); empty: not kept.
	RedisURL string
}

// Bind registers the publisher's flags.
func (o *Options) Bind(fs *flag.FlagSet) {
	o.Service.Bind(fs, "publisher", "127.0.0.1:7003", "127.0.0.1:9103")
	secret.Var(fs, &o.MQTT.URL, "mqtt-url", "mqtt://localhost:1883", "broker URL: mqtt://host:port or mqtts://host:port for TLS; several (the nodes of a broker cluster), separated by spaces or commas, are tried in order at each connection attempt; a user name and password in a URL (mqtt://user:password@host) are used for that broker unless -mqtt-username or -mqtt-password give theirs (see docs/brokers.md)")
	fs.StringVar(&o.MQTT.ClientID, "mqtt-client-id", "nemo-bridge", "MQTT client identifier of the bridge's session")
	fs.StringVar(&o.MQTT.Username, "mqtt-username", "", "MQTT user name (wins over one in -mqtt-url, for every broker)")
	secret.Var(fs, &o.MQTT.Password, "mqtt-password", "", "MQTT password (wins over one in -mqtt-url, for every broker)")
	fs.StringVar(&o.MQTT.CAFile, "mqtt-ca-file", "", "PEM file of the CA that signed the broker's certificate (empty: the system's)")
	fs.StringVar(&o.MQTT.CertFile, "mqtt-cert-file", "", "PEM client certificate, for brokers that require one")
	fs.StringVar(&o.MQTT.KeyFile, "mqtt-key-file", "", "PEM key of the client certificate")
	fs.StringVar(&o.MQTT.ServerName, "mqtt-server-name", "", "name to expect in the broker's certificate (empty: the URL's host)")
	fs.StringVar(&o.MQTT.TLSMinVersion, "mqtt-tls-min-version", "1.2", "oldest TLS version accepted: 1.2 or 1.3")
	fs.DurationVar(&o.MQTT.TLSReloadInterval, "mqtt-tls-reload-interval", 5*time.Second, "how often to check the CA, certificate and key files for renewal while connected; when they change, the bridge reconnects to use them (0: off, renewed files are used at the next reconnect)")
	fs.BoolVar(&o.MQTT.InsecureSkipVerify, "mqtt-insecure-skip-verify", false, "accept any broker certificate (tests only: a loud warning is logged at every connect)")
	fs.DurationVar(&o.MQTT.KeepAlive, "mqtt-keepalive", 30*time.Second, "MQTT keepalive interval")
	fs.DurationVar(&o.MQTT.SessionExpiry, "mqtt-session-expiry", 10*time.Minute, "how long the broker keeps the session across a reconnect, so unacknowledged messages are resent")
	fs.StringVar(&o.MQTT.StatusTopic, "status-topic", "nemo/bridge/status", "retained topic where the bridge says it is online or offline (also its last will); empty: off")
	secret.Var(fs, &o.RedisURL, "redis-url", "", "NEMO's Redis, the database its plugin uses (as ingest's -redis-url): the active publisher keeps nemo_mqtt_bridge_status there, connected or disconnected, which the plugin's page shows (empty: not kept)")
	secret.Var(fs, &o.LeaseRedisURL, "lease-redis-url", "", "Redis holding the lease that lets only one publisher per client id be active; others stand by (empty: no lease, run one publisher)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", 5*time.Second, "how long a dead publisher's lease lasts before a standby takes over")
	fs.StringVar(&o.PresenceTopic, "presence-topic", "", "retained topic where tool displays read whether the bridge is up, as plain online or offline (also the last will of a second connection, client id <client-id>-presence), for example nemo/server/status; empty: off")
	fs.IntVar(&o.MaxInFlight, "max-inflight", 1000, "messages sent to the broker and not yet acknowledged, at most (the broker's Receive Maximum may lower it); a tool's messages are answered in order whatever this is")
	fs.IntVar(&o.Capacity, "max-pending", 4096, "messages held at once, sent or waiting to be; beyond it the router's stream waits")
	fs.DurationVar(&o.AckTimeout, "mqtt-ack-timeout", 30*time.Second, "how long the broker may leave a message unacknowledged on a live connection before the bridge reconnects, so that the session resends it")
}
