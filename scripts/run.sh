#!/usr/bin/env bash
# make run: runs the otelcol-anthropic collector, in one of two modes:
#
#   ANTHROPIC_ADMIN_API_KEY set    the real Admin API (https://api.anthropic.com,
#                                  or ANTHROPIC_ENDPOINT), config/anthropic-api.yaml
#   ANTHROPIC_ADMIN_API_KEY unset  the bundled simulator, started here on
#                                  127.0.0.1:8089 (SIM_LISTEN), config/simulator.yaml
#
# SOURCE=analytics (with the simulator) reads the usage and cost reports from
# its Usage and Cost Analytics API instead, config/simulator-analytics.yaml:
# the simulator exports every minute and revises the last 2 hours; checkpoints
# go to .data/storage-analytics. SOURCE=legacy (the default) is the above.
#
# Metrics are served for Prometheus at http://127.0.0.1:9464/metrics
# (PROMETHEUS_EXPORTER_ENDPOINT); every few seconds the terminal shows the
# tokens and dollars per model and workspace that arrived there
# (scripts/usage-summary.awk). The collector logs warnings and errors only
# (OTELCOL_LOG_LEVEL=info for more; .data/otelcol.log keeps them too).
# Ctrl-C stops the collector and the simulator, and exits with status 0.
#
# make builds the binaries first; run on its own it expects them at
# $OTELCOL and $SIM (defaults below).
set -euo pipefail
cd "$(dirname "$0")/.."

OTELCOL=${OTELCOL:-dist/otelcol-anthropic/otelcol-anthropic}
SIM=${SIM:-bin/anthropic-admin-sim}
SIM_LISTEN=${SIM_LISTEN:-127.0.0.1:8089}
SIM_KEY=sk-ant-admin01-simulator-local-only
SOURCE=${SOURCE:-legacy}
case "$SOURCE" in
  legacy) storage_default=$PWD/.data/storage ;;
  analytics) storage_default=$PWD/.data/storage-analytics ;;
  *) printf 'run: SOURCE=%s: must be legacy or analytics\n' "$SOURCE" >&2; exit 1 ;;
esac
export PROMETHEUS_EXPORTER_ENDPOINT=${PROMETHEUS_EXPORTER_ENDPOINT:-127.0.0.1:9464}
export OTELCOL_TELEMETRY_PORT=${OTELCOL_TELEMETRY_PORT:-8888}
export HEALTH_CHECK_ENDPOINT=${HEALTH_CHECK_ENDPOINT:-127.0.0.1:13133}
export ANTHROPIC_STORAGE_DIR=${ANTHROPIC_STORAGE_DIR:-$storage_default}
METRICS_URL="http://$PROMETHEUS_EXPORTER_ENDPOINT/metrics"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'run: %s\n' "$*" >&2; exit 1; }

[ -x "$OTELCOL" ] || die "no collector at $OTELCOL: run 'make build' (or 'make run')"

# in_use HOST:PORT succeeds when something already listens there.
in_use() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

for addr in "$PROMETHEUS_EXPORTER_ENDPOINT" "127.0.0.1:$OTELCOL_TELEMETRY_PORT" "$HEALTH_CHECK_ENDPOINT"; do
  in_use "$addr" && die "$addr is already in use (another 'make run'?): stop it, or set PROMETHEUS_EXPORTER_ENDPOINT, OTELCOL_TELEMETRY_PORT, HEALTH_CHECK_ENDPOINT"
done
mkdir -p "$ANTHROPIC_STORAGE_DIR"

sim_pid=""
col_pid=""
stopping=""
# stop PID SECONDS: SIGTERM, then SIGKILL if it is still there after SECONDS.
stop() {
  local pid=$1 tenths=$(($2 * 10))
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while [ "$tenths" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; tenths=$((tenths - 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run: $pid did not stop in $2 s: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
# guard PARENT COLLECTOR SIMULATOR: when PARENT (this script) is gone,
# whatever killed it, stops the collector, then the simulator. It runs
# detached; after a normal exit it finds nothing left to stop.
guard() {
  while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
  stop "$2" 20
  stop "$3" 5
}

# The collector first (it may be polling the simulator), then the simulator.
# Further signals (a second Ctrl-C, the terminal closing) do not cut this short.
cleanup() {
  [ -n "$stopping" ] && return
  stopping=1
  trap '' INT TERM HUP
  stop "$col_pid" 20
  stop "$sim_pid" 5
}
trap 'cleanup; rm -f "${state:-}"; say "stopped"; exit 0' INT TERM HUP
trap cleanup EXIT

if [ -n "${ANTHROPIC_ADMIN_API_KEY:-}" ]; then
  [ "$SOURCE" = legacy ] || die "SOURCE=$SOURCE runs with the simulator only: for your organization, set usage.source and cost.source in config/anthropic-api.yaml (README, \"The analytics source\")"
  export ANTHROPIC_ENDPOINT=${ANTHROPIC_ENDPOINT:-https://api.anthropic.com}
  config=config/anthropic-api.yaml
  say "mode: REAL Admin API at $ANTHROPIC_ENDPOINT, key from ANTHROPIC_ADMIN_API_KEY (${ANTHROPIC_ADMIN_API_KEY:0:14}…)"
  say "first poll in about 1 s, then every minute (cost and Claude Code hourly)"
else
  [ -x "$SIM" ] || die "no simulator at $SIM: run 'make sim-build' (or 'make run')"
  in_use "$SIM_LISTEN" && die "$SIM_LISTEN is already in use (a simulator from 'make sim'?): stop it, or set SIM_LISTEN"
  export ANTHROPIC_ENDPOINT="http://$SIM_LISTEN"
  export ANTHROPIC_ADMIN_API_KEY=$SIM_KEY
  config=config/simulator.yaml
  sim_args=()
  if [ "$SOURCE" = analytics ]; then
    config=config/simulator-analytics.yaml
    sim_args=(-analytics-export-every 1m -analytics-horizon 2h)
  fi
  mkdir -p .data
  # In a session of its own, so that Ctrl-C reaches only the collector: the
  # simulator is stopped after it.
  setsid "$SIM" -listen "$SIM_LISTEN" -admin-key "$SIM_KEY" "${sim_args[@]}" >.data/simulator.log 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://$SIM_LISTEN/_sim/info" 2>/dev/null && break
    kill -0 "$sim_pid" 2>/dev/null || { cat .data/simulator.log >&2; die "the simulator did not start"; }
    sleep 0.1
  done
  say "mode: SIMULATOR (no ANTHROPIC_ADMIN_API_KEY set): a synthetic organization, not your data"
  if [ "$SOURCE" = analytics ]; then
    say "source: the analytics API (SOURCE=analytics): hourly buckets by API key, actor and product, a new export every minute"
  fi
  say "simulator: $ANTHROPIC_ENDPOINT, admin key $SIM_KEY, log .data/simulator.log"
  say "set ANTHROPIC_ADMIN_API_KEY=sk-ant-admin01-… to read your organization instead"
fi
say "collector: $OTELCOL --config $config (log: .data/otelcol.log)"
say "metrics:   $METRICS_URL"
say "own telemetry: http://127.0.0.1:$OTELCOL_TELEMETRY_PORT/metrics   health: http://$HEALTH_CHECK_ENDPOINT/"
say "lag (otelcol_anthropic_usage_lag): age of the newest final bucket; cost and claude_code read 1-3 days by design"
say "Ctrl-C stops everything"

export OTELCOL_LOG_LEVEL=${OTELCOL_LOG_LEVEL:-warn}
mkdir -p .data
"$OTELCOL" --config "$config" 2> >(tee -a .data/otelcol.log >&2) &
col_pid=$!
setsid bash -c "$(declare -f stop guard); guard \"\$@\"" guard $$ "$col_pid" "$sim_pid" >/dev/null 2>&1 &

# Tokens and dollars as they arrive, until the collector exits.
state=$(mktemp)
start=$SECONDS
first=""
while kill -0 "$col_pid" 2>/dev/null; do
  # Read the whole page (a pipe into awk that stops early would cut the exporter off).
  if page=$(curl -fsS "$METRICS_URL" 2>/dev/null) && grep -q '^anthropic_' <<<"$page"; then
    [ -n "$first" ] || { first=1; say "first metrics after $((SECONDS - start)) s"; }
    awk -v state="$state" -v now="$(date +%H:%M:%S)" -f scripts/usage-summary.awk <<<"$page"
  fi
  sleep 5 & wait $! 2>/dev/null
done
rm -f "$state"
set +e
wait "$col_pid"
rc=$?
col_pid=""
say "collector exited ($rc)"
exit "$rc"
