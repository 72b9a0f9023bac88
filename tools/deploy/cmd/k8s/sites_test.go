package main

// The checks of the NEMO sites (deploy/k8s/components/site-ingest). One
// bridge may serve several NEMO sites: each extra site is read by an ingest
// of its own, started with -site (SITE), which stamps its events and keeps
// its tools, topics (under -site-topic-prefix, the site's name and / by
// default) and lease apart from every other site's. Its -redis-url is the
// site's Redis, where that site's NEMO writes; -lease-redis-url is the
// bridge's own, where the site's lease and running totals must go.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// checkSites: in each namespace, every ingest with a -site has a site of its
// own and a topic prefix of its own (two workloads of one site would read
// under one lease key from two Redis, or mix two sites' tools; one prefix
// would mix their topics); and every ingest with a -site sets
// -lease-redis-url (or its file): without it the site's lease and running
// totals go to the site's Redis (-redis-url), where the gateway does not
// read the totals and where a second bridge's lease would not be seen.
func (c *checker) checkSites() {
	ib, gb := c.env.bins["ingest"], c.env.bins["gateway"]
	if ib == nil || gb == nil {
		return // no binary to read the defaults from (TestStrictDecoding)
	}
	// ns -> site -> the pods of its ingest StatefulSet, "<pod>.<service>".
	pods := map[string]map[string][]string{}
	// "ns/site" or "ns/prefix" -> the first workload that has it.
	sites, prefixes := map[string]string{}, map[string]string{}
	for _, w := range c.workloads {
		for _, ct := range bridgeContainers(w, "ingest") {
			site, known := flagValue(ct, ib, "site")
			if !known {
				c.addf(w.object, ct.Name, "-site comes from valueFrom: that each site has its own ingest cannot be checked")
				continue
			}
			if ss, ok := w.obj.(*appsv1.StatefulSet); ok {
				if pods[w.ns] == nil {
					pods[w.ns] = map[string][]string{}
				}
				replicas := int32(1)
				if ss.Spec.Replicas != nil {
					replicas = *ss.Spec.Replicas
				}
				for i := range replicas {
					pods[w.ns][site] = append(pods[w.ns][site], fmt.Sprintf("%s-%d.%s", w.name, i, ss.Spec.ServiceName))
				}
			}
			if site == "" {
				continue // the default site
			}
			if other, dup := sites[w.ns+"/"+site]; dup && other != w.name {
				c.addf(w.object, ct.Name, "-site %q (%s) is also %s's: each site needs its own, read by one ingest StatefulSet", site, svcEnvHint(ib, "site"), other)
			} else if !dup {
				sites[w.ns+"/"+site] = w.name
			}
			prefix, known := flagValue(ct, ib, "site-topic-prefix")
			if known {
				if prefix == "" {
					prefix = site + "/"
				}
				if other, dup := prefixes[w.ns+"/"+prefix]; dup && other != w.name {
					c.addf(w.object, ct.Name, "site %q's topic prefix %q (%s) is also %s's: each site's topics need a prefix of their own", site, prefix, svcEnvHint(ib, "site-topic-prefix"), other)
				} else if !dup {
					prefixes[w.ns+"/"+prefix] = w.name
				}
			}
			if !leaseRedisSet(ct, ib) {
				c.addf(w.object, ct.Name, "-site %q without -lease-redis-url-file (%s): the site's lease and running totals would go to the site's Redis (-redis-url), where the gateway does not read them; point it at the bridge's own Redis", site, svcEnvHint(ib, "lease-redis-url-file"))
			}
		}
	}
	c.checkGatewayIngests(pods, gb)
}

// checkGatewayIngests: when the overlay runs ingests of named sites, every
// gateway's -ingest-addr names each site's ingest pods, in a group
// "site=pod,pod" (the default site's unnamed), so that its health says when
// nobody reads a site's events.
func (c *checker) checkGatewayIngests(pods map[string]map[string][]string, gb *binary) {
	for _, w := range c.workloads {
		want := pods[w.ns]
		if len(want) < 2 {
			continue // one input: a plain list, as before sites
		}
		for _, ct := range bridgeContainers(w, "gateway") {
			v, known := flagValue(ct, gb, "ingest-addr")
			if !known {
				c.addf(w.object, ct.Name, "-ingest-addr comes from valueFrom: that it names every site's ingests cannot be checked")
				continue
			}
			got := map[string][]string{}
			for _, group := range strings.Split(v, ";") {
				site, addrs, named := strings.Cut(group, "=")
				if !named {
					site, addrs = "", group
				}
				got[strings.TrimSpace(site)] = parseShardList(addrs, w.ns)[0]
			}
			for _, site := range slices.Sorted(maps.Keys(want)) {
				name := "the default site"
				if site != "" {
					name = "site " + site
				}
				if !slices.Equal(got[site], want[site]) {
					c.addf(w.object, ct.Name, "-ingest-addr (%s) names %s's ingests as %q, want its StatefulSet's pods %s (a group %q separated from the others by ;), so that the health says when nobody reads its events", svcEnvHint(gb, "ingest-addr"), name, strings.Join(got[site], ","), strings.Join(want[site], ","), groupHint(site))
				}
			}
		}
	}
}

func groupHint(site string) string {
	if site == "" {
		return "pod,pod"
	}
	return site + "=pod,pod"
}

// leaseRedisSet: -lease-redis-url or -lease-redis-url-file is given a value,
// or one from valueFrom.
func leaseRedisSet(ct corev1.Container, b *binary) bool {
	for _, f := range []string{"lease-redis-url", "lease-redis-url-file"} {
		if v, known := flagValue(ct, b, f); !known || v != "" {
			return true
		}
	}
	return false
}

// siteFixture is an ingest StatefulSet for TestSiteChecksFire: only what
// the site checks read.
func siteFixture(name, env string) string {
	return `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ` + name + `, namespace: ns}
spec:
  replicas: 2
  serviceName: ` + name + `
  selector: {matchLabels: {app.kubernetes.io/name: ` + name + `}}
  template:
    metadata: {labels: {app.kubernetes.io/name: ` + name + `}}
    spec:
      containers:
        - name: ingest
          image: nemo-mqtt-bridge/ingest:1
          env: [` + env + `]
`
}

// gatewayFixture is a gateway Deployment whose -ingest-addr is addrs.
func gatewayFixture(addrs string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: ns}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: gateway}}
  template:
    metadata: {labels: {app.kubernetes.io/name: gateway}}
    spec:
      containers:
        - name: gateway
          image: nemo-mqtt-bridge/gateway:1
          env: [{name: INGEST_ADDR, value: "` + addrs + `"}]
`
}

// The site checks pass the default site's ingest beside two sites with
// their own SITE and the bridge's Redis for the lease (from a file, or from
// a Secret by valueFrom), and fire on a site read by two StatefulSets, a
// site without LEASE_REDIS_URL_FILE, and two sites sharing a topic prefix.
func TestSiteChecksFire(t *testing.T) {
	env := &checkEnv{bins: bridgeBinaries(t)}
	lease := "{name: LEASE_REDIS_URL_FILE, value: /etc/nemo-bridge/lease-redis/url}"
	good := strings.Join([]string{
		siteFixture("ingest", ""),
		siteFixture("ingest-site-north", "{name: SITE, value: north}, "+lease),
		siteFixture("ingest-site-south", "{name: SITE, value: south}, {name: SITE_TOPIC_PREFIX, value: sites/south/}, {name: LEASE_REDIS_URL, valueFrom: {secretKeyRef: {name: nemo-bridge-redis, key: url}}}"),
		gatewayFixture("ingest-0.ingest:7001,ingest-1.ingest:7001;north=ingest-site-north-0.ingest-site-north:7001,ingest-site-north-1.ingest-site-north:7001;south=ingest-site-south-0.ingest-site-south:7001,ingest-site-south-1.ingest-site-south:7001"),
	}, "---\n")
	siteProblem := func(p string) bool {
		return slices.ContainsFunc([]string{"-site ", "topic prefix", "lease-redis-url", "-ingest-addr ("}, func(s string) bool { return strings.Contains(p, s) })
	}
	for _, p := range checkOverlay("good", []byte(good), env) {
		// The fixture is only what the site checks read: the others fire.
		if siteProblem(p) {
			t.Errorf("good sites: %s", p)
		}
	}
	broken := strings.Join([]string{
		siteFixture("ingest", ""),
		siteFixture("ingest-site-north", "{name: SITE, value: north}, "+lease),
		siteFixture("ingest-site-north-b", "{name: SITE, value: north}, "+lease),
		siteFixture("ingest-site-south", "{name: SITE, value: south}"),
		siteFixture("ingest-site-east", "{name: SITE, value: east}, {name: SITE_TOPIC_PREFIX, value: north/}, "+lease),
		gatewayFixture("ingest-0.ingest:7001,ingest-1.ingest:7001"),
	}, "---\n")
	problems := checkOverlay("broken", []byte(broken), env)
	for _, want := range []string{
		`StatefulSet/ingest-site-north-b container ingest: -site "north" ($SITE) is also ingest-site-north's`,
		`StatefulSet/ingest-site-south container ingest: -site "south" without -lease-redis-url-file ($LEASE_REDIS_URL_FILE)`,
		`StatefulSet/ingest-site-east container ingest: site "east"'s topic prefix "north/" ($SITE_TOPIC_PREFIX) is also ingest-site-north's`,
		`Deployment/gateway container gateway: -ingest-addr ($INGEST_ADDR) names site north's ingests as "", want its StatefulSet's pods ingest-site-north-0.ingest-site-north,ingest-site-north-1.ingest-site-north`,
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("broken sites: no problem reported containing %q", want)
		}
	}
	for _, p := range problems {
		if siteProblem(p) && (strings.Contains(p, "StatefulSet/ingest ") || strings.Contains(p, "StatefulSet/ingest-site-north ")) {
			t.Errorf("broken sites: a good ingest reported: %s", p)
		}
	}
	if t.Failed() {
		t.Logf("reported:\n%s", strings.Join(problems, "\n"))
	}
}
