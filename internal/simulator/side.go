// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Side paths (no key needed), clearly outside /v1/:
//
//	GET  /_sim/info                    keys, organization id, origin, clock, freeze
//	GET  /_sim/truth/usage?starting_at=…&ending_at=…&group_by[]=…&models[]=…
//	GET  /_sim/truth/cost?starting_at=…&ending_at=…&group_by[]=…
//	GET  /_sim/truth/analytics?starting_at=…&ending_at=…&group_by[]=…&products[]=…
//	GET  /_sim/truth/claude_code?starting_at=DATE&ending_at=DATE (exclusive; default one day)
//	GET  /_sim/stats                   request counters
//	POST /_sim/stats/reset             zero the counters
//	POST /_sim/freeze?at=RFC3339|now   freeze (default now)
//	POST /_sim/faults                  body {"path": "...", "faults": [Fault…]} or a list of those, or {"clear": true}
//	GET  /_sim/faults                  {"pending": n}
func (s *Simulator) serveSide(w http.ResponseWriter, r *http.Request, rid string) {
	method := func(m string) bool {
		if r.Method != m {
			writeError(w, rid, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Message: "Method not allowed: use " + m})
			return false
		}
		return true
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/_sim/info":
		if !method(http.MethodGet) {
			return
		}
		info := map[string]any{
			"admin_key": s.adminKey, "api_key": s.apiKey, "organization_id": s.org.ID,
			"origin": fmtTime(s.org.Origin), "now": s.now().UTC().Format(time.RFC3339Nano),
			"series": len(s.org.Series), "frozen_at": nil,
			"usage_settle": s.opts.UsageSettle.String(), "cost_settle": s.opts.CostSettle.String(),
			"claude_code_delay": s.opts.ClaudeCodeDelay.String(), "requests_per_minute": s.opts.RequestsPerMinute,
			"analytics_export_every": s.opts.Analytics.ExportEvery.String(), "analytics_horizon": s.opts.Analytics.Horizon.String(),
			"analytics_hipaa":             s.opts.Analytics.HIPAA,
			"analytics_data_refreshed_at": fmtTime(time.Unix(0, s.analytics.exportAt(s.now().UnixNano()))),
		}
		if at, ok := s.FrozenAt(); ok {
			info["frozen_at"] = at.Format(time.RFC3339Nano)
		}
		writeJSON(w, http.StatusOK, info)
	case "/_sim/truth/usage", "/_sim/truth/cost", "/_sim/truth/analytics":
		if !method(http.MethodGet) {
			return
		}
		tq, err := truthQueryFromParams(q)
		if err != nil {
			writeError(w, rid, err)
			return
		}
		var data any
		switch r.URL.Path {
		case "/_sim/truth/usage":
			tq.Filters = filtersOf(q, filterParams[:], arrayParam)
			data, err = s.truthUsage(tq)
		case "/_sim/truth/cost":
			data, err = s.truthCost(tq)
		default:
			// The empty api_key_ids[] entry is a value here.
			tq.Filters = filtersOf(q, aFilters[:], func(q url.Values, name string) []string { return q[name+"[]"] })
			if _, err = parseASpec(q, true); err == nil {
				data = s.TruthAnalytics(tq)
			}
		}
		if err != nil {
			writeError(w, rid, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data})
	case "/_sim/truth/claude_code":
		if !method(http.MethodGet) {
			return
		}
		start, err := time.Parse(time.DateOnly, q.Get("starting_at"))
		if err != nil {
			writeError(w, rid, badRequest("starting_at: must be a UTC date in YYYY-MM-DD format"))
			return
		}
		tq := TruthQuery{StartingAt: start}
		if v := q.Get("ending_at"); v != "" {
			end, err := time.Parse(time.DateOnly, v)
			if err != nil {
				writeError(w, rid, badRequest("ending_at: must be a UTC date in YYYY-MM-DD format"))
				return
			}
			tq.EndingAt = end
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": s.TruthClaudeCode(tq)})
	case "/_sim/stats":
		if !method(http.MethodGet) {
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
	case "/_sim/stats/reset":
		if !method(http.MethodPost) {
			return
		}
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.Stats())
	case "/_sim/freeze":
		if !method(http.MethodPost) {
			return
		}
		at := s.now()
		if v := q.Get("at"); v != "" && v != "now" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, rid, badRequest("at: invalid RFC 3339 date-time %q (or use \"now\")", v))
				return
			}
			at = t
		}
		s.Freeze(at)
		got, _ := s.FrozenAt()
		writeJSON(w, http.StatusOK, map[string]any{"frozen_at": got.Format(time.RFC3339Nano)})
	case "/_sim/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"pending": s.faults.Pending()})
		case http.MethodPost, http.MethodPut:
			if err := s.scriptFromJSON(r.Body); err != nil {
				writeError(w, rid, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"pending": s.faults.Pending()})
		case http.MethodDelete:
			s.faults.Clear()
			writeJSON(w, http.StatusOK, map[string]any{"pending": 0})
		default:
			method(http.MethodPost)
		}
	default:
		writeError(w, rid, &apiError{Status: 404, Type: "not_found_error", Message: "Not found: " + r.URL.Path})
	}
}

func truthQueryFromParams(q map[string][]string) (TruthQuery, *apiError) {
	var tq TruthQuery
	start, _, err := parseTimeParam(q, "starting_at", true)
	if err != nil {
		return tq, err
	}
	end, _, err := parseTimeParam(q, "ending_at", false)
	if err != nil {
		return tq, err
	}
	tq.StartingAt, tq.EndingAt = start, end
	tq.GroupBy = arrayParam(q, "group_by")
	return tq, nil
}

// filtersOf collects the filter parameters sent, keyed without brackets.
func filtersOf(q url.Values, names []string, values func(url.Values, string) []string) map[string][]string {
	var f map[string][]string
	for _, name := range names {
		if v := values(q, name); len(v) > 0 {
			if f == nil {
				f = map[string][]string{}
			}
			f[name] = v
		}
	}
	return f
}

type faultScript struct {
	Path   string  `json:"path"`
	Faults []Fault `json:"faults"`
	Clear  bool    `json:"clear"`
}

func (s *Simulator) scriptFromJSON(body io.Reader) *apiError {
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return badRequest("body: %v", err)
	}
	b = bytes.TrimSpace(b)
	var scripts []faultScript
	if len(b) > 0 && b[0] == '[' {
		err = json.Unmarshal(b, &scripts)
	} else {
		var one faultScript
		err = json.Unmarshal(b, &one)
		scripts = []faultScript{one}
	}
	if err != nil {
		return badRequest("body: invalid fault script: %v", err)
	}
	for _, sc := range scripts {
		if sc.Clear {
			s.faults.Clear()
		}
		if len(sc.Faults) > 0 {
			if sc.Path == "" {
				return badRequest("path: required (an endpoint path, or \"*\")")
			}
			s.faults.Script(sc.Path, sc.Faults...)
		}
	}
	return nil
}
