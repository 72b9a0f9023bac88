package main

// The checks of the publisher shards (docs/scaling.md, "Publisher shards";
// deploy/k8s/components/publisher-shards). A shard is one StatefulSet of
// publishers, an active one and its standbys sharing one MQTT client id and
// so one lease. Shard 0 is the StatefulSet publisher, shard n the
// StatefulSet publisher-shard-<n>: the names give the order the routers
// must list the shards in.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// shardOf is the shard number a publisher StatefulSet's name says, or -1.
func shardOf(name string) int {
	if name == "publisher" {
		return 0
	}
	n, ok := strings.CutPrefix(name, "publisher-shard-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 1 || strconv.Itoa(i) != n {
		return -1
	}
	return i
}

// flagValue is what a flag of the bridge's binary b is in container ct:
// from the arguments, else its env twin, else its default. known is false
// when the value comes from valueFrom, which the overlay does not tell.
func flagValue(ct corev1.Container, b *binary, flag string) (val string, known bool) {
	args := ct.Args
	if len(ct.Command) > 0 {
		args = append(slices.Clone(ct.Command[1:]), ct.Args...)
	}
	for i := 0; i < len(args); i++ {
		name, v, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || name != flag {
			continue
		}
		if !hasVal && i+1 < len(args) {
			v, hasVal = args[i+1], true
		}
		if hasVal {
			val, known = v, true
		}
	}
	if known {
		return val, true
	}
	for _, e := range ct.Env {
		if b.envFlag[e.Name] == flag {
			val, known = e.Value, e.ValueFrom == nil
			if !known {
				return "", false
			}
		}
	}
	if known {
		return val, true
	}
	return b.defaults[flag], true
}

// bridgeContainers are the containers of w that run the bridge's service svc.
func bridgeContainers(w workload, svc string) []corev1.Container {
	var cts []corev1.Container
	for _, ct := range w.tmpl.Spec.Containers {
		if m := bridgeImage.FindStringSubmatch(ct.Image); m != nil && m[1] == svc {
			cts = append(cts, ct)
		}
	}
	return cts
}

// parseShardList is -publisher-addr as the router and the gateway read it:
// shards separated by ";", a shard's addresses by ","; each address as a
// host, its port and the namespace (ns, ns.svc, ns.svc.cluster.local)
// dropped.
func parseShardList(v, ns string) [][]string {
	var shards [][]string
	for _, shard := range strings.Split(v, ";") {
		var hosts []string
		for _, addr := range strings.Split(shard, ",") {
			addr = strings.TrimSpace(addr)
			if addr == "" {
				continue
			}
			host := addr
			if i := strings.LastIndex(addr, ":"); i >= 0 {
				host = addr[:i]
			}
			host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(host, ".cluster.local"), ".svc"), "."+ns)
			hosts = append(hosts, host)
		}
		shards = append(shards, hosts)
	}
	return shards
}

// checkShards: every publisher shard has its own MQTT client id, status
// topic and presence topic (when set); the shards are numbered 0, 1, … with
// none missing; and every router's and gateway's -publisher-addr names
// every shard's pods, shard after shard in their order, each shard's pods
// by ordinal, so that every router hashes a tool to the same shard.
func (c *checker) checkShards() {
	pb, rb, gb := c.env.bins["publisher"], c.env.bins["router"], c.env.bins["gateway"]
	if pb == nil || rb == nil || gb == nil {
		return // no binaries to read the defaults from (TestStrictDecoding)
	}
	// The shards of each namespace, by number.
	type shard struct {
		w    workload
		pods []string // <pod>.<service>, by ordinal
	}
	byNs := map[string]map[int]shard{}
	// flag -> value -> the first shard that has it.
	owners := map[string]map[string]string{}
	for _, w := range c.workloads {
		cts := bridgeContainers(w, "publisher")
		if len(cts) == 0 {
			continue
		}
		ss, ok := w.obj.(*appsv1.StatefulSet)
		if !ok {
			c.addf(w.object, "", "runs the publisher but is not a StatefulSet: the routers and the gateway dial each publisher by its stable pod name")
			continue
		}
		n := shardOf(w.name)
		if n < 0 {
			c.addf(w.object, "", "a publisher StatefulSet named neither publisher (shard 0) nor publisher-shard-<n> (shard n): its shard, and so its place in -publisher-addr, is unknown")
			continue
		}
		replicas := int32(1)
		if ss.Spec.Replicas != nil {
			replicas = *ss.Spec.Replicas
		}
		s := shard{w: w}
		for i := range replicas {
			s.pods = append(s.pods, fmt.Sprintf("%s-%d.%s", w.name, i, ss.Spec.ServiceName))
		}
		if byNs[w.ns] == nil {
			byNs[w.ns] = map[int]shard{}
		}
		byNs[w.ns][n] = s
		for _, ct := range cts {
			for _, f := range []string{"mqtt-client-id", "status-topic", "presence-topic"} {
				v, known := flagValue(ct, pb, f)
				if !known || (v == "" && f != "mqtt-client-id") {
					continue // off, or not known here
				}
				k := w.ns + "/" + f
				if owners[k] == nil {
					owners[k] = map[string]string{}
				}
				if other, dup := owners[k][v]; dup && other != w.name {
					c.addf(w.object, ct.Name, "-%s %q (%s) is also StatefulSet %s's: each publisher shard needs its own", f, v, svcEnvHint(pb, f), other)
				} else if !dup {
					owners[k][v] = w.name
				}
			}
		}
	}
	for ns, shards := range byNs {
		var want [][]string
		for i := range len(shards) {
			s, ok := shards[i]
			if !ok {
				c.problems = append(c.problems, fmt.Sprintf("overlay %s: namespace %q: %d publisher shards but no shard %d (StatefulSet %s): number them 0, 1, … without a gap", c.overlay, ns, len(shards), i, shardName(i)))
				want = nil
				break
			}
			want = append(want, s.pods)
		}
		if want == nil {
			continue
		}
		for _, w := range c.workloads {
			if w.ns != ns {
				continue
			}
			for _, svc := range []string{"router", "gateway"} {
				b := rb
				if svc == "gateway" {
					b = gb
				}
				for _, ct := range bridgeContainers(w, svc) {
					v, known := flagValue(ct, b, "publisher-addr")
					if !known {
						c.addf(w.object, ct.Name, "-publisher-addr comes from valueFrom: its shards cannot be checked")
						continue
					}
					got := parseShardList(v, ns)
					if len(got) != len(want) {
						c.addf(w.object, ct.Name, "-publisher-addr names %d publisher shards, the overlay runs %d (%s): list every shard, shard 0 first, separated by ;", len(got), len(want), shardNames(len(want)))
					} else {
						for i := range want {
							if !slices.Equal(got[i], want[i]) {
								c.addf(w.object, ct.Name, "-publisher-addr shard %d is %s, want StatefulSet %s's pods in order: %s", i, strings.Join(got[i], ","), shardName(i), strings.Join(want[i], ","))
							}
						}
					}
				}
			}
		}
	}
}

func shardName(i int) string {
	if i == 0 {
		return "publisher"
	}
	return fmt.Sprintf("publisher-shard-%d", i)
}

func shardNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = shardName(i)
	}
	return strings.Join(names, ", ")
}

func TestShardOf(t *testing.T) {
	for name, want := range map[string]int{
		"publisher": 0, "publisher-shard-1": 1, "publisher-shard-12": 12,
		"publisher-shard-0": -1, "publisher-shard-01": -1, "publisher-shard-x": -1, "publisher-2": -1, "router": -1,
	} {
		if got := shardOf(name); got != want {
			t.Errorf("shardOf(%q) = %d, want %d", name, got, want)
		}
	}
}

// shardFixture is a publisher StatefulSet for TestShardChecksFire: only
// what the shard checks read.
func shardFixture(name string, replicas int, env string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: %s, namespace: ns}
spec:
  replicas: %d
  serviceName: %s
  selector: {matchLabels: {app.kubernetes.io/name: %s}}
  template:
    metadata: {labels: {app.kubernetes.io/name: %s}}
    spec:
      containers:
        - name: publisher
          image: nemo-mqtt-bridge/publisher:1
          env: [%s]
`, name, replicas, name, name, name, env)
}

// The shard checks pass three good shards and fire on a client id and a
// status topic shared by two shards, a router listing the shards out of
// order, another router missing one, a gateway listing a shard's pods out
// of order, a gap in the shards' numbers, a publisher StatefulSet outside
// the naming.
func TestShardChecksFire(t *testing.T) {
	env := &checkEnv{bins: bridgeBinaries(t)}
	// A router StatefulSet, or the gateway's Deployment.
	peer := func(kind, name, svc, addr string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: %s
metadata: {name: %s, namespace: ns}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: %s}}
  template:
    metadata: {labels: {app.kubernetes.io/name: %s}}
    spec:
      containers:
        - name: %s
          image: nemo-mqtt-bridge/%s:1
          env: [{name: PUBLISHER_ADDR, value: %q}]
`, kind, name, name, name, svc, svc, addr)
	}
	s0 := "publisher-0.publisher:7003,publisher-1.publisher:7003"
	s1 := "publisher-shard-1-0.publisher-shard-1:7003,publisher-shard-1-1.publisher-shard-1:7003"
	s1r := "publisher-shard-1-1.publisher-shard-1:7003,publisher-shard-1-0.publisher-shard-1:7003"
	s2 := "publisher-shard-2-0.publisher-shard-2.ns.svc:7003,publisher-shard-2-1.publisher-shard-2:7003"
	good := strings.Join([]string{
		shardFixture("publisher", 2, ""),
		shardFixture("publisher-shard-1", 2, "{name: MQTT_CLIENT_ID, value: nemo-bridge-1}, {name: STATUS_TOPIC, value: nemo/bridge/1/status}"),
		shardFixture("publisher-shard-2", 2, "{name: MQTT_CLIENT_ID, value: nemo-bridge-2}, {name: STATUS_TOPIC, value: nemo/bridge/2/status}"),
		peer("Deployment", "gateway", "gateway", s0+";"+s1+";"+s2),
		peer("StatefulSet", "router", "router", s0+";"+s1+";"+s2),
	}, "---\n")
	for _, p := range checkOverlay("good", []byte(good), env) {
		// The fixture is only what the shard checks read: the others fire.
		if slices.ContainsFunc([]string{"publisher shards", "-publisher-addr shard", "-publisher-addr names", "-publisher-addr comes", "is also StatefulSet", "publisher StatefulSet named", "not a StatefulSet"}, func(s string) bool { return strings.Contains(p, s) }) {
			t.Errorf("good shards: %s", p)
		}
	}
	broken := strings.Join([]string{
		shardFixture("publisher", 2, ""),
		shardFixture("publisher-shard-1", 2, "{name: STATUS_TOPIC, value: nemo/bridge/status}"),
		shardFixture("publisher-shard-2", 2, "{name: MQTT_CLIENT_ID, value: nemo-bridge-2}, {name: STATUS_TOPIC, value: nemo/bridge/2/status}"),
		peer("StatefulSet", "router", "router", s0+";"+s2+";"+s1),
		peer("StatefulSet", "router-b", "router", s0+";"+s1),
		peer("Deployment", "gateway", "gateway", s0+";"+s1r+";"+s2),
	}, "---\n")
	problems := checkOverlay("broken", []byte(broken), env)
	for _, want := range []string{
		`StatefulSet/publisher-shard-1 container publisher: -mqtt-client-id "nemo-bridge" ($MQTT_CLIENT_ID) is also StatefulSet publisher's`,
		`StatefulSet/publisher-shard-1 container publisher: -status-topic "nemo/bridge/status" ($STATUS_TOPIC) is also StatefulSet publisher's`,
		`StatefulSet/router container router: -publisher-addr shard 1 is publisher-shard-2-0.publisher-shard-2,publisher-shard-2-1.publisher-shard-2, want StatefulSet publisher-shard-1's pods in order: publisher-shard-1-0.publisher-shard-1,publisher-shard-1-1.publisher-shard-1`,
		`StatefulSet/router-b container router: -publisher-addr names 2 publisher shards, the overlay runs 3 (publisher, publisher-shard-1, publisher-shard-2)`,
		`Deployment/gateway container gateway: -publisher-addr shard 1 is publisher-shard-1-1.publisher-shard-1,publisher-shard-1-0.publisher-shard-1, want`,
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("broken shards: no problem reported containing %q", want)
		}
	}
	gap := strings.Join([]string{
		shardFixture("publisher", 2, ""),
		shardFixture("publisher-shard-2", 2, "{name: MQTT_CLIENT_ID, value: nemo-bridge-2}, {name: STATUS_TOPIC, value: nemo/bridge/2/status}"),
		shardFixture("publisher-b", 2, "{name: MQTT_CLIENT_ID, value: nemo-bridge-b}, {name: STATUS_TOPIC, value: nemo/bridge/b/status}"),
	}, "---\n")
	problems = append(problems, checkOverlay("gap", []byte(gap), env)...)
	for _, want := range []string{
		`namespace "ns": 2 publisher shards but no shard 1 (StatefulSet publisher-shard-1)`,
		`StatefulSet/publisher-b: a publisher StatefulSet named neither publisher (shard 0) nor publisher-shard-<n>`,
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("gap: no problem reported containing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("reported:\n%s", strings.Join(problems, "\n"))
	}
}
