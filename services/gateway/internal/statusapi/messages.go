package statusapi

import (
	"context"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

const (
	defaultMessages = 50
	maxMessages     = 1000
	// scanPage is how many entries one read takes when a filter may skip
	// most of them; the stream is capped, so the scan is bounded.
	scanPage = 500
)

func (s *Server) ListMessages(ctx context.Context, req *statusv1.ListMessagesRequest) (*statusv1.ListMessagesResponse, error) {
	limit := int(req.GetLimit())
	switch {
	case limit < 0:
		return nil, invalid("limit %d: it cannot be negative", limit)
	case limit == 0:
		limit = defaultMessages
	}
	limit = min(limit, maxMessages)
	var filter mqtttopic.Filter
	if f := req.GetTopicFilter(); f != "" {
		var err error
		if filter, err = mqtttopic.ParseFilter(f); err != nil {
			return nil, invalid("topic_filter %q: %v", f, err)
		}
	}
	if req.Site != nil {
		if err := checkSiteName(req.GetSite()); err != nil {
			return nil, err
		}
	}
	resp := &statusv1.ListMessagesResponse{}
	end := "+"
	for len(resp.Messages) < limit {
		entries, err := s.rdb.XRevRangeN(ctx, records.Recent, end, "-", scanPage).Result()
		if err != nil {
			return nil, redisError(err)
		}
		for _, e := range entries {
			m := records.ReadRecent(e)
			// A tool id is one site's: with site, that site's tool.
			if (req.ToolId == nil || m.GetToolId() == req.GetToolId()) &&
				(req.Site == nil || m.GetSite() == req.GetSite()) &&
				(filter == nil || filter.Matches(m.GetTopic())) {
				resp.Messages = append(resp.Messages, m)
				if len(resp.Messages) == limit {
					break
				}
			}
		}
		if len(entries) < scanPage {
			break
		}
		end = "(" + entries[len(entries)-1].ID
	}
	return resp, nil
}
