package statusapi

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// putTool stores t as the router does, in site's hash.
func putTool(t *testing.T, rdb *redis.Client, site string, tool *statusv1.Tool) {
	t.Helper()
	doc, err := records.MarshalTool(tool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(context.Background(), records.SiteTools(site), tool.GetId(), doc).Err(); err != nil {
		t.Fatal(err)
	}
}

// twoSites is a Redis with the default site's tool 12 and 13, and a tool
// 12 at north and at south, each its own.
func twoSites(t *testing.T) (*Server, *redis.Client) {
	t.Helper()
	rdb := startRedis(t)
	if err := rdb.HSet(context.Background(), records.Sites, "south", "south/", "north", "north/").Err(); err != nil {
		t.Fatal(err)
	}
	putTool(t, rdb, "", &statusv1.Tool{Id: 12, Name: "Raith EBL", Operational: true})
	putTool(t, rdb, "", &statusv1.Tool{Id: 13, Name: "Oxford ICP", Operational: true})
	putTool(t, rdb, "north", &statusv1.Tool{Id: 12, Name: "Zeiss SEM", InUse: true, User: "Ada Byron", Operational: true, Site: proto.String("north")})
	putTool(t, rdb, "north", &statusv1.Tool{Id: 20, Name: "Heidelberg MLA", Operational: true, Site: proto.String("north")})
	putTool(t, rdb, "south", &statusv1.Tool{Id: 12, Name: "Oxford ICP", Shutdown: true, Site: proto.String("south")})
	return &Server{rdb: rdb}, rdb
}

func TestListSitesByName(t *testing.T) {
	s, rdb := twoSites(t)
	ctx := context.Background()
	rdb.HSet(ctx, records.Sites, "east", "e/")
	resp, err := s.ListSites(ctx, &statusv1.ListSitesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, site := range resp.GetSites() {
		got = append(got, site.GetName()+"="+site.GetTopicPrefix())
	}
	if want := []string{"east=e/", "north=north/", "south=south/"}; !slices.Equal(got, want) {
		t.Errorf("sites %q, want %q", got, want)
	}

	empty := &Server{rdb: startRedis(t)}
	if resp, err := empty.ListSites(ctx, &statusv1.ListSitesRequest{}); err != nil || len(resp.GetSites()) != 0 {
		t.Errorf("no site yet: %v, %v", resp, err)
	}
}

// Two sites each have a tool 12: each is read from its own site, says
// its site, and neither is the default site's tool 12.
func TestSitesKeepTheirToolsApart(t *testing.T) {
	s, _ := twoSites(t)
	ctx := context.Background()
	for _, tt := range []struct{ site, name string }{{"", "Raith EBL"}, {"north", "Zeiss SEM"}, {"south", "Oxford ICP"}} {
		resp, err := s.GetTool(ctx, &statusv1.GetToolRequest{Id: 12, Site: tt.site})
		if err != nil {
			t.Fatalf("tool 12 of site %q: %v", tt.site, err)
		}
		tool := resp.GetTool()
		if tool.GetName() != tt.name || tool.GetSite() != tt.site || (tt.site == "") != (tool.Site == nil) {
			t.Errorf("tool 12 of site %q: %q of site %v", tt.site, tool.GetName(), tool.Site)
		}
	}
	if _, err := s.GetTool(ctx, &statusv1.GetToolRequest{Id: 13, Site: "north"}); status.Code(err) != codes.NotFound || !strings.Contains(status.Convert(err).Message(), "site north") {
		t.Errorf("the default site's tool 13 asked of north: %v, want not found at north", err)
	}

	list := func(req *statusv1.ListToolsRequest) []string {
		t.Helper()
		resp, err := s.ListTools(ctx, req)
		if err != nil {
			t.Fatalf("list %v: %v", req, err)
		}
		var got []string
		for _, tool := range resp.GetTools() {
			got = append(got, tool.GetSite()+"/"+tool.GetName())
		}
		return append(got, "next "+resp.GetNextPageToken())
	}
	if got, want := list(&statusv1.ListToolsRequest{}), []string{"/Raith EBL", "/Oxford ICP", "next "}; !slices.Equal(got, want) {
		t.Errorf("default site's tools %q, want %q", got, want)
	}
	if got, want := list(&statusv1.ListToolsRequest{Site: "north"}), []string{"north/Zeiss SEM", "north/Heidelberg MLA", "next "}; !slices.Equal(got, want) {
		t.Errorf("north's tools %q, want %q", got, want)
	}
	if got, want := list(&statusv1.ListToolsRequest{Site: "south", Operational: proto.Bool(false)}), []string{"south/Oxford ICP", "next "}; !slices.Equal(got, want) {
		t.Errorf("south's tools shut down %q, want %q", got, want)
	}
	// Page tokens are tool ids within the site.
	if got, want := list(&statusv1.ListToolsRequest{Site: "north", PageSize: 1}), []string{"north/Zeiss SEM", "next 12"}; !slices.Equal(got, want) {
		t.Errorf("north's first page %q, want %q", got, want)
	}
	if got, want := list(&statusv1.ListToolsRequest{Site: "north", PageSize: 1, PageToken: "12"}), []string{"north/Heidelberg MLA", "next "}; !slices.Equal(got, want) {
		t.Errorf("north's second page %q, want %q", got, want)
	}
}

// The default site reads as before sites existed: its tools carry no site
// field at all, even when a stored document has one.
func TestDefaultSiteToolsHaveNoSiteField(t *testing.T) {
	s, rdb := twoSites(t)
	ctx := context.Background()
	rdb.HSet(ctx, records.Tools, "14", `{"id":14,"name":"Odd","site":"north"}`)
	rest := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true} // as the REST API writes
	resp, err := s.ListTools(ctx, &statusv1.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := rest.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetTools()) != 3 || strings.Contains(string(doc), `"site"`) {
		t.Errorf("the default site's tools: %s", doc)
	}
	one, err := s.GetTool(ctx, &statusv1.GetToolRequest{Id: 12})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := rest.Marshal(one); strings.Contains(string(doc), `"site"`) {
		t.Errorf("the default site's tool 12: %s", doc)
	}
	north, err := s.GetTool(ctx, &statusv1.GetToolRequest{Id: 12, Site: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := rest.Marshal(north); !strings.Contains(string(doc), `"site":"north"`) {
		t.Errorf("north's tool 12: %s", doc)
	}
}

func TestBadOrUnknownSite(t *testing.T) {
	s, _ := twoSites(t)
	ctx := context.Background()
	bad := []error{}
	_, err := s.GetTool(ctx, &statusv1.GetToolRequest{Id: 12, Site: "North/1"})
	bad = append(bad, err)
	_, err = s.ListTools(ctx, &statusv1.ListToolsRequest{Site: "a:b"})
	bad = append(bad, err)
	_, err = s.ListMessages(ctx, &statusv1.ListMessagesRequest{Site: proto.String("-x")})
	bad = append(bad, err)
	_, err = s.GetDisplay(ctx, &statusv1.GetDisplayRequest{ToolId: 12, Site: "UP"})
	bad = append(bad, err)
	for i, err := range bad {
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "use 1 to 63 lower-case letters") {
			t.Errorf("bad name %d: %v, want invalid argument in CheckSite's words", i, err)
		}
	}

	unknown := []error{}
	_, err = s.GetTool(ctx, &statusv1.GetToolRequest{Id: 12, Site: "west"})
	unknown = append(unknown, err)
	_, err = s.ListTools(ctx, &statusv1.ListToolsRequest{Site: "west"})
	unknown = append(unknown, err)
	_, err = s.GetDisplay(ctx, &statusv1.GetDisplayRequest{ToolId: 12, Site: "west"})
	unknown = append(unknown, err)
	for i, err := range unknown {
		msg := status.Convert(err).Message()
		if status.Code(err) != codes.NotFound || !strings.Contains(msg, `no event has come from a site named "west"`) || !strings.Contains(msg, "north, south") {
			t.Errorf("unknown site %d: %v, want not found naming north and south", i, err)
		}
	}
}

func TestListMessagesOfOneSite(t *testing.T) {
	s, rdb := twoSites(t)
	ctx := context.Background()
	for _, m := range []*statusv1.Message{
		{Topic: "nemo/tools/12/start", ToolId: 12, EventId: "d1"},
		{Topic: "north/nemo/tools/12/start", ToolId: 12, EventId: "n1", Site: "north"},
		{Topic: "south/nemo/tools/12/start", ToolId: 12, EventId: "s1", Site: "south"},
		{Topic: "north/nemo/tools/20/start", ToolId: 20, EventId: "n2", Site: "north"},
	} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: records.Recent, Values: records.RecentValues(m)}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(req *statusv1.ListMessagesRequest) []string {
		t.Helper()
		resp, err := s.ListMessages(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range resp.GetMessages() {
			got = append(got, m.GetEventId())
		}
		return got
	}
	for _, tt := range []struct {
		req  *statusv1.ListMessagesRequest
		want []string
	}{
		{&statusv1.ListMessagesRequest{}, []string{"n2", "s1", "n1", "d1"}},
		{&statusv1.ListMessagesRequest{Site: proto.String("north")}, []string{"n2", "n1"}},
		{&statusv1.ListMessagesRequest{Site: proto.String("")}, []string{"d1"}},
		{&statusv1.ListMessagesRequest{Site: proto.String("north"), ToolId: proto.Int32(12)}, []string{"n1"}},
		{&statusv1.ListMessagesRequest{Site: proto.String("south"), ToolId: proto.Int32(12)}, []string{"s1"}},
		{&statusv1.ListMessagesRequest{ToolId: proto.Int32(12)}, []string{"s1", "n1", "d1"}},
	} {
		if got := ids(tt.req); !slices.Equal(got, tt.want) {
			t.Errorf("%v: %q, want %q", tt.req, got, tt.want)
		}
	}
}

// retainedPublisher answers ReadRetained with what it holds under each
// filter, and notes the filters it was asked.
type retainedPublisher struct {
	publisherv1.UnimplementedPublisherServiceServer
	held  map[string][]*publisherv1.RetainedMessage
	mu    sync.Mutex
	asked []string
}

func (p *retainedPublisher) ReadRetained(_ context.Context, req *publisherv1.ReadRetainedRequest) (*publisherv1.ReadRetainedResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, req.GetFilter())
	return &publisherv1.ReadRetainedResponse{Messages: p.held[req.GetFilter()]}, nil
}

func publisherPeer(t *testing.T, pub *retainedPublisher) *Peer {
	t.Helper()
	ln := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	publisherv1.RegisterPublisherServiceServer(srv, pub)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///publisher", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Peer{Addr: "publisher", conn: conn}
}

// A named site's screen is read under the site's topic prefix; the
// bridge's presence, one for all sites, is not.
func TestDisplayOfASiteReadsUnderItsPrefix(t *testing.T) {
	s, _ := twoSites(t)
	pub := &retainedPublisher{held: map[string][]*publisherv1.RetainedMessage{
		"nemo/esp32/12/+":       {{Topic: "nemo/esp32/12/status", Payload: []byte(`{"tool_name":"Raith EBL"}`)}},
		"north/nemo/esp32/12/+": {{Topic: "north/nemo/esp32/12/status", Payload: []byte(`{"tool_name":"Zeiss SEM"}`)}},
		"nemo/server/status":    {{Topic: "nemo/server/status", Payload: []byte("online")}},
	}}
	s.peers = &Peers{Publishers: []*Peer{publisherPeer(t, pub)}}
	ctx := context.Background()

	north, err := s.GetDisplay(ctx, &statusv1.GetDisplayRequest{ToolId: 12, Site: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if ms := north.GetMessages(); len(ms) != 1 || ms[0].GetTopic() != "north/nemo/esp32/12/status" || ms[0].GetSite() != "north" ||
		ms[0].GetToolId() != 12 || !strings.Contains(ms[0].GetPayloadText(), "Zeiss SEM") || north.GetServerStatus() != "online" {
		t.Errorf("north's screen of tool 12: %v", north)
	}
	def, err := s.GetDisplay(ctx, &statusv1.GetDisplayRequest{ToolId: 12})
	if err != nil {
		t.Fatal(err)
	}
	if ms := def.GetMessages(); len(ms) != 1 || ms[0].GetTopic() != "nemo/esp32/12/status" || ms[0].GetSite() != "" {
		t.Errorf("the default site's screen of tool 12: %v", def)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if want := []string{"north/nemo/esp32/12/+", "nemo/server/status", "nemo/esp32/12/+", "nemo/server/status"}; !slices.Equal(pub.asked, want) {
		t.Errorf("filters asked %q, want %q", pub.asked, want)
	}
}
