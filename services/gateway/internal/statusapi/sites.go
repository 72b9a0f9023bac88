package statusapi

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// ListSites lists the named sites the routers have had events from, by
// name. The default site is not one of them: it is always there.
func (s *Server) ListSites(ctx context.Context, _ *statusv1.ListSitesRequest) (*statusv1.ListSitesResponse, error) {
	prefixes, err := s.rdb.HGetAll(ctx, records.Sites).Result()
	if err != nil {
		return nil, redisError(err)
	}
	resp := &statusv1.ListSitesResponse{}
	for name, prefix := range prefixes {
		resp.Sites = append(resp.Sites, &statusv1.Site{Name: name, TopicPrefix: prefix})
	}
	slices.SortFunc(resp.Sites, func(a, b *statusv1.Site) int { return strings.Compare(a.GetName(), b.GetName()) })
	return resp, nil
}

// checkSiteName refuses a name no site can have, in CheckSite's words.
func checkSiteName(site string) error {
	if err := records.CheckSite(site); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

// siteOf checks that site may be read and returns its topic prefix: ""
// for the default site, always there; a named site must have sent an
// event (the router then wrote it in records.Sites), so that a misspelt
// name is told as such rather than read as a site without tools.
func (s *Server) siteOf(ctx context.Context, site string) (prefix string, err error) {
	if err := checkSiteName(site); err != nil {
		return "", err
	}
	if site == "" {
		return "", nil
	}
	prefix, err = s.rdb.HGet(ctx, records.Sites, site).Result()
	if errors.Is(err, redis.Nil) {
		return "", s.unknownSite(ctx, site)
	}
	if err != nil {
		return "", redisError(err)
	}
	return prefix, nil
}

// unknownSite is the NOT_FOUND for a site of no event, naming the known ones.
func (s *Server) unknownSite(ctx context.Context, site string) error {
	names, err := s.rdb.HKeys(ctx, records.Sites).Result()
	if err != nil {
		return redisError(err)
	}
	slices.Sort(names)
	known := "the bridge has had events from no named site yet (tools of the default site are read without a site)"
	if len(names) > 0 {
		known = "the sites it knows are " + strings.Join(names, ", ")
	}
	return status.Errorf(codes.NotFound, "no event has come from a site named %q: %s", site, known)
}
