#!/usr/bin/env bash
# make image-test: builds the container image and runs it, when a Docker
# daemon answers (`docker info`); otherwise says plainly that nothing was
# built or run. With a daemon it checks that the image runs as a non-root
# user, that every example and the Kubernetes ConfigMap's configuration
# validate inside it, and that the default configuration serves the bundled
# simulator's usage on :9464; then prints the image's size.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-otelcol-anthropic:dev}
SIM=${SIM:-bin/anthropic-admin-sim}

if ! docker info >/dev/null 2>&1; then
  echo "image-test: NOT RUN: no Docker daemon answers here ('docker info' fails); the image was neither built nor tested"
  exit 0
fi
docker build -t "$IMAGE" .
user=$(docker image inspect -f '{{.Config.User}}' "$IMAGE")
case "$user" in ""|0|0:*|root|root:*) echo "image-test: FAIL: the image runs as root ($user)"; exit 1 ;; esac

dummy=(-e ANTHROPIC_ADMIN_API_KEY=sk-ant-admin01-dummy-for-validation -e DD_API_KEY=dummy -e DD_SITE=datadoghq.com
  -e DD_AGENT_OTLP_ENDPOINT=127.0.0.1:4317 -e HONEYCOMB_API_KEY=dummy -e GRAFANA_CLOUD_OTLP_ENDPOINT=https://example.invalid/otlp
  -e GRAFANA_CLOUD_BASIC_AUTH=ZHVtbXk6ZHVtbXk= -e PROMETHEUS_REMOTE_WRITE_URL=http://127.0.0.1:9090/api/v1/write -e OTLP_ENDPOINT=127.0.0.1:4317)
for f in examples/*.yaml; do
  docker run --rm "${dummy[@]}" "$IMAGE" validate --config "/etc/otelcol-anthropic/$f" >/dev/null
  echo "ok    $f validates in the image"
done
tmp=$(mktemp -d)
trap 'docker rm -f otelcol-anthropic-image-test >/dev/null 2>&1 || true; [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
awk '/^  config.yaml: \|$/ {on=1; next} on && /^---$/ {on=0} on && /^    / {print substr($0, 5)} on && /^$/ {print}' \
  deploy/kubernetes/otelcol-anthropic.yaml > "$tmp/k8s.yaml"
docker run --rm "${dummy[@]}" -v "$tmp/k8s.yaml:/k8s.yaml:ro" "$IMAGE" validate --config /k8s.yaml >/dev/null
echo "ok    deploy/kubernetes/otelcol-anthropic.yaml's configuration validates in the image"

# The default configuration against the simulator, on the host's network.
"$SIM" -listen 127.0.0.1:18089 -admin-key sk-ant-admin01-image-test >"$tmp/sim.log" 2>&1 &
sim_pid=$!
printf 'receivers:\n  anthropic_usage:\n    endpoint: http://127.0.0.1:18089\n' > "$tmp/override.yaml"
docker run -d --name otelcol-anthropic-image-test --network host -e ANTHROPIC_ADMIN_API_KEY=sk-ant-admin01-image-test \
  -e PROMETHEUS_EXPORTER_ENDPOINT=127.0.0.1:19464 -v "$tmp/override.yaml:/override.yaml:ro" \
  "$IMAGE" --config /etc/otelcol-anthropic/examples/prometheus-scrape.yaml --config /override.yaml >/dev/null
for _ in $(seq 60); do
  if curl -fsS http://127.0.0.1:19464/metrics 2>/dev/null | grep -q '^anthropic_usage_tokens_total{'; then
    echo "ok    the image serves the simulator's tokens on :9464"
    docker image inspect -f 'image {{index .RepoTags 0}}: {{.Size}} bytes' "$IMAGE"
    exit 0
  fi
  sleep 1
done
docker logs otelcol-anthropic-image-test 2>&1 | tail -20
echo "image-test: FAIL: no anthropic_usage_tokens_total from the container within 60 s"
exit 1
