#!/usr/bin/env bash
# Validates every collector configuration in config/ and examples/ with the
# built distribution, dummy values standing in for the secrets they read
# from the environment. The e2e test does the same.
set -euo pipefail
cd "$(dirname "$0")/.."
OTELCOL=${OTELCOL:-dist/otelcol-anthropic/otelcol-anthropic}
[ -x "$OTELCOL" ] || { echo "no collector at $OTELCOL: run 'make build'" >&2; exit 1; }

# Keep this list in step with dummyEnv in e2e/configs_test.go.
export ANTHROPIC_ADMIN_API_KEY=sk-ant-admin01-dummy-for-validation
export DD_API_KEY=dummy DD_SITE=datadoghq.com DD_AGENT_OTLP_ENDPOINT=127.0.0.1:4317
export HONEYCOMB_API_KEY=dummy HONEYCOMB_DATASET=anthropic-usage
export GRAFANA_CLOUD_OTLP_ENDPOINT=https://otlp-gateway-prod-eu-west-2.grafana.net/otlp
export GRAFANA_CLOUD_BASIC_AUTH=MTIzNDU2OmR1bW15
export PROMETHEUS_REMOTE_WRITE_URL=http://127.0.0.1:9090/api/v1/write
export OTLP_ENDPOINT=127.0.0.1:4317

fail=0
for f in config/*.yaml examples/*.yaml; do
  if out=$("$OTELCOL" validate --config "$f" 2>&1); then
    echo "ok    $f"
  else
    echo "FAIL  $f"; echo "$out" | sed 's/^/      /'; fail=1
  fi
done
exit $fail
