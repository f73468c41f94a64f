// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

// Package simulator is a deterministic, faithful local simulator of the
// Anthropic Admin API endpoints read by the usage receiver: the Messages
// usage report, the cost report, the Claude Code analytics report, the
// workspace, API key, user and organization lookups, the Usage and Cost
// Analytics API (analytics.go), and the rate-limit and spend-limit lists of
// a Console or Enterprise organization (limits.go).
//
// Everything is computed from a seed: a synthetic organization, and per
// series per UTC minute the FINAL values of the six usage counters. A series
// is (workspace, API key or Workbench, model, service tier, context window,
// inference geo, speed). Its hour totals come from hash(seed, series, hour)
// with a daily rhythm (busy UTC daytime, quiet nights and weekends), bursts
// and idle hours; each hour is split over its minutes by weights from
// hash(seed, series, minute), many of them zero, so that the minutes add up
// to the hour exactly. Nothing per minute is stored, so long histories at
// large scale cost CPU, not memory.
//
// # Late data
//
// At clock time t a counter of one series in the minute starting at S, whose
// final value is F, shows 0 if t < S and
// floor(F * min(1, (t-S)/(60s+UsageSettle))) otherwise: the open minute
// shows partial values and a closed minute keeps growing for UsageSettle.
// The rounding is per series; grouped rows and hour and day buckets are sums
// of those per-series minute values, so every grouping adds up to the same
// totals at any clock time.
// The cost of a minute m (final tokens x price, exact integer nano-cents)
// becomes visible at once, at m_end+CostSettle. A Claude Code hour of
// activity becomes visible at hour_end+ClaudeCodeDelay.
//
// # Revisions after the window
//
// With Options.Revisions, some hours of some series change once more long
// after they settled, up or down, and their cost with them.
//
// # Freeze and truth
//
// Freeze(at) makes every minute (and Claude Code hour) starting at or after
// at final-zero: no new usage, cost or activity. The Truth* functions return
// FINAL values (as if fully settled) summed over a window, honouring the
// freeze; once the clock passes the freeze plus the settle delays, what a
// client reads equals the truth exactly.
//
// # Authentication
//
// The admin key (AdminKey) is accepted in x-api-key (or as a Bearer token).
// A missing or unknown key gets 401 authentication_error; any key starting
// with "sk-ant-api" (APIKey, or any other standard API key) gets 403
// permission_error. A missing or unknown anthropic-version gets 400.
package simulator

import (
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Simulator. Zero values select the documented defaults.
type Options struct {
	Seed int64
	// Now is the clock; nil means time.Now. Tests pass a fake clock and step it.
	Now func() time.Time
	// HistoryDays: usage exists from Now()-HistoryDays (at New). Default 8.
	HistoryDays int
	Org         OrgOptions
	// UsageSettle: a usage minute keeps growing this long after it closes.
	// Default 5m; a negative value means 0.
	UsageSettle time.Duration
	// CostSettle: the cost of a minute appears this long after it closes.
	// Default 1h; a negative value means 0.
	CostSettle time.Duration
	// ClaudeCodeDelay: Claude Code activity of an hour appears this long
	// after the hour ends. Default 1h; a negative value means 0.
	ClaudeCodeDelay time.Duration
	// RequestsPerMinute is a server-side rate limit over a sliding 60 s
	// window (of the clock) across all /v1 paths; 0 means unlimited.
	RequestsPerMinute int
	// AdminKey, if set, is the admin key to accept instead of the one
	// derived from Seed.
	AdminKey string
	// Analytics configures the Usage and Cost Analytics API.
	Analytics AnalyticsOptions
	// Revisions revise some hours of usage (and their cost) long after
	// they closed, up or down; off when Every is 0.
	Revisions Revisions
	// LimitsMode is the kind of organization the spend-limit and rate-limit
	// endpoints serve (limits.go); "" is LimitsConsole.
	LimitsMode string
}

// Revisions revise one series-hour in Every (chosen by the seed) at the
// hour's end plus After, long past any revision window: its final values
// become half again as large or half as large (each with even odds). The
// truth is the revised values: what the API says once every revision
// happened.
type Revisions struct {
	Every int
	After time.Duration
}

// OrgOptions sizes the synthetic organization.
type OrgOptions struct {
	// Workspaces is the number of named workspaces, in addition to the
	// default workspace (and to one archived workspace). Default 3.
	Workspaces int
	// APIKeysPerWorkspace, default 2. Workbench/Console use (api_key_id
	// null) also exists in every workspace.
	APIKeysPerWorkspace int
	// Models in use; default DefaultModels.
	Models []string
	// ClaudeCodeUsers is the number of Claude Code user actors (default 3);
	// API-key actors are added (half as many, at least one).
	ClaudeCodeUsers int
	// Scale multiplies workspaces and Claude Code users (and so the number
	// of series); 0 and 1 mean small.
	Scale int
}

// Simulator serves the simulated Admin API. It is safe for concurrent use.
type Simulator struct {
	opts     Options
	now      func() time.Time
	seed     uint64
	org      *org
	adminKey string
	apiKey   string

	freezeNs atomic.Int64 // noFreeze when not frozen
	reqSeq   atomic.Uint64

	faults    *Faults
	analytics *analyticsState

	mu    sync.Mutex // guards stats, rl and spendRL
	stats Stats
	rl    []int64 // accepted request times (ns) in the sliding window
	// spendRL: the spend-limit endpoints' own 60 requests a minute (limits.go).
	spendRL []int64
}

// New builds a simulator. The organization is fixed at construction, from
// the seed and the clock's time at that moment.
func New(opts Options) *Simulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HistoryDays <= 0 {
		opts.HistoryDays = 8
	}
	opts.UsageSettle = durDefault(opts.UsageSettle, 5*time.Minute)
	opts.CostSettle = durDefault(opts.CostSettle, time.Hour)
	opts.ClaudeCodeDelay = durDefault(opts.ClaudeCodeDelay, time.Hour)
	if opts.Org.Workspaces <= 0 {
		opts.Org.Workspaces = 3
	}
	if opts.Org.APIKeysPerWorkspace <= 0 {
		opts.Org.APIKeysPerWorkspace = 2
	}
	if len(opts.Org.Models) == 0 {
		opts.Org.Models = append([]string(nil), DefaultModels...)
	}
	if opts.Org.ClaudeCodeUsers <= 0 {
		opts.Org.ClaudeCodeUsers = 3
	}
	if opts.Org.Scale <= 0 {
		opts.Org.Scale = 1
	}
	if opts.LimitsMode == "" {
		opts.LimitsMode = LimitsConsole
	}
	s := &Simulator{opts: opts, now: opts.Now, seed: uint64(opts.Seed), faults: &Faults{}}
	s.org = newOrg(s.seed, opts, opts.Now())
	s.analytics = newAnalyticsState(s)
	s.adminKey = opts.AdminKey
	if s.adminKey == "" {
		s.adminKey = "sk-ant-admin01-" + base58ID(hash4(s.seed, 0xad, 1, 0), 24) + base58ID(hash4(s.seed, 0xad, 2, 0), 24) + "-sim"
	}
	s.apiKey = "sk-ant-api03-" + base58ID(hash4(s.seed, 0xa9, 1, 0), 24) + base58ID(hash4(s.seed, 0xa9, 2, 0), 24) + "-sim"
	s.freezeNs.Store(noFreeze)
	s.stats = Stats{Requests: map[string]int{}, ByStatus: map[int]int{}}
	return s
}

func durDefault(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// evaluator reads the series' values: final ones (the truth, every
// revision made), or those visible at clock time tNs.
func (s *Simulator) evaluator(final bool, tNs int64) evaluator {
	by := tNs
	if final {
		by = math.MaxInt64
	}
	return evaluator{seed: s.seed, freezeMin: s.freezeMinute(), revisions: s.opts.Revisions, revisedBy: by}
}

// Now is the simulator's clock.
func (s *Simulator) Now() time.Time { return s.now() }

// Options returns the effective options (defaults filled in).
func (s *Simulator) Options() Options { return s.opts }

// AdminKey is a valid admin key ("sk-ant-admin01-…").
func (s *Simulator) AdminKey() string { return s.adminKey }

// APIKey is a valid non-admin key ("sk-ant-api03-…"); admin endpoints answer
// it with 403 permission_error.
func (s *Simulator) APIKey() string { return s.apiKey }

// OrganizationID is the organization's UUID (as served by /me and in Claude
// Code records).
func (s *Simulator) OrganizationID() string { return s.org.ID }

// Origin is the first instant with usage.
func (s *Simulator) Origin() time.Time { return s.org.Origin }

// Freeze stops all new usage, cost and Claude Code activity: every minute
// (and Claude Code hour) starting at or after at has final value 0. The
// earliest freeze wins if called more than once. Freezing before data that
// was already visible retracts it.
func (s *Simulator) Freeze(at time.Time) {
	ns := at.UnixNano()
	for {
		cur := s.freezeNs.Load()
		if ns >= cur || s.freezeNs.CompareAndSwap(cur, ns) {
			return
		}
	}
}

// FrozenAt returns the freeze instant, if frozen.
func (s *Simulator) FrozenAt() (time.Time, bool) {
	ns := s.freezeNs.Load()
	if ns == noFreeze {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}

// freezeMinute: minutes starting at or after this unix minute are zero.
func (s *Simulator) freezeMinute() int64 {
	ns := s.freezeNs.Load()
	if ns == noFreeze {
		return noFreeze
	}
	return ceilDiv(ns, int64(time.Minute))
}

// freezeHour: Claude Code hours starting at or after this unix hour are zero.
func (s *Simulator) freezeHour() int64 {
	ns := s.freezeNs.Load()
	if ns == noFreeze {
		return noFreeze
	}
	return ceilDiv(ns, int64(time.Hour))
}

// Faults gives access to fault injection.
func (s *Simulator) Faults() *Faults { return s.faults }

// Stats counts the requests served on /v1 (and other non-/_sim) paths.
type Stats struct {
	Requests    map[string]int `json:"requests"`     // by path
	ByStatus    map[int]int    `json:"by_status"`    // by HTTP status; 0 = connection reset
	RateLimited int            `json:"rate_limited"` // 429s caused by the rate limit, not scripted
	Total       int            `json:"total"`
}

// Stats returns a copy of the request counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Requests: map[string]int{}, ByStatus: map[int]int{}, RateLimited: s.stats.RateLimited, Total: s.stats.Total}
	for k, v := range s.stats.Requests {
		out.Requests[k] = v
	}
	for k, v := range s.stats.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

// ResetStats zeroes the request counters.
func (s *Simulator) ResetStats() {
	s.mu.Lock()
	s.stats = Stats{Requests: map[string]int{}, ByStatus: map[int]int{}}
	s.mu.Unlock()
}

func (s *Simulator) newRequestID() string {
	n := s.reqSeq.Add(1)
	return "req_011C" + base58ID(hash4(s.seed, 0x4e9, n, 0), 20)
}

// Handler returns the HTTP handler serving /v1/organizations/… and the
// simulator side paths under /_sim/.
func (s *Simulator) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func hasBeta(r *http.Request, name string) bool {
	for _, v := range r.Header.Values("anthropic-beta") {
		for _, b := range strings.Split(v, ",") {
			if strings.TrimSpace(b) == name {
				return true
			}
		}
	}
	return false
}

const betaFastMode = "fast-mode-2026-02-01"
