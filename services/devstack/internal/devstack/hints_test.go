package devstack

import (
	"strings"
	"testing"
)

func TestTheBannersCommandsFollowTheURLsGiven(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"mqtt://127.0.0.1:41883", "mosquitto_sub -h 127.0.0.1 -p 41883 -t 'nemo/#' -v"},
		{"mqtts://broker.lab.example", "mosquitto_sub -h broker.lab.example -p 8883 --cafile <the broker's CA file> -t 'nemo/#' -v"},
		{"mqtt://bridge:s3cret@a.lab:1883, mqtt://b.lab:1883", "mosquitto_sub -h a.lab -p 1883 -u bridge -P <its password> -t 'nemo/#' -v"},
		{"mqtt://a.lab mqtt://b.lab", "mosquitto_sub -h a.lab -p 1883 -t 'nemo/#' -v"},
		{"not a url", "mosquitto_sub -t 'nemo/#' -v   (with the broker's host and port)"},
	} {
		if got := mosquittoSubHint(c.url); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.url, got, c.want)
		}
	}
	const key = "nemo:bridge:dead"
	for _, c := range []struct{ url, want string }{
		{"redis://127.0.0.1:46379/1", "redis-cli -h 127.0.0.1 -p 46379 -n 1 XRANGE nemo:bridge:dead - +"},
		{"redis://:s3cret@redis.lab", "redis-cli -h redis.lab -p 6379 --askpass -n 0 XRANGE nemo:bridge:dead - +"},
		{"rediss://bridge:s3cret@redis.lab:6380/3", "redis-cli -h redis.lab -p 6380 --tls --user bridge --askpass -n 3 XRANGE nemo:bridge:dead - +"},
		{"redis+sentinel://s1.lab:26379,s2.lab:26379/mymaster/1",
			"redis-cli -h s1.lab -p 26379 SENTINEL get-master-addr-by-name mymaster\n  then: redis-cli -h <its host> -p <its port> -n 1 XRANGE nemo:bridge:dead - +"},
		{"redis+cluster://n1.lab:7000,n2.lab:7000", "redis-cli -c -h n1.lab -p 7000 XRANGE nemo:bridge:dead - +"},
		{"redis+sentinel://s1.lab,s2.lab/mymaster", "redis-cli -h s1.lab -p 26379 SENTINEL get-master-addr-by-name mymaster\n  then: redis-cli -h <its host> -p <its port> -n 0 XRANGE nemo:bridge:dead - +"},
	} {
		got := redisCliHint(c.url, key)
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.url, got, c.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("%s: the command shows the password: %s", c.url, got)
		}
	}
}
