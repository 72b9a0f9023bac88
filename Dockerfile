# syntax=docker/dockerfile:1
# One service's image, equivalent to what `make images` writes without a
# container engine (tools/deploy/cmd/images): a static binary built from
# the service's own module (GOWORK=off, CGO_ENABLED=0, -trimpath) on an
# empty base, with the CA certificates, run as a numeric non-root user.
#
#   v=$(git describe --always --dirty)
#   docker build --build-arg SERVICE=ingest --build-arg VERSION=$v \
#     --build-arg REVISION=$(git rev-parse HEAD) -t nemo-mqtt-bridge/ingest:$v .
#
# SERVICE is ingest, router, publisher or gateway; it names the stage the
# image is (ENTRYPOINT takes no variables, so each service has a stage of
# its own, which `--target SERVICE` builds as well).
ARG SERVICE

FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
ARG VERSION=dev
ARG TARGETARCH
ENV GOOS=linux GOARCH=${TARGETARCH} \
    LDFLAGS="-s -w -X github.com/nemo-mqtt-bridge/bridge/services/platform/service.Version=${VERSION}"
WORKDIR /src
COPY . .

FROM build AS build-ingest
RUN cd services/ingest && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o /out/ingest .
FROM build AS build-router
RUN cd services/router && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o /out/router .
FROM build AS build-publisher
RUN cd services/publisher && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o /out/publisher .
FROM build AS build-gateway
RUN cd services/gateway && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "$LDFLAGS" -o /out/gateway .

FROM scratch AS runtime
ARG VERSION=dev
ARG REVISION=
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/nemo-mqtt-bridge/bridge"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/ SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /
USER 65532:65532

FROM runtime AS ingest
LABEL org.opencontainers.image.title="ingest" org.opencontainers.image.description="NEMO to MQTT bridge: ingest"
COPY --from=build-ingest --chown=65532:65532 /out/ingest /ingest
ENTRYPOINT ["/ingest"]

FROM runtime AS router
LABEL org.opencontainers.image.title="router" org.opencontainers.image.description="NEMO to MQTT bridge: router"
COPY --from=build-router --chown=65532:65532 /out/router /router
ENTRYPOINT ["/router"]

FROM runtime AS publisher
LABEL org.opencontainers.image.title="publisher" org.opencontainers.image.description="NEMO to MQTT bridge: publisher"
COPY --from=build-publisher --chown=65532:65532 /out/publisher /publisher
ENTRYPOINT ["/publisher"]

FROM runtime AS gateway
LABEL org.opencontainers.image.title="gateway" org.opencontainers.image.description="NEMO to MQTT bridge: gateway"
COPY --from=build-gateway --chown=65532:65532 /out/gateway /gateway
ENTRYPOINT ["/gateway"]

# The image of --build-arg SERVICE (blank: "base name should not be blank").
FROM ${SERVICE}
