// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package simulator

import (
	"slices"
	"strings"
	"time"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
)

// The Usage and Cost Analytics API (../shared/anthropic-analytics-api.md)
// serves the same series as the legacy reports, seen through exports.
//
// # Exports
//
// The data is exported every ExportEvery, at multiples of it since the Unix
// epoch; a response is served from the latest export E at or before now and
// says so in data_refreshed_at. An export holds what the legacy model shows
// at E (so minutes just before E are partial and nothing after E exists),
// revised: while an hour's end is less than Horizon before E, an export may
// scale each of its minutes by a factor of 0.8–1.2, or drop the hour of a
// series altogether, chosen by hash(seed, series, hour, export). Values move
// up and down from export to export and settle to the FINAL values once the
// hour is older than the horizon, so analytics totals then equal the legacy
// reports' (and TruthAnalytics). Minutes are scaled one at a time, so every
// bucket width and grouping adds up to the same totals within an export.
//
// # Attribution
//
// A key's series are the key's own (api_actor), except one key used only
// through a role federated from AWS (federated_actor) and one whose actors
// the server cannot render: its series are null actors, each its own row,
// so rows with identical groups occur. Workbench use is the user's
// (user_actor; users whose id hashes to 0 mod 3 are deleted members), the
// federated series of the legacy report are the service account's, code
// execution has no actor, model or product and counts execution spans as
// requests. The Console default workspace has a real id here.

// AnalyticsOptions configures the analytics endpoints.
type AnalyticsOptions struct {
	// ExportEvery is the export schedule. Default 4h.
	ExportEvery time.Duration
	// Horizon is how long an hour's values keep being revised. Default 30
	// days; a negative value means none.
	Horizon time.Duration
	// HIPAA makes this a HIPAA-ready organization: every analytics
	// request is a 400.
	HIPAA bool
	// RBACUnavailable answers grouping or filtering by rbac_group_id with
	// 503 overloaded_error, as seen on the Enterprise cost report.
	RBACUnavailable bool
	// ZeroFanOut sends cost fan-out rows whose amount is zero (whether the
	// API does is [U]).
	ZeroFanOut bool
}

// Analytics group dimensions, in the order of adminapi.AnalyticsUsageGroupBy.
const (
	aActor = iota
	aActorType
	aAgent
	aAPIKey
	aClaudeTagCategory
	aClaudeTagUser
	aContextWindow
	aDeployment
	aEnvironment
	aInferenceGeo
	aModel
	aOrganization
	aProduct
	aRBACGroup
	aServiceTier
	aSession
	aSlackChannel
	aSpeed
	aUserProfile
	aWorkspace
	nADims
)

// aFilters are the filter parameters of each dimension.
var aFilters = [nADims]string{
	aActor: "actor_ids", aActorType: "actor_types", aAgent: "agent_ids", aAPIKey: "api_key_ids",
	aClaudeTagCategory: "claude_tag_categories", aClaudeTagUser: "claude_tag_user_ids", aContextWindow: "context_windows",
	aDeployment: "deployment_ids", aEnvironment: "environment_ids", aInferenceGeo: "inference_geos", aModel: "models",
	aOrganization: "organization_ids", aProduct: "products", aRBACGroup: "rbac_group_ids", aServiceTier: "service_tiers",
	aSession: "session_ids", aSlackChannel: "slack_channel_ids", aSpeed: "speeds", aUserProfile: "user_profile_ids",
	aWorkspace: "workspace_ids",
}

// aEnums are the closed vocabularies of the enum filters.
var aEnums = [nADims][]string{
	aActorType:         {adminapi.ActorAPI, adminapi.ActorFederated, adminapi.ActorServiceAccount, adminapi.ActorUser},
	aClaudeTagCategory: {"dm", "engaged", "monitoring", "proactive", "scheduled"},
	aContextWindow:     {"0-200k", "200k-1M"},
	aInferenceGeo:      {"global", "us", "not_available"},
	aProduct: {"chat", "chat_cowork_unified", "claude_code", "claude_console", "claude_design", "claude_in_chrome",
		"claude_tag", "cowork", "managed_agents_api", "message_batches_api", "messages_api", "office_agent"},
	aServiceTier: {"batch", "flex", "flex_discount", "priority", "priority_on_demand", "standard"},
	aSpeed:       {"fast", "standard"},
}

// aSeries is a series as the analytics endpoints see it.
type aSeries struct {
	s        *series
	codeExec bool // counts execution spans only; its cost is code execution
	vals     [nADims]*string
	// actorKey tells actors apart when grouping; an unrenderable actor has
	// a key of its own but renders as null.
	actorKey string
	actor    map[string]any // nil: a null actor
	deleted  bool           // a user actor who is no longer a member
	list     [5]int64       // list prices of the five token counters
}

type analyticsState struct {
	series   []*aSeries
	cache    analyticsCache
	exportNs int64 // ExportEvery
	horizon  int64 // ns
}

func newAnalyticsState(s *Simulator) *analyticsState {
	o := &s.opts.Analytics
	o.ExportEvery = durDefault(o.ExportEvery, 4*time.Hour)
	o.Horizon = durDefault(o.Horizon, 30*24*time.Hour)
	st := &analyticsState{exportNs: int64(o.ExportEvery), horizon: int64(o.Horizon)}
	g := s.org
	defaultWS := "wrkspc_01" + base58ID(hash4(s.seed, 0xdef, 0, 0), 22)
	wsID := func(ws *workspace) *string {
		if ws.ID == nil {
			return &defaultWS
		}
		return ws.ID
	}
	users := map[string]*user{}
	for _, u := range g.Users {
		users[u.ID] = u
	}
	// The first key of the first named workspace is used through AWS
	// federation; the first key of the second, by actors the server
	// cannot render.
	var federatedKey, hiddenKey *apiKey
	if len(g.Workspaces) > 1 && len(g.Workspaces[1].Keys) > 0 {
		federatedKey = g.Workspaces[1].Keys[0]
	}
	if len(g.Workspaces) > 2 && len(g.Workspaces[2].Keys) > 0 {
		hiddenKey = g.Workspaces[2].Keys[0]
	}
	orgID := g.ID
	for _, sr := range g.Series {
		a := &aSeries{s: sr}
		a.vals[aWorkspace] = wsID(sr.WS)
		a.vals[aAPIKey] = sr.Dims[dimAPIKey]
		a.vals[aModel] = sr.Dims[dimModel]
		a.vals[aServiceTier] = sr.Dims[dimServiceTier]
		a.vals[aContextWindow] = sr.Dims[dimContextWindow]
		if sr.Geo != "not_available" {
			a.vals[aInferenceGeo] = sr.Dims[dimInferenceGeo]
		}
		a.vals[aSpeed] = sr.Dims[dimSpeed]
		a.vals[aOrganization] = &orgID
		switch {
		case sr.APIKey != nil && sr.APIKey == federatedKey:
			subject := "arn:aws:iam::123456789012:role/" + sr.APIKey.Name
			a.setActor(adminapi.ActorFederated, subject, map[string]any{
				"type": adminapi.ActorFederated, "subject": subject,
				"provider": map[string]any{"type": "aws", "account_id": "123456789012",
					"signed_principal": "arn:aws:sts::123456789012:assumed-role/" + sr.APIKey.Name + "/session-1"},
			})
		case sr.APIKey != nil && sr.APIKey == hiddenKey:
			a.actorKey = "\x00" + base58ID(sr.Key, 8)
		case sr.APIKey != nil:
			a.setActor(adminapi.ActorAPI, sr.APIKey.ID, map[string]any{"type": adminapi.ActorAPI, "api_key_id": sr.APIKey.ID})
		case sr.Dims[dimServiceAccount] != nil:
			id := *sr.Dims[dimServiceAccount]
			a.setActor(adminapi.ActorServiceAccount, id, map[string]any{"type": adminapi.ActorServiceAccount, "service_account_id": id})
		case sr.Dims[dimAccount] != nil:
			u := users[*sr.Dims[dimAccount]]
			a.deleted = hashString(u.ID)%3 == 0
			var email, name any = u.Email, u.Name
			if a.deleted {
				email, name = nil, "Deleted User"
			}
			a.setActor(adminapi.ActorUser, u.ID, map[string]any{"type": adminapi.ActorUser, "user_id": u.ID,
				"email_address": email, "name": name, "deleted": a.deleted})
		}
		product := "messages_api"
		switch {
		case sr.Tier == "batch":
			product = "message_batches_api"
		case sr.APIKey == nil && sr.Dims[dimServiceAccount] == nil:
			product = "claude_console"
		case sr.Dims[dimServiceAccount] != nil:
			product = "claude_code"
		}
		a.vals[aProduct] = &product
		for k, p := range sr.Prices {
			a.list[k] = p + p/8 // the organization's negotiated discount
		}
		st.series = append(st.series, a)
	}
	for _, ws := range g.Workspaces {
		a := &aSeries{s: ws.CodeExec, codeExec: true}
		a.vals[aWorkspace] = wsID(ws)
		a.vals[aOrganization] = &orgID
		st.series = append(st.series, a)
	}
	return st
}

func (a *aSeries) setActor(typ, id string, render map[string]any) {
	a.actorKey = typ + ":" + id
	a.actor = render
	a.vals[aActorType] = &typ
}

// actorID is what actor_ids[] matches: users and service accounts, and
// keys only for usage attributed to the key itself.
func (a *aSeries) actorID() string {
	if a.actor == nil {
		return ""
	}
	for _, k := range []string{"user_id", "service_account_id", "api_key_id"} {
		if v, ok := a.actor[k].(string); ok {
			return v
		}
	}
	return ""
}

// exportAt is the latest export at or before t, in ns since the epoch.
func (st *analyticsState) exportAt(tNs int64) int64 {
	return floorDiv(tNs, st.exportNs) * st.exportNs
}

// revision is the factor, in permille, by which export e scales the hour h
// of series a: 1000 once the hour is older than the horizon.
func (st *analyticsState) revision(seed uint64, a *aSeries, h int64, e int64) int64 {
	if (h+1)*int64(time.Hour)+st.horizon <= e {
		return 1000
	}
	u := hash4(seed^0xa7a1, a.s.Key, uint64(h), uint64(e/st.exportNs))
	switch {
	case u%8 != 0:
		return 1000
	case (u>>8)%16 == 0:
		return 0 // the combination is missing from this export
	}
	return 800 + int64((u>>16)%401)
}

// exported adds the values of minutes [lo, hi) of a as export e holds them;
// final gives the FINAL values instead.
func (s *Simulator) exported(ev *evaluator, a *aSeries, lo, hi int64, e int64, final bool, out *counters) {
	if final {
		ev.final(lo, hi, out)
		return
	}
	st := s.analytics
	for h := floorDiv(lo, 60); h*60 < hi; h++ {
		x, y := max(lo, h*60), min(hi, h*60+60)
		f := st.revision(s.seed, a, h, e)
		switch f {
		case 1000:
			ev.visible(x, y, e, s.opts.UsageSettle, out)
			continue
		case 0:
			continue
		}
		for m := x; m < y; m++ {
			var c counters
			ev.visible(m, m+1, e, s.opts.UsageSettle, &c)
			for i := range c {
				out[i] += c[i] * f / 1000
			}
		}
	}
}

// costParts are the components of a cost combination: the five token
// types, then web search and code execution (no session usage here).
const (
	partWebSearch = 5 + iota
	partCodeExec
	nParts
)

type money struct{ amount, list int64 }

// aRow is one combination of one bucket.
type aRow struct {
	bucket int
	key    string
	rep    *aSeries // renders the group: every series of a row shares its grouped values
	v      counters // usage; code execution contributes requests only
	cost   [nParts]money
}

func (r *aRow) totalTokens() int64 {
	return r.v[cUncached] + r.v[cCacheRead] + r.v[cCache5m] + r.v[cCache1h] + r.v[cOutput]
}

func (r *aRow) amount() (m money) {
	for _, p := range r.cost {
		m.amount += p.amount
		m.list += p.list
	}
	return m
}

// add accumulates the values c of series a into r.
func (r *aRow) add(a *aSeries, c *counters) {
	if a.codeExec {
		r.v[cRequests] += c[cRequests]
		nc := c[cUncached] * codeExecNC
		r.cost[partCodeExec].amount += nc
		r.cost[partCodeExec].list += nc
		return
	}
	r.v.add(c)
	if a.s.Prices == [5]int64{} {
		return // priority tier: no cost at all, as in the legacy cost report [U]
	}
	for k := 0; k < 5; k++ {
		r.cost[k].amount += c[k] * a.s.Prices[k]
		r.cost[k].list += c[k] * a.list[k]
	}
	r.cost[partWebSearch].amount += c[cWebSearch] * webSearchNC
	r.cost[partWebSearch].list += c[cWebSearch] * webSearchNC
}

// empty: the API sends no zero rows. A usage row has usage, a cost row
// has cost.
func (r *aRow) empty(cost bool) bool {
	if cost {
		return r.amount() == money{}
	}
	return r.v.zero()
}

// aggregateAnalytics sums the matching series per span and combination,
// as export e holds them (or FINAL). Rows are in no particular order.
func (s *Simulator) aggregateAnalytics(spec *aSpec, spans []span, e int64, final, cost bool) []*aRow {
	ev := s.evaluator(final, e)
	type rowKey struct {
		bucket int
		group  string
	}
	var rows []*aRow
	index := map[rowKey]*aRow{}
	var kb strings.Builder
	for _, a := range s.analytics.series {
		if !spec.match(a) {
			continue
		}
		kb.Reset()
		for d := 0; d < nADims; d++ {
			if !spec.group[d] {
				continue
			}
			switch v := a.vals[d]; {
			case d == aActor:
				kb.WriteString(a.actorKey)
			case v == nil:
				kb.WriteString("\x00")
			default:
				kb.WriteString("\x01" + *v)
			}
			kb.WriteByte('\x1f')
		}
		key := kb.String()
		ev.reset(a.s)
		for i, sp := range spans {
			if sp.b <= a.s.FromMin || sp.a >= a.s.UntilMin {
				continue
			}
			var c counters
			s.exported(&ev, a, sp.a, sp.b, e, final, &c)
			if c.zero() {
				continue
			}
			bk := rowKey{i, key}
			r := index[bk]
			if r == nil {
				r = &aRow{bucket: i, key: key, rep: a}
				index[bk] = r
				rows = append(rows, r)
			}
			r.add(a, &c)
		}
	}
	return slices.DeleteFunc(rows, func(r *aRow) bool { return r.empty(cost) })
}
