// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// webSearchNC is the price of one web search: $10 per 1000 = 1 cent.
	webSearchNC = 1_000_000_000
	// codeExecNC is the price of one container-second of code execution
	// ($0.05 per container-hour, rounded to a whole nano-cent).
	codeExecNC = 1_388_889
	// nanoPerCent: amounts are kept as integer nano-cents (1e-9 cent).
	nanoPerCent = 1_000_000_000
)

// Cost types and token types, as spelled on the wire.
const (
	costTokens        = "tokens"
	costWebSearch     = "web_search"
	costCodeExecution = "code_execution"
)

var tokenTypes = [5]string{
	cUncached:  "uncached_input_tokens",
	cCacheRead: "cache_read_input_tokens",
	cCache5m:   "cache_creation.ephemeral_5m_input_tokens",
	cCache1h:   "cache_creation.ephemeral_1h_input_tokens",
	cOutput:    "output_tokens",
}

var tokenLabels = [5]string{
	cUncached:  "Input Tokens",
	cCacheRead: "Input Tokens, Cache Hit",
	cCache5m:   "Input Tokens, Cache Write",
	cCache1h:   "Input Tokens, 1h Cache Write",
	cOutput:    "Output Tokens",
}

// costLine is one billing line item; its description is unique per line.
type costLine struct {
	Description   string
	CostType      string
	Model         *string
	TokenType     *string
	ServiceTier   *string
	ContextWindow *string
	InferenceGeo  *string
	Speed         *string
}

// costTier maps a usage service tier to the cost report's vocabulary
// (standard or batch only). Flex is billed at the batch discount and
// reported on the batch line; priority has no cost at all.
func costTier(tier string) string {
	switch tier {
	case "batch", "flex", "flex_discount":
		return "batch"
	}
	return "standard"
}

func tokenLine(s *series, c int) *costLine {
	tier := costTier(s.Tier)
	var q []string
	if tier == "batch" {
		q = append(q, "Batch")
	}
	if s.CW == "200k-1M" {
		q = append(q, "Long Context")
	}
	if s.Speed == "fast" {
		q = append(q, "Fast Mode")
	}
	if s.Geo == "us" {
		q = append(q, "US Inference")
	}
	d := s.Model.Display + " Usage - " + tokenLabels[c]
	if len(q) > 0 {
		d += " (" + strings.Join(q, ", ") + ")"
	}
	return &costLine{
		Description:   d,
		CostType:      costTokens,
		Model:         &s.Model.ID,
		TokenType:     sp(tokenTypes[c]),
		ServiceTier:   sp(tier),
		ContextWindow: sp(s.CW),
		InferenceGeo:  sp(s.Geo),
		Speed:         sp(s.Speed),
	}
}

var (
	webSearchLine = &costLine{Description: "Web Search Usage", CostType: costWebSearch}
	codeExecLine  = &costLine{Description: "Code Execution Usage", CostType: costCodeExecution}
)

// costSpec is the grouping of a cost query.
type costSpec struct{ byWorkspace, byDescription bool }

type costRow struct {
	key  string
	ws   *string
	line *costLine
	nc   int64
}

// aggregateCost sums, per span, the cost in nano-cents grouped by spec:
// FINAL cost if final, else the cost visible at clock tNs (a minute's cost
// appears whole at minute end + CostSettle).
func (s *Simulator) aggregateCost(spec costSpec, spans []span, final bool, tNs int64) [][]*costRow {
	if len(spans) == 0 {
		return nil
	}
	ev := s.evaluator(final, tNs)
	cut := int64(noFreeze)
	if !final {
		cut = floorDiv(tNs-int64(s.opts.CostSettle), int64(time.Minute))
	}
	aggs := make([]map[string]*costRow, len(spans))
	for i := range aggs {
		aggs[i] = map[string]*costRow{}
	}
	add := func(i int, ws *string, line *costLine, nc int64) {
		if nc == 0 {
			return
		}
		var kb strings.Builder
		var row costRow
		if spec.byWorkspace {
			row.ws = ws
			if ws == nil {
				kb.WriteString("\x00")
			} else {
				kb.WriteString("\x01" + *ws)
			}
		}
		kb.WriteString("\x1f")
		if spec.byDescription {
			row.line = line
			kb.WriteString(line.Description)
		}
		key := kb.String()
		r := aggs[i][key]
		if r == nil {
			row.key = key
			r = &row
			aggs[i][key] = r
		}
		r.nc += nc
	}
	lo, hi := spans[0].a, spans[len(spans)-1].b
	for _, sr := range s.org.Series {
		if sr.Prices == [5]int64{} || sr.FromMin >= hi || sr.UntilMin <= lo {
			continue // priority tier: no cost
		}
		var lines [5]*costLine
		ev.reset(sr)
		for i, spn := range spans {
			b := min(spn.b, cut)
			if b <= spn.a {
				continue
			}
			var c counters
			ev.final(spn.a, b, &c)
			for k := 0; k < 5; k++ {
				if c[k] == 0 {
					continue
				}
				if lines[k] == nil {
					lines[k] = tokenLine(sr, k)
				}
				add(i, sr.WS.ID, lines[k], c[k]*sr.Prices[k])
			}
			add(i, sr.WS.ID, webSearchLine, c[cWebSearch]*webSearchNC)
		}
	}
	for _, ws := range s.org.Workspaces {
		ev.reset(ws.CodeExec)
		for i, spn := range spans {
			b := min(spn.b, cut)
			if b <= spn.a {
				continue
			}
			var c counters
			ev.final(spn.a, b, &c)
			add(i, ws.ID, codeExecLine, c[cUncached]*codeExecNC)
		}
	}
	out := make([][]*costRow, len(spans))
	for i, m := range aggs {
		rows := make([]*costRow, 0, len(m))
		for _, r := range m {
			rows = append(rows, r)
		}
		sort.Slice(rows, func(a, b int) bool { return rows[a].key < rows[b].key })
		out[i] = rows
	}
	return out
}

// FormatNanoCents renders an integer amount of nano-cents as the cost
// report's decimal string in cents: exact, trailing zeros trimmed, at least
// one digit ("1046.12345", "0.000015", "100").
func FormatNanoCents(nc int64) string {
	neg := nc < 0
	if neg {
		nc = -nc
	}
	s := strconv.FormatInt(nc/nanoPerCent, 10)
	if f := nc % nanoPerCent; f != 0 {
		frac := strings.TrimRight(strconv.FormatInt(nanoPerCent+f, 10)[1:], "0")
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseCents parses a decimal amount in cents (as sent by the cost report)
// into integer nano-cents; more than nine fractional digits is an error.
func ParseCents(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" || len(fp) > 9 {
		return 0, false
	}
	i, err := strconv.ParseInt(ip, 10, 64)
	if err != nil {
		return 0, false
	}
	var f int64
	if fp != "" {
		f, err = strconv.ParseInt(fp+strings.Repeat("0", 9-len(fp)), 10, 64)
		if err != nil {
			return 0, false
		}
	}
	v := i*nanoPerCent + f
	if neg {
		v = -v
	}
	return v, true
}

type costItemJSON struct {
	Currency      string  `json:"currency"`
	Amount        string  `json:"amount"`
	WorkspaceID   *string `json:"workspace_id"`
	Description   *string `json:"description"`
	CostType      *string `json:"cost_type"`
	ContextWindow *string `json:"context_window"`
	Model         *string `json:"model"`
	ServiceTier   *string `json:"service_tier"`
	TokenType     *string `json:"token_type"`
	InferenceGeo  *string `json:"inference_geo"`
}

type costItemSpeedJSON struct {
	costItemJSON
	Speed *string `json:"speed"`
}

func costItem(r *costRow) costItemJSON {
	it := costItemJSON{Currency: "USD", Amount: FormatNanoCents(r.nc), WorkspaceID: r.ws}
	if l := r.line; l != nil {
		it.Description = &l.Description
		it.CostType = &l.CostType
		it.ContextWindow = l.ContextWindow
		it.Model = l.Model
		it.ServiceTier = l.ServiceTier
		it.TokenType = l.TokenType
		it.InferenceGeo = l.InferenceGeo
	}
	return it
}

func parseCostGroupBy(groups []string) (costSpec, *apiError) {
	var spec costSpec
	for _, g := range groups {
		switch g {
		case "workspace_id":
			spec.byWorkspace = true
		case "description":
			spec.byDescription = true
		default:
			return spec, badRequest("group_by: %q is not supported by the cost report; allowed values: \"workspace_id\", \"description\"", g)
		}
	}
	return spec, nil
}

// handleCost serves the cost report. Rule for "too recent" windows: a
// starting_at later than the start of the current UTC day is rejected with
// 400 (today's bucket itself is served, growing through the day as the cost
// of each minute appears CostSettle after it).
func (s *Simulator) handleCost(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	beta := hasBeta(r, betaFastMode)
	start, _, err := parseTimeParam(q, "starting_at", true)
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := parseTimeParam(q, "ending_at", false)
	if err != nil {
		return nil, err
	}
	if width := q.Get("bucket_width"); width != "" && width != width1d {
		return nil, badRequest("bucket_width: the cost report supports only \"1d\", got %q", width)
	}
	limit, err := parseLimit(q, 1, bucketWidths[width1d].maxLimit, bucketWidths[width1d].defaultLimit, " for the cost report")
	if err != nil {
		return nil, err
	}
	spec, err := parseCostGroupBy(arrayParam(q, "group_by"))
	if err != nil {
		return nil, err
	}
	if hasEnd && !end.After(start) {
		return nil, badRequest("ending_at: must be after starting_at")
	}
	now := s.now()
	today := now.UTC().Truncate(24 * time.Hour)
	if start.After(today) {
		return nil, badRequest("starting_at: %s is too recent; the cost report is available for days starting at or before %s", fmtTime(start), fmtTime(today))
	}
	plan := planBuckets(start, end, hasEnd, 24*time.Hour, now)
	endKey := ""
	if hasEnd {
		endKey = strconv.FormatInt(end.UnixNano(), 10)
	}
	fp := fingerprint("cost", strconv.FormatInt(plan.first, 10), endKey, strconv.FormatBool(spec.byWorkspace), strconv.FormatBool(spec.byDescription), strconv.FormatBool(beta))
	c, err := parsePage(q, "cost", fp)
	if err != nil {
		return nil, err
	}
	idx, n, err := plan.pageOf(c, limit)
	if err != nil {
		return nil, err
	}
	spans := make([]span, n)
	for i := range spans {
		a := (plan.first + (idx+int64(i))*plan.w) / 60
		spans[i] = span{a, a + 24*60}
	}
	rows := s.aggregateCost(spec, spans, false, now.UnixNano())
	return pageOfBuckets("cost", fp, plan, idx, n, spans, func(i int) any {
		if beta {
			res := make([]costItemSpeedJSON, 0, len(rows[i]))
			for _, r := range rows[i] {
				it := costItemSpeedJSON{costItemJSON: costItem(r)}
				if r.line != nil {
					it.Speed = r.line.Speed
				}
				res = append(res, it)
			}
			return res
		}
		res := make([]costItemJSON, 0, len(rows[i]))
		for _, r := range rows[i] {
			res = append(res, costItem(r))
		}
		return res
	}), nil
}
