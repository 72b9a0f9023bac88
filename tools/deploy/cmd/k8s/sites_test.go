package main

// The checks of the NEMO sites (deploy/k8s/components/site-ingest). One
// bridge may serve several NEMO sites: each extra site is read by an ingest
// of its own, started with -site (SITE), which stamps its events and keeps
// its tools, topics (under -site-topic-prefix, the site's name and / by
// default) and lease apart from every other site's. Its -redis-url is the
// site's Redis, where that site's NEMO writes; -lease-redis-url is the
// bridge's own, where the site's lease and running totals must go.

import (
	"slices"
	"strings"
	"testing"

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
	ib := c.env.bins["ingest"]
	if ib == nil {
		return // no binary to read the defaults from (TestStrictDecoding)
	}
	// "ns/site" or "ns/prefix" -> the first workload that has it.
	sites, prefixes := map[string]string{}, map[string]string{}
	for _, w := range c.workloads {
		for _, ct := range bridgeContainers(w, "ingest") {
			site, known := flagValue(ct, ib, "site")
			if !known {
				c.addf(w.object, ct.Name, "-site comes from valueFrom: that each site has its own ingest cannot be checked")
				continue
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
	}, "---\n")
	siteProblem := func(p string) bool {
		return slices.ContainsFunc([]string{"-site ", "topic prefix", "lease-redis-url"}, func(s string) bool { return strings.Contains(p, s) })
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
	}, "---\n")
	problems := checkOverlay("broken", []byte(broken), env)
	for _, want := range []string{
		`StatefulSet/ingest-site-north-b container ingest: -site "north" ($SITE) is also ingest-site-north's`,
		`StatefulSet/ingest-site-south container ingest: -site "south" without -lease-redis-url-file ($LEASE_REDIS_URL_FILE)`,
		`StatefulSet/ingest-site-east container ingest: site "east"'s topic prefix "north/" ($SITE_TOPIC_PREFIX) is also ingest-site-north's`,
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
