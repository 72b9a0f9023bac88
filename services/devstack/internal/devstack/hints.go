package devstack

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/brokerurls"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// The banner's "watch the messages" and "look into Redis" commands, made
// from the URLs the services were given: the first broker of a list, TLS
// and the user name where the URL has them (redisconn's CLI for Redis).
// Never a password: the commands ask for it.

// mosquittoSubHint is a mosquitto_sub command for nemo/# on the first
// broker of rawURL (the publisher takes several, separated by spaces or
// commas).
func mosquittoSubHint(rawURL string) string {
	u := &url.URL{}
	if urls := brokerurls.Split(rawURL); len(urls) > 0 {
		u = shown(urls[0])
	}
	if u.Host == "" {
		return "mosquitto_sub -t 'nemo/#' -v   (with the broker's host and port)"
	}
	tls := strings.EqualFold(u.Scheme, "mqtts") || strings.EqualFold(u.Scheme, "ssl")
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "1883", true: "8883"}[tls]
	}
	cmd := fmt.Sprintf("mosquitto_sub -h %s -p %s", u.Hostname(), port)
	if tls {
		cmd += " --cafile <the broker's CA file>"
	}
	if name := u.User.Username(); name != "" {
		cmd += " -u " + name + " -P <its password>"
	}
	return cmd + " -t 'nemo/#' -v"
}

// redisCliHint is a redis-cli command that lists the dead letters in the
// Redis of rawURL, read as the services read it.
func redisCliHint(rawURL, key string) string {
	cfg, err := redisconn.Parse("redis-url", rawURL, "devstack")
	if err != nil {
		return "redis-cli XRANGE " + key + " - +   (with the Redis's host, port and database)"
	}
	return cfg.CLI("XRANGE " + key + " - +")
}
