package statusapi

import (
	"context"
	"encoding/json"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/cause"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
)

// DryRunRules routes one envelope as the pipeline would. The request is put
// back together as the JSON entry NEMO's plugin writes and read by ingest's
// own parser, so a payload written as a JSON string, a loose qos or a
// timestamp mean here exactly what they mean there, and an entry the
// pipeline would refuse is refused with the dead letter's code and reason.
func (s *Server) DryRunRules(ctx context.Context, req *statusv1.DryRunRulesRequest) (*statusv1.DryRunRulesResponse, error) {
	if req.GetTopic() == "" {
		return nil, invalid("topic is empty: give the topic NEMO's plugin used, e.g. nemo/tools/12/enabled")
	}
	entry, err := dryRunEntry(req)
	if err != nil {
		return nil, invalid("%v", err)
	}
	ev, rej := envelope.FromJSON("dry-run", entry, envelope.Limits{})
	if rej != nil {
		return &statusv1.DryRunRulesResponse{Error: cause.Code(rej.Cause) + ": " + rej.Reason}, nil
	}
	var resp *routerv1.DryRunResponse
	err = s.peers.onRouter(func(c routerv1.RouterServiceClient) (err error) {
		resp, err = c.DryRun(ctx, &routerv1.DryRunRequest{Event: ev})
		return err
	})
	if err != nil {
		return nil, routerError(err)
	}
	out := &statusv1.DryRunRulesResponse{MatchedRules: resp.GetMatchedRules(), Error: resp.GetError(), RulesVersion: resp.GetRulesVersion()}
	for _, m := range resp.GetMessages() {
		out.Messages = append(out.Messages, &statusv1.Message{
			Topic: m.GetTopic(), Payload: m.GetPayload(), PayloadText: string(m.GetPayload()),
			Qos: m.GetQos(), Retain: m.GetRetain(), ExpirySeconds: m.GetExpirySeconds(),
		})
	}
	return out, nil
}

// dryRunEntry writes the request as the plugin's JSON entry; a field the
// request leaves out is left out of the entry too, so the pipeline's
// defaults apply (qos 1, retain false, no time of writing).
func dryRunEntry(req *statusv1.DryRunRulesRequest) ([]byte, error) {
	entry := map[string]json.RawMessage{}
	topic, _ := json.Marshal(req.GetTopic())
	entry["topic"] = topic
	for key, v := range map[string]*structpb.Value{
		"payload": req.GetPayload(), "qos": req.GetQos(), "retain": req.GetRetain(), "timestamp": req.GetTimestamp(),
	} {
		if v == nil {
			continue
		}
		raw, err := protojson.Marshal(v)
		if err != nil {
			return nil, err
		}
		entry[key] = raw
	}
	return json.Marshal(entry)
}
