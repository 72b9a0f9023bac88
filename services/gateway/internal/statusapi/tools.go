package statusapi

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// decodeTool reads the state of tool id of site as the router stored it
// (records.UnmarshalSiteTool); fields a newer router added are ignored
// rather than failing the whole answer.
func decodeTool(site, id, doc string) (*statusv1.Tool, error) {
	t, err := records.UnmarshalSiteTool(site, []byte(doc))
	if err != nil {
		return nil, status.Errorf(codes.DataLoss, "the state of tool %s in Redis (%s) is not valid: %v", id, records.SiteTools(site), err)
	}
	return t, nil
}

// checkToolID refuses an id NEMO never gives.
func checkToolID(id int32) error {
	if id <= 0 {
		return invalid("tool id %d: tool ids are positive numbers", id)
	}
	return nil
}

func (s *Server) GetTool(ctx context.Context, req *statusv1.GetToolRequest) (*statusv1.GetToolResponse, error) {
	if err := checkToolID(req.GetId()); err != nil {
		return nil, err
	}
	site := req.GetSite()
	if _, err := s.siteOf(ctx, site); err != nil {
		return nil, err
	}
	id := strconv.Itoa(int(req.GetId()))
	doc, err := s.rdb.HGet(ctx, records.SiteTools(site), id).Result()
	if errors.Is(err, redis.Nil) {
		if site != "" {
			return nil, status.Errorf(codes.NotFound, "no tool with id %d at site %s: the bridge has had no event for it from that site", req.GetId(), site)
		}
		return nil, status.Errorf(codes.NotFound, "no tool with id %d: the bridge has had no event for it", req.GetId())
	}
	if err != nil {
		return nil, redisError(err)
	}
	t, err := decodeTool(site, id, doc)
	if err != nil {
		return nil, err
	}
	return &statusv1.GetToolResponse{Tool: t}, nil
}

func (s *Server) ListTools(ctx context.Context, req *statusv1.ListToolsRequest) (*statusv1.ListToolsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := pageAfter(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	// A page token is the id of a tool within the site listed.
	site := req.GetSite()
	if _, err := s.siteOf(ctx, site); err != nil {
		return nil, err
	}
	docs, err := s.rdb.HGetAll(ctx, records.SiteTools(site)).Result()
	if err != nil {
		return nil, redisError(err)
	}
	var tools []*statusv1.Tool
	for id, doc := range docs {
		t, err := decodeTool(site, id, doc)
		if err != nil {
			return nil, err
		}
		if t.GetId() > after && keep(req, t) {
			tools = append(tools, t)
		}
	}
	slices.SortFunc(tools, func(a, b *statusv1.Tool) int { return cmp.Compare(a.GetId(), b.GetId()) })
	resp := &statusv1.ListToolsResponse{}
	if len(tools) > size {
		tools = tools[:size]
		resp.NextPageToken = strconv.Itoa(int(tools[size-1].GetId()))
	}
	resp.Tools = tools
	return resp, nil
}

func keep(req *statusv1.ListToolsRequest, t *statusv1.Tool) bool {
	return (req.InUse == nil || req.GetInUse() == t.GetInUse()) &&
		(req.Operational == nil || req.GetOperational() == t.GetOperational()) &&
		(req.Problematic == nil || req.GetProblematic() == t.GetProblematic())
}

func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid("page_size %d: it cannot be negative", n)
	case n == 0:
		return defaultPageSize, nil
	}
	return min(int(n), maxPageSize), nil
}

// pageAfter reads a page token: the id of the last tool of the previous
// page, since tools are listed by id.
func pageAfter(token string) (int32, error) {
	if token == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(token, 10, 32)
	if err != nil || id < 0 {
		return 0, invalid("page_token %q: pass the next_page_token of a previous answer", token)
	}
	return int32(id), nil
}
