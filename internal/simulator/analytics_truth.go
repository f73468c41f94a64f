// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// AnalyticsTruthRow is the FINAL usage and cost of one group of the
// analytics endpoints over a window: rows with identical groups (null
// actors the server cannot render) are summed, as a client must.
type AnalyticsTruthRow struct {
	// Dims maps each group_by dimension to its value (nil = null). The
	// actor is its id: the user, service account or API key id, or the
	// federated subject.
	UsageTruthRow
	Requests            int64 `json:"requests"`
	AmountNanoCents     int64 `json:"amount_nano_cents"`
	ListAmountNanoCents int64 `json:"list_amount_nano_cents"`
}

// TruthAnalytics returns the FINAL values (as if fully settled and past
// the revision horizon, honouring Freeze) over the window, one row per
// group of the analytics vocabulary; q.Filters are the analytics filter
// parameters without brackets. Usage with no cost (priority tier) and cost
// with no tokens (code execution) are both in it. It panics on an invalid
// group_by or filter (a test bug).
func (s *Simulator) TruthAnalytics(q TruthQuery) []AnalyticsTruthRow {
	v := url.Values{}
	for _, g := range q.GroupBy {
		if !adminapi.IsFanOutDim(g) {
			v.Add("group_by[]", g)
		}
	}
	for k, vals := range q.Filters {
		v[k+"[]"] = vals
	}
	spec, err := parseASpec(v, false)
	if err != nil {
		panic(fmt.Sprintf("simulator: TruthAnalytics: %s", err.Message))
	}
	out := []AnalyticsTruthRow{}
	sp := s.truthSpan(q)
	if sp.b <= sp.a {
		return out
	}
	index := map[string]int{}
	for _, r := range s.aggregateAnalytics(&spec, []span{sp}, 0, true, true) {
		dims := map[string]*string{}
		var key strings.Builder
		for d, name := range adminapi.AnalyticsUsageGroupBy {
			if !spec.group[d] {
				continue
			}
			val := r.rep.vals[d]
			if d == aActor {
				val = nil
				if id := r.rep.actorKey; r.rep.actor != nil {
					_, after, _ := strings.Cut(id, ":")
					val = &after
				}
			}
			dims[name] = val
			if val != nil {
				key.WriteString("\x01" + *val)
			}
			key.WriteByte('\x1f')
		}
		i, ok := index[key.String()]
		if !ok {
			i = len(out)
			index[key.String()] = i
			out = append(out, AnalyticsTruthRow{UsageTruthRow: UsageTruthRow{Dims: dims}})
		}
		t := &out[i]
		t.UncachedInputTokens += r.v[cUncached]
		t.CacheReadInputTokens += r.v[cCacheRead]
		t.CacheCreation5m += r.v[cCache5m]
		t.CacheCreation1h += r.v[cCache1h]
		t.OutputTokens += r.v[cOutput]
		t.WebSearchRequests += r.v[cWebSearch]
		t.Requests += r.v[cRequests]
		m := r.amount()
		t.AmountNanoCents += m.amount
		t.ListAmountNanoCents += m.list
	}
	return out
}
