package devstack

import (
	"fmt"
	"net"
	"strings"
)

// The banner's "watch the messages" and "look into Redis" commands, made
// from the URLs the services were given: the first broker of a list, the
// database of the URL, a sentinel asked for its primary, a cluster node
// with -c, TLS and the user name where the URL has them. Never a password:
// the commands ask for it.

// mosquittoSubHint is a mosquitto_sub command for nemo/# on the first
// broker of rawURL (the publisher takes several, separated by spaces or
// commas).
func mosquittoSubHint(rawURL string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(strings.ReplaceAll(rawURL, ",", " ")), " ")
	u := shown(first)
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
// Redis of rawURL, in the forms redisconn reads: redis[s]://host/db,
// redis[s]+sentinel://hosts/master/db (the sentinel names the primary
// first), redis[s]+cluster://hosts.
func redisCliHint(rawURL, key string) string {
	u := shown(rawURL)
	if u.Host == "" {
		return "redis-cli XRANGE " + key + " - +   (with the Redis's host, port and database)"
	}
	scheme := strings.ToLower(u.Scheme)
	tls := ""
	if strings.HasPrefix(scheme, "rediss") {
		tls = " --tls"
	}
	login := ""
	if name := u.User.Username(); name != "" {
		login = " --user " + name + " --askpass"
	} else if _, set := u.User.Password(); set {
		login = " --askpass"
	}
	host, port := firstHost(u.Host, "6379")
	path := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case strings.HasSuffix(scheme, "+sentinel"):
		host, port = firstHost(u.Host, "26379")
		master, db := path[0], dbOf(path[1:])
		return fmt.Sprintf("redis-cli -h %s -p %s%s SENTINEL get-master-addr-by-name %s\n  then: redis-cli -h <its host> -p <its port>%s%s -n %s XRANGE %s - +",
			host, port, tls, master, tls, login, db, key)
	case strings.HasSuffix(scheme, "+cluster"):
		return fmt.Sprintf("redis-cli -c -h %s -p %s%s%s XRANGE %s - +", host, port, tls, login, key)
	}
	return fmt.Sprintf("redis-cli -h %s -p %s%s%s -n %s XRANGE %s - +", host, port, tls, login, dbOf(path), key)
}

// firstHost is the first of a comma-separated host list, with its port or
// the default one.
func firstHost(hosts, defaultPort string) (host, port string) {
	first, _, _ := strings.Cut(hosts, ",")
	if h, p, err := net.SplitHostPort(first); err == nil {
		return h, p
	}
	return strings.Trim(first, "[]"), defaultPort
}

// dbOf is the database a URL's path names, 0 when it names none.
func dbOf(path []string) string {
	if len(path) == 0 || path[0] == "" {
		return "0"
	}
	return path[0]
}
