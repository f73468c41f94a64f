// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// usageSpec is the grouping and filtering of a usage query.
type usageSpec struct {
	group   [nDims]bool
	filters [nDims]map[string]bool
}

// parseUsageSpec reads group_by[] and the filter arrays. allowSpeed is false
// without the fast-mode beta header.
func parseUsageSpec(q url.Values, allowSpeed bool) (usageSpec, []string, *apiError) {
	var spec usageSpec
	var groups []string
	for _, g := range arrayParam(q, "group_by") {
		d := -1
		for i, n := range dimNames {
			if n == g {
				d = i
			}
		}
		if d < 0 {
			return spec, nil, badRequest("group_by: unknown value %q; allowed values: %s", g, quoteList(dimNames[:]))
		}
		if d == dimSpeed && !allowSpeed {
			return spec, nil, badRequest("group_by: \"speed\" requires the header anthropic-beta: %s", betaFastMode)
		}
		if !spec.group[d] {
			spec.group[d] = true
			groups = append(groups, g)
		}
	}
	for d, name := range filterParams {
		vals := arrayParam(q, name)
		if len(vals) == 0 {
			continue
		}
		if d == dimSpeed && !allowSpeed {
			return spec, nil, badRequest("speeds[]: the speeds filter requires the header anthropic-beta: %s", betaFastMode)
		}
		spec.filters[d] = map[string]bool{}
		for _, v := range vals {
			if enum := filterEnums[d]; enum != nil && !oneOf(v, enum) {
				return spec, nil, badRequest("%s[]: unknown value %q; allowed values: %s", name, v, quoteList(enum))
			}
			spec.filters[d][v] = true
		}
	}
	return spec, groups, nil
}

// fingerprintParts renders the spec canonically (for page cursors).
func (u *usageSpec) fingerprintParts() []string {
	var parts []string
	for d := 0; d < nDims; d++ {
		if u.group[d] {
			parts = append(parts, "g:"+dimNames[d])
		}
		if f := u.filters[d]; f != nil {
			var v []string
			for k := range f {
				v = append(v, k)
			}
			parts = append(parts, "f:"+dimNames[d]+"="+sortedJoin(v))
		}
	}
	return parts
}

func (u *usageSpec) match(s *series) bool {
	for d, f := range u.filters {
		if f == nil {
			continue
		}
		v := s.Dims[d]
		if v == nil || !f[*v] {
			return false
		}
	}
	return true
}

func groupKey(group *[nDims]bool, dims *[nDims]*string) string {
	var b strings.Builder
	for d := 0; d < nDims; d++ {
		if !group[d] {
			continue
		}
		if v := dims[d]; v == nil {
			b.WriteString("\x00")
		} else {
			b.WriteString("\x01")
			b.WriteString(*v)
		}
		b.WriteString("\x1f")
	}
	return b.String()
}

type usageRow struct {
	key  string
	dims [nDims]*string
	v    counters
}

// span is a half-open range of unix minutes.
type span struct{ a, b int64 }

// aggregateUsage sums, per span, the usage of the matching series grouped by
// spec: FINAL values if final, else the values visible at clock tNs. Rows
// with all-zero counters are omitted; rows are sorted by their dimensions.
func (s *Simulator) aggregateUsage(spec *usageSpec, spans []span, final bool, tNs int64) [][]*usageRow {
	ev := s.evaluator(final, tNs)
	aggs := make([]map[string]*usageRow, len(spans))
	for i := range aggs {
		aggs[i] = map[string]*usageRow{}
	}
	if len(spans) == 0 {
		return nil
	}
	lo, hi := spans[0].a, spans[len(spans)-1].b
	for _, sr := range s.org.Series {
		if sr.FromMin >= hi || sr.UntilMin <= lo || sr.FromMin >= ev.freezeMin || !spec.match(sr) {
			continue
		}
		key := groupKey(&spec.group, &sr.Dims)
		ev.reset(sr)
		for i, sp := range spans {
			if sp.b <= sr.FromMin || sp.a >= sr.UntilMin {
				continue
			}
			var c counters
			if final {
				ev.final(sp.a, sp.b, &c)
			} else {
				ev.visible(sp.a, sp.b, tNs, s.opts.UsageSettle, &c)
			}
			if c.legacyZero() {
				continue
			}
			row := aggs[i][key]
			if row == nil {
				row = &usageRow{key: key}
				for d := 0; d < nDims; d++ {
					if spec.group[d] {
						row.dims[d] = sr.Dims[d]
					}
				}
				aggs[i][key] = row
			}
			row.v.add(&c)
		}
	}
	out := make([][]*usageRow, len(spans))
	for i, m := range aggs {
		rows := make([]*usageRow, 0, len(m))
		for _, r := range m {
			rows = append(rows, r)
		}
		sort.Slice(rows, func(a, b int) bool { return rows[a].key < rows[b].key })
		out[i] = rows
	}
	return out
}

// Wire types of the usage report.

type cacheCreationJSON struct {
	Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
	Ephemeral5m int64 `json:"ephemeral_5m_input_tokens"`
}

type serverToolUseJSON struct {
	WebSearchRequests int64 `json:"web_search_requests"`
}

// tokensJSON are the token counts of a usage row, legacy or analytics.
type tokensJSON struct {
	UncachedInputTokens  int64             `json:"uncached_input_tokens"`
	CacheCreation        cacheCreationJSON `json:"cache_creation"`
	CacheReadInputTokens int64             `json:"cache_read_input_tokens"`
	OutputTokens         int64             `json:"output_tokens"`
	ServerToolUse        serverToolUseJSON `json:"server_tool_use"`
}

func tokensOf(v *counters) tokensJSON {
	return tokensJSON{
		UncachedInputTokens:  v[cUncached],
		CacheCreation:        cacheCreationJSON{Ephemeral1h: v[cCache1h], Ephemeral5m: v[cCache5m]},
		CacheReadInputTokens: v[cCacheRead],
		OutputTokens:         v[cOutput],
		ServerToolUse:        serverToolUseJSON{WebSearchRequests: v[cWebSearch]},
	}
}

type usageItemJSON struct {
	tokensJSON
	APIKeyID         *string `json:"api_key_id"`
	WorkspaceID      *string `json:"workspace_id"`
	Model            *string `json:"model"`
	ServiceTier      *string `json:"service_tier"`
	ContextWindow    *string `json:"context_window"`
	InferenceGeo     *string `json:"inference_geo"`
	AccountID        *string `json:"account_id"`
	ServiceAccountID *string `json:"service_account_id"`
}

// usageItemSpeedJSON adds the speed key, sent only with the fast-mode beta.
type usageItemSpeedJSON struct {
	usageItemJSON
	Speed *string `json:"speed"`
}

type bucketJSON struct {
	StartingAt string `json:"starting_at"`
	EndingAt   string `json:"ending_at"`
	Results    any    `json:"results"`
}

type reportPageJSON struct {
	Data     []bucketJSON `json:"data"`
	HasMore  bool         `json:"has_more"`
	NextPage *string      `json:"next_page"`
}

func usageItem(r *usageRow) usageItemJSON {
	return usageItemJSON{
		tokensJSON:       tokensOf(&r.v),
		APIKeyID:         r.dims[dimAPIKey],
		WorkspaceID:      r.dims[dimWorkspace],
		Model:            r.dims[dimModel],
		ServiceTier:      r.dims[dimServiceTier],
		ContextWindow:    r.dims[dimContextWindow],
		InferenceGeo:     r.dims[dimInferenceGeo],
		AccountID:        r.dims[dimAccount],
		ServiceAccountID: r.dims[dimServiceAccount],
	}
}

// bucketPlan is the list of buckets of a report query: count buckets of
// width w seconds from first (unix seconds).
type bucketPlan struct {
	first, w, count int64
}

// planBuckets aligns starting_at down to the bucket width (UTC), includes
// every bucket that starts before ending_at (so a non-aligned ending_at is
// rounded up), and never goes past the bucket containing now: the open
// bucket is returned with partial values. Without ending_at the query runs
// up to that open bucket, `limit` buckets per page.
func planBuckets(start, end time.Time, hasEnd bool, w time.Duration, now time.Time) bucketPlan {
	ws := int64(w / time.Second)
	first := floorDiv(start.Unix(), ws) * ws
	last := floorDiv(now.Unix(), ws)*ws + ws
	if hasEnd {
		if e := ceilDiv(end.UnixNano(), int64(w)) * ws; e < last {
			last = e
		}
	}
	n := (last - first) / ws
	if n < 0 {
		n = 0
	}
	return bucketPlan{first: first, w: ws, count: n}
}

// pageOf picks the page of the plan starting at the cursor, if any.
func (p bucketPlan) pageOf(c *cursor, limit int) (idx, n int64, err *apiError) {
	if c != nil {
		off := c.N - p.first
		if off < 0 || off%p.w != 0 || off/p.w > p.count {
			return 0, 0, badRequest("page: the page token does not fit this query's time range")
		}
		idx = off / p.w
	}
	n = min(int64(limit), p.count-idx)
	return idx, n, nil
}

func (s *Simulator) handleUsage(r *http.Request) (any, *apiError) {
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
	width := q.Get("bucket_width")
	if width == "" {
		width = width1d
	}
	bw, ok := bucketWidths[width]
	if !ok {
		return nil, badRequest("bucket_width: unknown value %q; allowed values: \"1m\", \"1h\", \"1d\"", width)
	}
	w := bw.d
	limit, err := parseLimit(q, 1, bw.maxLimit, bw.defaultLimit, " for bucket_width "+width)
	if err != nil {
		return nil, err
	}
	spec, _, err := parseUsageSpec(q, beta)
	if err != nil {
		return nil, err
	}
	if hasEnd && !end.After(start) {
		return nil, badRequest("ending_at: must be after starting_at")
	}
	now := s.now()
	plan := planBuckets(start, end, hasEnd, w, now)
	endKey := ""
	if hasEnd {
		endKey = strconv.FormatInt(end.UnixNano(), 10)
	}
	fp := fingerprint(append([]string{"usage", strconv.FormatInt(plan.first, 10), endKey, width, strconv.FormatBool(beta)}, spec.fingerprintParts()...)...)
	c, err := parsePage(q, "usage", fp)
	if err != nil {
		return nil, err
	}
	idx, n, err := plan.pageOf(c, limit)
	if err != nil {
		return nil, err
	}
	spans := make([]span, n)
	wm := plan.w / 60
	for i := range spans {
		a := (plan.first + (idx+int64(i))*plan.w) / 60
		spans[i] = span{a, a + wm}
	}
	rows := s.aggregateUsage(&spec, spans, false, now.UnixNano())
	return pageOfBuckets("usage", fp, plan, idx, n, spans, func(i int) any {
		if beta {
			res := make([]usageItemSpeedJSON, 0, len(rows[i]))
			for _, r := range rows[i] {
				res = append(res, usageItemSpeedJSON{usageItemJSON: usageItem(r), Speed: r.dims[dimSpeed]})
			}
			return res
		}
		res := make([]usageItemJSON, 0, len(rows[i]))
		for _, r := range rows[i] {
			res = append(res, usageItem(r))
		}
		return res
	}), nil
}

// pageOfBuckets lays out one page of a bucketed report and its cursor;
// results gives the rows of bucket i in the report's wire form.
func pageOfBuckets(report, fp string, plan bucketPlan, idx, n int64, spans []span, results func(i int) any) reportPageJSON {
	page := reportPageJSON{Data: make([]bucketJSON, 0, n)}
	for i, sp := range spans {
		page.Data = append(page.Data, bucketJSON{
			StartingAt: fmtTime(time.Unix(sp.a*60, 0)),
			EndingAt:   fmtTime(time.Unix(sp.b*60, 0)),
			Results:    results(i),
		})
	}
	if idx+n < plan.count {
		page.HasMore = true
		next := cursor{E: report, Q: fp, N: plan.first + (idx+n)*plan.w}.encode()
		page.NextPage = &next
	}
	return page
}
