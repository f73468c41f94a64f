# otelcol-anthropic as a container image, built with OCB from
# builder-config.yaml, running as a non-root user on a distroless base.
#
#   make image                       # docker build -t otelcol-anthropic:dev .
#   docker run --rm -e ANTHROPIC_ADMIN_API_KEY -p 9464:9464 \
#     -v anthropic-checkpoints:/var/lib/otelcol/anthropic otelcol-anthropic:dev
#
# The default configuration is examples/prometheus-scrape.yaml (metrics on
# :9464, the receiver's own telemetry on :8888, checkpoints in
# /var/lib/otelcol/anthropic: mount a volume there). Every example is in
# /etc/otelcol-anthropic/examples: pass `--config` to pick another, or mount
# your own.

# ---- build: OCB generates the distribution's sources and compiles them ----
FROM golang:1.26 AS build
ARG OCB_VERSION=v0.161.0
RUN go install go.opentelemetry.io/collector/cmd/builder@${OCB_VERSION}
WORKDIR /src
# The receiver's module first, so that its dependencies stay a cached layer
# while only sources change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# OCB resolves builder-config.yaml's paths against the current directory:
# run it from the repository root. CGO is off (OCB's default): a static
# binary for a base image without libc.
RUN builder --config builder-config.yaml \
 && mkdir -p /out/var/lib/otelcol/anthropic

# ---- run: the binary, the examples, nothing else ----
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/dist/otelcol-anthropic/otelcol-anthropic /otelcol-anthropic
COPY examples/*.yaml /etc/otelcol-anthropic/examples/
COPY --from=build --chown=65532:65532 /out/var/lib/otelcol /var/lib/otelcol
USER 65532:65532
ENV ANTHROPIC_STORAGE_DIR=/var/lib/otelcol/anthropic \
    PROMETHEUS_EXPORTER_ENDPOINT=0.0.0.0:9464 \
    OTELCOL_TELEMETRY_HOST=0.0.0.0
VOLUME /var/lib/otelcol/anthropic
EXPOSE 9464 8888
ENTRYPOINT ["/otelcol-anthropic"]
CMD ["--config", "/etc/otelcol-anthropic/examples/prometheus-scrape.yaml"]
