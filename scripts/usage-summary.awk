# make run's terminal view: tokens and dollars per model and workspace, read
# from the collector's Prometheus endpoint (text format on stdin).
#
#   awk -v state=FILE -v now=HH:MM:SS -f scripts/usage-summary.awk
#
# FILE holds the totals printed last time ("key<TAB>value" lines; it is
# rewritten). The first call prints the totals so far (the lookback), later
# calls only what grew since, one line per model and workspace.
function label(s, name,    m) {
  if (match(s, "[{,]" name "=\"[^\"]*\"")) {
    m = substr(s, RSTART + length(name) + 3, RLENGTH - length(name) - 4)
    return m
  }
  return ""
}
function commas(n,    s, out, neg) {
  neg = n < 0; if (neg) n = -n
  s = sprintf("%d", n + 0.5); out = ""
  while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
  return (neg ? "-" : "") s out
}
function money(n,    s) { s = sprintf("%.2f", n); return "$" commas(substr(s, 1, length(s) - 3) + 0) substr(s, length(s) - 2) }
BEGIN {
  FS = "\t"
  while ((getline line < state) > 0) { split(line, f, "\t"); prev[f[1] "\t" f[2] "\t" f[3]] = f[4]; had++ }
  close(state)
  FS = " "
}
/^anthropic_usage_tokens_total\{/ || /^anthropic_cost_total\{/ {
  kind = ($0 ~ /^anthropic_usage_tokens_total/) ? "tokens" : "dollars"
  model = label($0, "gen_ai_request_model"); if (model == "") model = "-"
  ws = label($0, "anthropic_workspace_name"); if (ws == "") ws = label($0, "anthropic_workspace_id"); if (ws == "") ws = "-"
  org = label($0, "anthropic_organization_name")
  cur[kind SUBSEP model SUBSEP ws] += $NF
  if (org != "") orgname = org
}
END {
  n = 0
  for (k in cur) {
    split(k, p, SUBSEP)
    d = cur[k] - prev[p[1] "\t" p[2] "\t" p[3]]
    # dollars are doubles: growth under half a cent is float noise, not spend
    if (had && (d <= 0 || (p[1] == "dollars" && d < 0.005))) continue
    total = (p[1] == "tokens") ? commas(cur[k]) : money(cur[k])
    grow = (p[1] == "tokens") ? "+" commas(d) : "+" money(d)
    lines[++n] = sprintf("%s  %-7s %15s  %-28s %-24s total %s", now, p[1], grow, p[2], p[3], total)
  }
  if (n > 0 && !had) {
    printf "==> %s so far%s (since the lookback began):\n", "tokens and dollars", (orgname != "" ? " in " orgname : "")
    printf "%-8s  %-7s %15s  %-28s %-24s %s\n", "time", "what", "new", "model", "workspace", ""
  }
  # tokens, then dollars; smallest growth first, so the largest ends up
  # next to the cursor (the growth column is right-aligned: text order is
  # numeric order within a time stamp)
  for (i = 2; i <= n; i++) { x = lines[i]; for (j = i - 1; j >= 1 && lines[j] > x; j--) lines[j + 1] = lines[j]; lines[j + 1] = x }
  for (i = 1; i <= n; i++) if (lines[i] ~ /^[^ ]*  tokens /) print lines[i]
  for (i = 1; i <= n; i++) if (lines[i] ~ /^[^ ]*  dollars /) print lines[i]
  printf "" > state
  for (k in cur) { split(k, p, SUBSEP); printf "%s\t%s\t%s\t%.9f\n", p[1], p[2], p[3], cur[k] >> state }
  close(state)
}
