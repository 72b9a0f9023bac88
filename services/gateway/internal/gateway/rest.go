package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
// The REST handlers and the stream call StatusService over conn, the
// in-process gRPC server (see inProcess), so that every way in passes the
// same authentication interceptor; grpc-gateway passes the HTTP
// Authorization header on as gRPC metadata. readToken is the token reads
// need ("" when reads are open): the live stream checks each viewer's
// token once, when it connects, and its one shared poller sends readToken
// itself.
func mountREST(ctx context.Context, rt *service.Runtime, conn *grpc.ClientConn, readToken string) error {
	gw := runtime.NewServeMux(runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonMarshaler))
	if err := statusv1.RegisterStatusServiceHandler(ctx, gw, conn); err != nil {
		return err
	}
	rt.HTTP.Handle("/v1/", guard(gw))
	// More specific than "/v1/", so it wins over grpc-gateway.
	stream := live.New(statusv1.NewStatusServiceClient(conn))
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

// crossOrigin tells a browser's request sent by another web site from one
// sent by the gateway's own page, from Sec-Fetch-Site, else from Origin
// against Host; requests from programs carry neither and pass.
var crossOrigin = http.NewCrossOriginProtection()

// guard lets through to the REST API only the calls a program, or the
// gateway's own page, makes on purpose. Any other web page open in a lab
// manager's browser can send a "simple" request here (a form or a
// text/plain POST, which the browser sends without asking first); the
// admin token already keeps writes from it, and this refuses even its
// reads that use POST (a dry run), whatever the token setting:
//   - a request that changes something, sent by another web site, is
//     refused (403);
//   - a POST must send its body as JSON, which no simple request can (415);
//   - a body past the server's limit is answered 413 in words, where
//     grpc-gateway would answer 400 with Go's error.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		if crossOrigin.Check(r) != nil {
			refuse(w, http.StatusForbidden, codes.PermissionDenied, "the gateway does not take requests that change something from another web site: use the gateway's own page, or call the API from a program")
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			refuse(w, http.StatusUnsupportedMediaType, codes.InvalidArgument, fmt.Sprintf("send the header \"Content-Type: application/json\", and the body, if any, as JSON (this request says %q)", r.Header.Get("Content-Type")))
			return
		}
		body, err := io.ReadAll(r.Body)
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			refuse(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, fmt.Sprintf("the request's body is larger than the %s the gateway takes; a dry run needs one event, far less", size(tooLarge.Limit)))
			return
		}
		if err != nil {
			refuse(w, http.StatusBadRequest, codes.InvalidArgument, "the request's body could not be read: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// refuse answers as grpc-gateway does, {"code", "message", "details"}, so
// that the page and clients read every refusal alike.
func refuse(w http.ResponseWriter, httpStatus int, code codes.Code, message string) {
	doc, err := jsonMarshaler.Marshal(status.New(code, message).Proto())
	if err != nil {
		http.Error(w, message, httpStatus)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(doc)
}

// size says n bytes as people say it: "1 MiB", or "1500 bytes".
func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
