package statusapi

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// -ingest-addr: inputs (sites) separated by ";", an input's ingests by
// ","; the input without a name is the default site's. A plain list is
// one input, as before sites.
func TestParseIngestAddrs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []IngestAddrs
	}{
		{"localhost:7001", []IngestAddrs{{Addrs: []string{"localhost:7001"}}}},
		{"ingest-0.ingest:7001, ingest-1.ingest:7001", []IngestAddrs{{Addrs: []string{"ingest-0.ingest:7001", "ingest-1.ingest:7001"}}}},
		{"ingest-0.ingest:7001,ingest-1.ingest:7001;north=ingest-site-north-0.ingest-site-north:7001,ingest-site-north-1.ingest-site-north:7001", []IngestAddrs{
			{Addrs: []string{"ingest-0.ingest:7001", "ingest-1.ingest:7001"}},
			{Site: "north", Addrs: []string{"ingest-site-north-0.ingest-site-north:7001", "ingest-site-north-1.ingest-site-north:7001"}},
		}},
		{" north = n0:7001 ; south=s0:7001,s1:7001", []IngestAddrs{
			{Site: "north", Addrs: []string{"n0:7001"}},
			{Site: "south", Addrs: []string{"s0:7001", "s1:7001"}},
		}},
	} {
		got, err := ParseIngestAddrs(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// Each malformed value is refused, saying what is wrong.
func TestParseIngestAddrsRefusesMalformed(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "no address",
		"  ":                          "no address",
		"a:7001;":                     "input 2 is empty",
		";a:7001":                     "input 1 is empty",
		"a:7001;;north=n:7001":        "input 2 is empty",
		"a:7001,,b:7001":              "the default site has an empty address",
		"a:7001,":                     "the default site has an empty address",
		"north=":                      "site north has an empty address",
		"north=n0:7001,":              "site north has an empty address",
		"a:7001,a:7001":               "address a:7001 is listed twice for the default site",
		"a:7001;north=n:7001,a:7001":  "address a:7001 is listed for both the default site and site north",
		"north=n0:7001;north=n1:7001": "site north is listed twice",
		"a:7001;b:7001":               "two inputs have no site name",
		"=a:7001":                     "no site name before '='",
		"North=n:7001":                `site name "North"`,
		"no:rth=n:7001":               `site name "no:rth"`,
		"north=n:7001,south=s:7001":   "separate sites with ';'",
	} {
		_, err := ParseIngestAddrs(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", in, err, want)
		}
	}
}

// DialPeers groups the ingests by input, and keeps every one in Ingests
// (to close them).
func TestDialPeersGroupsIngestsBySite(t *testing.T) {
	p, err := DialPeers(lazyDial, "i0:7001,i1:7001;north=n0:7001", "r:7002", "p:7003")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.IngestGroups) != 2 || p.IngestGroups[0].Site != "" || len(p.IngestGroups[0].Ingests) != 2 ||
		p.IngestGroups[1].Site != "north" || len(p.IngestGroups[1].Ingests) != 1 || p.IngestGroups[1].Ingests[0].Addr != "n0:7001" || len(p.Ingests) != 3 {
		t.Fatalf("groups %+v, ingests %d", p.IngestGroups, len(p.Ingests))
	}
	if _, err := DialPeers(lazyDial, "i0:7001;", "r:7002", "p:7003"); err == nil {
		t.Fatal("a malformed -ingest-addr was dialled")
	}
}

// The gateway reads -publisher-addr as the router does: shard n is the
// router's shard n, and an empty shard, which the router refuses, is
// refused here too instead of shifting the shards after it.
func TestDialPeersReadsShardsAsTheRouterDoes(t *testing.T) {
	p, err := DialPeers(lazyDial, "i:7001", "r:7002", "a:7003, b:7003;c:7003")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.Shards) != 2 || len(p.Shards[0]) != 2 || p.Shards[1][0].Addr != "c:7003" || len(p.Publishers) != 3 {
		t.Fatalf("shards %+v, publishers %d", p.Shards, len(p.Publishers))
	}
	if _, err := DialPeers(lazyDial, "i:7001", "r:7002", "a:7003;;c:7003"); err == nil || !strings.Contains(err.Error(), "shard 1 (counting from 0) names no address") {
		t.Fatalf("an empty shard: err = %v", err)
	}
}

// lazyDial makes a connection that dials only when used: enough for
// DialPeers, which never calls the peers.
func lazyDial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
