package redisconn

import (
	"crypto/tls"
	"fmt"
	"net"
)

// CLI is a redis-cli command line that runs args on the Redis c names, for
// a person to type: on a Cluster through its first node (-c), with
// Sentinel on the primary that its first sentinel names, with --tls and
// the user name where the URL gives them, and --askpass where it gives a
// password, which the line never shows.
func (c Config) CLI(args string) string {
	switch c.kind {
	case Sentinel:
		o := c.failover
		host, port := hostPort(o.SentinelAddrs[0])
		tlsFlag := cliTLS(o.TLSConfig)
		return fmt.Sprintf("redis-cli -h %s -p %s%s SENTINEL get-master-addr-by-name %s\n  then: redis-cli -h <its host> -p <its port>%s%s -n %d %s",
			host, port, tlsFlag, o.MasterName, tlsFlag, cliLogin(o.Username, o.Password), o.DB, args)
	case Cluster:
		o := c.cluster
		host, port := hostPort(o.Addrs[0])
		return fmt.Sprintf("redis-cli -c -h %s -p %s%s%s %s", host, port, cliTLS(o.TLSConfig), cliLogin(o.Username, o.Password), args)
	}
	o := c.single
	host, port := hostPort(o.Addr)
	return fmt.Sprintf("redis-cli -h %s -p %s%s%s -n %d %s", host, port, cliTLS(o.TLSConfig), cliLogin(o.Username, o.Password), o.DB, args)
}

// hostPort splits an address the parsers wrote as host:port.
func hostPort(addr string) (host, port string) {
	host, port, _ = net.SplitHostPort(addr)
	return host, port
}

func cliTLS(cfg *tls.Config) string {
	if cfg != nil {
		return " --tls"
	}
	return ""
}

func cliLogin(user, password string) string {
	switch {
	case user != "":
		return " --user " + user + " --askpass"
	case password != "":
		return " --askpass"
	}
	return ""
}
