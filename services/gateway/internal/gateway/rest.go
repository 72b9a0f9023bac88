package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/gen/openapi"
	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/live"
	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/page"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// jsonMarshaler writes NEMO's snake_case field names (as the tool state on
// MQTT does) and every field, so that `"in_use": false` is there to read
// rather than left out.
var jsonMarshaler = &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
}

// mountREST serves StatusService as REST (the mapping is in
// proto/nemo/status/v1/status.gateway.yaml), the OpenAPI document, the
// live stream for the page and the page itself, on the service's HTTP mux.
// The REST handlers and the stream call srv in-process; srv checks the
// bearer token itself, so every way in is guarded alike. readToken is the
// token srv wants for reads ("" when reads are open): the live stream
// checks each viewer's token once, when it connects, and its one shared
// poller sends readToken itself.
func mountREST(ctx context.Context, rt *service.Runtime, srv statusv1.StatusServiceServer, readToken string) error {
	gw := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler))
	if err := statusv1.RegisterStatusServiceHandlerServer(ctx, gw, srv); err != nil {
		return err
	}
	rt.HTTP.Handle("/v1/", gw)
	// More specific than "/v1/", so it wins over grpc-gateway.
	stream := live.New(srv)
	stream.Stop = ctx.Done()
	stream.ProtectReads(readToken)
	rt.HTTP.Handle("GET /v1/live", stream)
	// Everything not matched by a more specific route: the page's files.
	rt.HTTP.Handle("/", page.Handler())
	rt.HTTP.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	})
	return nil
}
