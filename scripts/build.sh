#!/usr/bin/env bash
# Runs OCB (scripts/build.sh OCB CONFIG) and says every 15 s that it is still
# at work: a first build downloads about 2 GB of modules and compiles for
# minutes, with nothing else on the terminal in between.
set -uo pipefail
ocb=$1 config=$2
start=$SECONDS
printf '==> building the collector with %s (%s)\n' "$("$ocb" version 2>&1)" "$config"
"$ocb" --config "$config" 2>&1 | while IFS= read -r line; do
  # OCB's own log: keep its messages, drop the timestamps and source files.
  printf '    %s\n' "$(sed -E 's/^[0-9TZ:.-]+\t[A-Z]+\t[^\t]+\t//; s/\t/ /g' <<<"$line")"
done &
ocb_pid=$!
trap 'kill "$ocb_pid" 2>/dev/null; wait "$ocb_pid" 2>/dev/null; exit 130' INT TERM
while kill -0 "$ocb_pid" 2>/dev/null; do
  for _ in $(seq 150); do kill -0 "$ocb_pid" 2>/dev/null || break 2; sleep 0.1; done
  printf '    … %d s (a first build takes 2–3 minutes: it downloads the modules, then compiles)\n' $((SECONDS - start))
done
wait "$ocb_pid"
rc=$?
[ "$rc" -eq 0 ] && printf '==> built in %d s\n' $((SECONDS - start))
exit "$rc"
