// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"math"
	"time"
)

// The six usage counters of a series.
const (
	cUncached = iota
	cCacheRead
	cCache5m
	cCache1h
	cOutput
	cWebSearch
	// cRequests counts requests (execution spans, for code execution). Only
	// the analytics endpoints report it.
	cRequests
	nCounters
)

type counters [nCounters]int64

func (c *counters) add(o *counters) {
	for i := range c {
		c[i] += o[i]
	}
}

func (c *counters) zero() bool {
	for _, v := range c {
		if v != 0 {
			return false
		}
	}
	return true
}

// legacyZero: the legacy usage report has no request count, so a minute
// with requests and no tokens is no row of it.
func (c *counters) legacyZero() bool {
	for _, v := range c[:cRequests] {
		if v != 0 {
			return false
		}
	}
	return true
}

// Usage dimensions, in the order of the group_by vocabulary.
const (
	dimAPIKey = iota
	dimWorkspace
	dimModel
	dimServiceTier
	dimContextWindow
	dimInferenceGeo
	dimSpeed
	dimAccount
	dimServiceAccount
	nDims
)

var dimNames = [nDims]string{"api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo", "speed", "account_id", "service_account_id"}

// filterParams are the usage-report filter parameters of each dimension
// (sent as name[]=value; the bare name=value is accepted too).
var filterParams = [nDims]string{"api_key_ids", "workspace_ids", "models", "service_tiers", "context_window", "inference_geos", "speeds", "account_ids", "service_account_ids"}

// filterEnums are the closed vocabularies of the enum filters.
var filterEnums = [nDims][]string{
	dimServiceTier:   {"standard", "batch", "priority", "priority_on_demand", "flex", "flex_discount"},
	dimContextWindow: {"0-200k", "200k-1M"},
	dimInferenceGeo:  {"global", "us", "not_available"},
	dimSpeed:         {"standard", "fast"},
}

// series is one usage time series: (workspace, API key or Workbench, model,
// service tier, context window, inference geo, speed). Its per-minute values
// are computed on demand from hashes, never stored.
type series struct {
	Key    uint64
	WS     *workspace
	APIKey *apiKey // nil: Workbench / Console use
	Model  *modelInfo
	Tier   string
	CW     string
	Geo    string
	Speed  string

	FromMin, UntilMin int64 // usage exists in [FromMin, UntilMin) (unix minutes)

	Base    int64 // uncached input tokens in an active hour at peak rhythm
	Ratio   [nCounters]int64
	PActive int64 // permille chance that an hour at peak rhythm is active
	Density int64 // permille chance that a minute of an active hour is active
	Burst   int64 // permille chance that an active hour is a burst

	Dims   [nDims]*string
	Prices [5]int64 // nano-cents per token for the five token counters; all 0 for priority
}

func sp(s string) *string { return &s }

func (s *series) setDims(account, serviceAccount *string) {
	if s.APIKey != nil {
		s.Dims[dimAPIKey] = &s.APIKey.ID
	}
	s.Dims[dimWorkspace] = s.WS.ID
	s.Dims[dimModel] = &s.Model.ID
	s.Dims[dimServiceTier] = sp(s.Tier)
	s.Dims[dimContextWindow] = sp(s.CW)
	s.Dims[dimInferenceGeo] = sp(s.Geo)
	s.Dims[dimSpeed] = sp(s.Speed)
	s.Dims[dimAccount] = account
	s.Dims[dimServiceAccount] = serviceAccount
}

// priceTable gives nano-cents per token for the five token counters of a
// series. Multipliers: cache read 0.1x, 5m cache write 1.25x, 1h cache
// write 2x input; long context 2x input and 1.5x output; fast 6x; batch and
// flex 0.5x; US-only inference 1.1x. Priority-tier use is not billed in the
// cost report, so its table is all zero.
func priceTable(m *modelInfo, tier, cw, geo, speed string) [5]int64 {
	var p [5]int64
	if tier == "priority" || tier == "priority_on_demand" {
		return p
	}
	num, den := int64(1), int64(1)
	if speed == "fast" {
		num *= 6
	}
	if tier == "batch" || tier == "flex" {
		den *= 2
	}
	if geo == "us" {
		num, den = num*11, den*10
	}
	in, out := m.InputNC, m.OutputNC
	if cw == "200k-1M" {
		in, out = in*2, out*3/2
	}
	p[cUncached] = in * num / den
	p[cCacheRead] = in * num / (den * 10)
	p[cCache5m] = in * 5 * num / (den * 4)
	p[cCache1h] = in * 2 * num / den
	p[cOutput] = out * num / den
	return p
}

// rhythm is the permille activity level by UTC hour of day: quiet nights,
// a European morning and a busy American afternoon.
var rhythm = [24]int64{120, 80, 60, 50, 60, 90, 180, 320, 480, 600, 650, 680, 720, 820, 920, 1000, 1000, 980, 940, 880, 760, 600, 400, 220}

func rhythmAt(hour int64) int64 {
	r := rhythm[hour%24]
	day := floorDiv(hour, 24)
	if dow := (day + 4) % 7; dow == 0 || dow == 6 { // 1970-01-01 was a Thursday
		r = r * 45 / 100
	}
	return r
}

// hourTotals is the FINAL total of each counter of series s in the UTC hour
// h (unix hours), before any clipping; ok is false for an idle hour.
func hourTotals(seed uint64, s *series, h int64) (tot counters, ok bool) {
	u := hash4(seed, s.Key, uint64(h), 1)
	r := rhythmAt(h)
	if int64(u%1000) >= s.PActive*r/1000 {
		return tot, false
	}
	level := s.Base * r / 1000
	u2 := hash4(seed, s.Key, uint64(h), 2)
	if int64(u2%1000) < s.Burst {
		level *= 3 + int64((u2>>10)%8)
	}
	level = level * (500 + int64((u2>>20)%1000)) / 1000
	for c := 0; c < nCounters; c++ {
		if s.Ratio[c] == 0 {
			continue
		}
		j := 800 + int64(hash4(seed, s.Key, uint64(h), uint64(3+c))%400)
		tot[c] = level * s.Ratio[c] / 1_000_000 * j / 1000
	}
	if tot[cRequests] == 0 && tot[cUncached] > 0 && s.Ratio[cRequests] > 0 {
		tot[cRequests] = 1 // tokens come in at least one request
	}
	return tot, !tot.zero()
}

// minuteCum fills cum with the cumulative minute weights of hour h:
// cum[i] is the weight of minutes [0, i). Minute i of the hour gets
// floor(H*cum[i+1]/W) - floor(H*cum[i]/W) of an hour total H, so the minutes
// add up to H exactly and a minute with weight 0 is idle.
func minuteCum(seed uint64, s *series, h int64, cum *[61]int64) {
	cum[0] = 0
	for i := 0; i < 60; i++ {
		x := hash4(seed, s.Key, uint64(h*60+int64(i)), 100)
		var w int64
		if int64(x%1000) < s.Density {
			w = 1 + int64((x>>10)%100)
			if (x>>20)%1000 < 15 {
				w *= 20 // a burst minute
			}
		}
		cum[i+1] = cum[i] + w
	}
	if cum[60] == 0 {
		j := int(hash4(seed, s.Key, uint64(h), 99) % 60)
		for i := j + 1; i <= 60; i++ {
			cum[i] = 1
		}
	}
}

// evaluator computes values of one series at a time, caching the current
// hour so that walking minute by minute costs one hour's hashes per hour.
type evaluator struct {
	seed      uint64
	freezeMin int64 // minutes starting at or after this are 0
	revisions Revisions
	revisedBy int64 // revisions visible at this clock time (ns) are applied
	s         *series
	h         int64
	hOK       bool
	hTot      counters
	hasCum    bool
	cum       [61]int64
	valid     bool
}

func (e *evaluator) reset(s *series) {
	e.s = s
	e.valid = false
}

func (e *evaluator) hour(h int64) bool {
	if !e.valid || e.h != h {
		e.h, e.valid, e.hasCum = h, true, false
		e.hTot, e.hOK = hourTotals(e.seed, e.s, h)
		if e.hOK && e.revised(h) {
			up := hash4(e.seed, e.s.Key, uint64(h), 201)%2 == 0
			for c := range e.hTot {
				if up {
					e.hTot[c] += e.hTot[c] / 2
				} else {
					e.hTot[c] /= 2
				}
			}
		}
	}
	return e.hOK
}

// revised reports whether hour h of the series is revised by revisedBy.
func (e *evaluator) revised(h int64) bool {
	r := e.revisions
	if r.Every <= 0 || hash4(e.seed, e.s.Key, uint64(h), 200)%uint64(r.Every) != 0 {
		return false
	}
	return (h+1)*int64(time.Hour)+int64(r.After) <= e.revisedBy
}

func (e *evaluator) ensureCum() {
	if !e.hasCum {
		minuteCum(e.seed, e.s, e.h, &e.cum)
		e.hasCum = true
	}
}

// final adds the FINAL values of minutes [a, b) (unix minutes) to out,
// honouring the series' lifetime and the freeze.
func (e *evaluator) final(a, b int64, out *counters) {
	s := e.s
	if a < s.FromMin {
		a = s.FromMin
	}
	if b > s.UntilMin {
		b = s.UntilMin
	}
	if b > e.freezeMin {
		b = e.freezeMin
	}
	for h := floorDiv(a, 60); h*60 < b; h++ {
		hs := h * 60
		i0, i1 := max(a, hs)-hs, min(b, hs+60)-hs
		if i0 >= i1 || !e.hour(h) {
			continue
		}
		if i0 == 0 && i1 == 60 {
			out.add(&e.hTot)
			continue
		}
		e.ensureCum()
		w := e.cum[60]
		for c := range out {
			if t := e.hTot[c]; t != 0 {
				out[c] += t*e.cum[i1]/w - t*e.cum[i0]/w
			}
		}
	}
}

// visible adds the values of minutes [a, b) visible at clock time tNs:
// a minute starting at S with final value F shows
// floor(F * min(1, (t-S)/(60s+settle))), and 0 before S.
func (e *evaluator) visible(a, b int64, tNs int64, settle time.Duration, out *counters) {
	total := int64(time.Minute + settle)
	sb := floorDiv(tNs-total, int64(time.Minute)) + 1 // first minute not yet settled
	e.final(a, min(b, sb), out)
	for m := max(a, sb); m < b && m*int64(time.Minute) < tNs; m++ {
		var f counters
		e.final(m, m+1, &f)
		if f.zero() {
			continue
		}
		el := tNs - m*int64(time.Minute)
		for c := range out {
			out[c] += mulDiv(f[c], el, total)
		}
	}
}

// noFreeze is the freeze boundary when the simulator is not frozen.
const noFreeze = math.MaxInt64
