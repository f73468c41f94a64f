// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// LimitsConfig configures the limits report: the organization's rate limits
// and spend limits as gauges, and its spend so far against them. Off unless
// enabled.
type LimitsConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Interval between two polls (>= collection_interval).
	Interval time.Duration `mapstructure:"interval"`
	// Members adds per-member spend limits and spend so far (Claude
	// Enterprise): one series per member, by user id.
	Members bool `mapstructure:"members"`
}

// NewDefaultLimitsConfig returns the limits report defaults: off; every
// five minutes when on; no per-member series.
func NewDefaultLimitsConfig() LimitsConfig {
	return LimitsConfig{Interval: 5 * time.Minute}
}

func (c LimitsConfig) validate(collectionInterval time.Duration) []error {
	if c.Interval <= 0 || c.Interval < collectionInterval {
		return []error{fmt.Errorf(`"limits.interval" %w: %s (collection_interval %s)`, errInterval, c.Interval, collectionInterval)}
	}
	return nil
}

// limitsReprobe is how long a part the organization lacks is left alone
// before it is read again: a feature granted later (early access, a key
// scope) shows up within a day without a restart, and a missing one costs a
// request and a logged failure a day, not one a poll.
const limitsReprobe = 24 * time.Hour

// limitsPart is one thing the limits report reads; each is available or not
// on its own.
type limitsPart struct {
	name string
	// missing says what an organization that is answered 400, 403 or 404
	// here lacks.
	missing string
}

var (
	partRateLimits = limitsPart{"rate_limits",
		"the Rate Limits API serves Claude Console organizations and Admin API keys"}
	partWorkspaceRateLimits = limitsPart{"workspace_rate_limits",
		"the Rate Limits API serves Claude Console organizations and Admin API keys"}
	partSpendLimits = limitsPart{"spend_limits",
		"listing spend limits is a beta (" + adminapi.BetaSpendLimitReads + "); Claude Console organizations need early access " +
			"(ask the account team), Claude Enterprise keys the read:spend_limits scope"}
	partEffective = limitsPart{"effective_spend_limits",
		"effective limits and members' spend exist for Claude Enterprise organizations only"}
	partMonthToDate = limitsPart{"month_to_date_spend",
		"the cost report is not readable with this key"}
)

// limitsAPI is what the limits report reads.
type limitsAPI interface {
	RateLimits(ctx context.Context) ([]adminapi.RateLimit, error)
	ListWorkspaces(ctx context.Context) ([]adminapi.Workspace, error)
	WorkspaceRateLimits(ctx context.Context, workspaceID string) ([]adminapi.WorkspaceRateLimit, error)
	SpendLimits(ctx context.Context) ([]adminapi.SpendLimit, error)
	EffectiveSpendLimits(ctx context.Context) ([]adminapi.SpendSummary, error)
	CostReport(ctx context.Context, q adminapi.ReportQuery) iter.Seq2[*adminapi.CostPage, error]
}

var _ limitsAPI = (*adminapi.Client)(nil)

// limitsReport polls the limits and builds their gauges. Gauges need no
// accounting: a batch the pipeline refuses is not kept, the next tick sends
// the values as they are then. Only its own loop uses it.
type limitsReport struct {
	cfg    LimitsConfig
	mb     *metadata.MetricsBuilder
	rb     *metadata.ResourceBuilder
	names  *nameCache // nil when names are disabled
	logger *zap.Logger
	// missingUntil: a part the organization lacks is not read before then.
	missingUntil   map[string]time.Time
	warnedCurrency bool
	// last is the last poll's points, repeated every tick until the next
	// poll; nextPoll is when that is due, tolerance how early a tick may be.
	last      []gaugePoint
	nextPoll  time.Time
	tolerance time.Duration
	data      limitsData // each part as last read
}

func newLimitsReport(r *anthropicReceiver) *limitsReport {
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.settings)
	return &limitsReport{
		cfg:          r.cfg.Limits,
		mb:           mb,
		rb:           mb.NewResourceBuilder(),
		names:        r.names,
		logger:       r.logger.With(zap.String("report", "limits")),
		missingUntil: map[string]time.Time{},
		tolerance:    r.cfg.CollectionInterval / 2,
	}
}

// runLimits ticks the limits report every collection_interval until ctx
// ends, and sends each tick's gauges through the receiver's delivery path.
func (r *anthropicReceiver) runLimits(ctx context.Context) {
	if !sleep(ctx, r.cfg.InitialDelay) {
		return
	}
	if r.names != nil {
		r.names.awaitFirst(ctx, namesFirstLookup) // the organization id on the first gauges
	}
	ticker := time.NewTicker(r.cfg.CollectionInterval)
	defer ticker.Stop()
	for {
		r.tickLimits(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// tickLimits polls the limits when they are due, and otherwise repeats the
// last poll's values at the tick's time, as the reports repeat their
// totals: a gauge read every 5 minutes would otherwise go stale in
// Prometheus (5 minutes of lookback) and expire from its exporter between
// two polls. What was read is sent even when a part failed.
func (r *anthropicReceiver) tickLimits(ctx context.Context) {
	l, now := r.limits, r.now().UTC()
	if !now.Before(l.nextPoll.Add(-l.tolerance)) {
		pts, err := l.poll(ctx, r.client, now)
		if err != nil && ctx.Err() == nil {
			l.logger.Warn("Limits poll incomplete; what was read is sent, the rest is read again next interval", zap.Error(err))
		}
		l.last, l.nextPoll = pts, now.Add(l.cfg.Interval)
	}
	if err := r.send(ctx, l.build(l.last, now)); err != nil && ctx.Err() == nil {
		l.logger.Warn("The pipeline refused the limits gauges; the next tick sends them again, as they are then", zap.Error(err))
	}
}

// limitsData is what the polls read, each part as last read; a nil part
// is not known.
type limitsData struct {
	rate        []adminapi.RateLimit
	wsRate      map[string][]adminapi.WorkspaceRateLimit
	spend       []adminapi.SpendLimit
	effective   []adminapi.SpendSummary
	monthToDate map[string]int64 // nano-cents by workspace; "" is the organization
	month       time.Time        // the month monthToDate is of
}

// limitsRead is one poll in progress.
type limitsRead struct {
	ctx  context.Context
	l    *limitsReport
	now  time.Time
	errs []error
}

// readPart reads one part into dst unless the organization was found to
// lack it less than a day ago. A part that fails for now (429, 5xx, a
// timeout) keeps its last values, which change rarely; one the organization
// lacks, or whose window is not served yet, is cleared.
func readPart[T any](r *limitsRead, p limitsPart, dst *T, read func(context.Context) (T, error)) {
	l := r.l
	if r.ctx.Err() != nil || r.now.Before(l.missingUntil[p.name]) {
		return
	}
	v, err := read(r.ctx)
	var zero T
	switch {
	case err == nil, errors.Is(err, errNotYet):
		if err != nil {
			v = zero
		}
		*dst = v
		if _, was := l.missingUntil[p.name]; was {
			l.logger.Info("Limits part available again", zap.String("part", p.name))
			delete(l.missingUntil, p.name)
		}
	case lacks(err):
		*dst = zero
		if _, was := l.missingUntil[p.name]; !was {
			var ae *adminapi.APIError
			errors.As(err, &ae)
			l.logger.Info("The organization or key lacks this part of the limits report; it is read again once a day",
				zap.String("part", p.name), zap.Int("status", ae.StatusCode), zap.String("error_code", ae.Code),
				zap.String("meaning", p.missing))
		}
		l.missingUntil[p.name] = r.now.Add(limitsReprobe)
	default:
		r.errs = append(r.errs, fmt.Errorf("%s: %w", p.name, err))
	}
}

// poll reads every available part and maps what is known to points.
func (l *limitsReport) poll(ctx context.Context, api limitsAPI, now time.Time) ([]gaugePoint, error) {
	r := &limitsRead{ctx: ctx, l: l, now: now}
	d := &l.data
	readPart(r, partRateLimits, &d.rate, api.RateLimits)
	readPart(r, partWorkspaceRateLimits, &d.wsRate, func(ctx context.Context) (map[string][]adminapi.WorkspaceRateLimit, error) {
		return workspaceRateLimits(ctx, api)
	})
	readPart(r, partSpendLimits, &d.spend, api.SpendLimits)
	if l.cfg.Members {
		readPart(r, partEffective, &d.effective, api.EffectiveSpendLimits)
	}
	readPart(r, partMonthToDate, &d.monthToDate, func(ctx context.Context) (map[string]int64, error) {
		m, err := l.monthToDate(ctx, api, now)
		if err == nil {
			d.month = monthStart(now)
		}
		return m, err
	})
	if !d.month.Equal(monthStart(now)) {
		d.monthToDate = nil // kept through a failed read, last month's spend is not this month's
	}
	return l.points(*d), errors.Join(r.errs...)
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// lacks reports whether an error says the organization lacks the endpoint
// (not a Console or Enterprise organization, no early access or beta, no
// key scope) rather than that it failed: those are not retried either.
func lacks(err error) bool {
	for _, code := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound} {
		if adminapi.IsStatus(err, code) {
			return true
		}
	}
	return false
}

// workspaceRateLimits reads the rate limits of every active workspace. A
// workspace answered 404 (archived or deleted since it was listed) is left
// out.
func workspaceRateLimits(ctx context.Context, api limitsAPI) (map[string][]adminapi.WorkspaceRateLimit, error) {
	wss, err := api.ListWorkspaces(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]adminapi.WorkspaceRateLimit{}
	for _, ws := range wss {
		if ws.ArchivedAt != nil {
			continue
		}
		rl, err := api.WorkspaceRateLimits(ctx, ws.ID)
		switch {
		case adminapi.IsStatus(err, http.StatusNotFound):
		case err != nil:
			return nil, err
		default:
			out[ws.ID] = rl
		}
	}
	return out, nil
}

// monthToDate sums the cost report since 00:00 UTC on the 1st (the monthly
// spend limits' period), per workspace and in all. Console organizations
// have no period-to-date spend of their own in the limits API.
func (l *limitsReport) monthToDate(ctx context.Context, api limitsAPI, now time.Time) (map[string]int64, error) {
	from := monthStart(now)
	pages := api.CostReport(ctx, adminapi.ReportQuery{
		StartingAt:  from,
		BucketWidth: adminapi.BucketWidth1d,
		Limit:       adminapi.MaxLimit(adminapi.BucketWidth1d), // a month is one page
		GroupBy:     []string{groupWorkspace},
	})
	out := map[string]int64{"": 0}
	for p, err := range pages {
		if err != nil {
			return nil, notYetIfRecent(err, from, now)
		}
		for _, b := range p.Data {
			for _, r := range b.Results {
				nc, err := r.Amount.NanoCents()
				if r.Currency != "" && r.Currency != "USD" || err != nil {
					l.warnOnce(r.Currency)
					continue
				}
				ws := dimension(true, r.WorkspaceID, defaultWorkspace)
				out[ws] += nc
				out[""] += nc
			}
		}
	}
	return out, nil
}

func (l *limitsReport) warnOnce(currency string) {
	if !l.warnedCurrency {
		l.warnedCurrency = true
		l.logger.Warn("Amounts not in USD or not decimal are left out of the limits report (said once)", zap.String("currency", currency))
	}
}

// gaugePoint is one point of the limits report, on the organization's
// resource (workspace "") or a workspace's.
type gaugePoint struct {
	workspace string
	record    func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp)
}

// Scope values of anthropic.limits.scope the receiver itself produces.
const (
	scopeOrganization = "organization"
	scopeWorkspace    = "workspace"
	scopeUsageTier    = "usage_tier"
	scopeUser         = "user"
	periodMonthly     = "monthly"
)

// points maps a poll to gauge points, without HTTP.
func (l *limitsReport) points(d limitsData) []gaugePoint {
	var pts []gaugePoint
	for _, e := range d.rate {
		groupID := cmp.Or(e.Group.ID, e.ID)
		pts = append(pts, ratePoints("", scopeOrganization, adminapi.GroupTypeOf(e.Group, e.GroupType), groupID, e.Group.DisplayName, e.Limits)...)
	}
	for _, ws := range sortedKeys(d.wsRate) {
		for _, e := range d.wsRate[ws] {
			groupID := cmp.Or(e.Group.ID, e.RateLimitID)
			pts = append(pts, ratePoints(ws, scopeWorkspace, adminapi.GroupTypeOf(e.Group, e.GroupType), groupID, e.Group.DisplayName, e.Limits)...)
		}
	}
	var usd []adminapi.SpendLimit
	for _, s := range d.spend {
		if s.Scope.Type == scopeUser && !l.cfg.Members {
			continue
		}
		if _, ok := l.dollars(s.Amount, s.Currency); ok {
			usd = append(usd, s)
		}
	}
	for _, s := range usd {
		v, _ := l.dollars(s.Amount, s.Currency)
		ws, id := scopeResource(s.Scope)
		scope, period, enabled := s.Scope.Type, s.Period, s.Enabled()
		pts = append(pts, gaugePoint{ws, func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			mb.RecordAnthropicLimitsSpendLimitDataPoint(ts, v, scope, period, enabled, scopeIDOption(id)...)
		}})
	}
	if !enterprise(d.spend) {
		pts = append(pts, l.derivedCaps(usd)...)
	}
	for _, s := range d.effective {
		pts = append(pts, l.memberPoints(s)...)
	}
	for _, ws := range sortedKeys(d.monthToDate) {
		v := adminapi.NanoCentsToDollars(d.monthToDate[ws])
		scope := scopeWorkspace
		if ws == "" {
			scope = scopeOrganization
		}
		pts = append(pts, gaugePoint{ws, func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			mb.RecordAnthropicLimitsSpendPeriodToDateDataPoint(ts, v, scope, periodMonthly)
		}})
	}
	return pts
}

// enterprise reports whether the configured limits are a Claude Enterprise
// organization's: seat-tier, group, service or member limits (with or
// without an amount), and neither a usage tier nor workspace limits.
func enterprise(limits []adminapi.SpendLimit) bool {
	console, members := false, false
	for _, s := range limits {
		switch s.Scope.Type {
		case scopeUsageTier, scopeWorkspace:
			console = true
		case "seat_tier", "rbac_group", "organization_service", scopeUser:
			members = true
		}
	}
	return members && !console
}

// derivedCaps are a Claude Console organization's effective monthly caps,
// which the API does not report: the organization's is the lower of the
// usage-tier cap and its own enabled limit; a workspace's the lower of its
// limit and the organization's [I: the reference's derivation]. Not for a
// Claude Enterprise organization, whose organization limit is each member's
// default, not a pooled cap. limits are those with an amount in USD.
func (l *limitsReport) derivedCaps(limits []adminapi.SpendLimit) []gaugePoint {
	orgCap, hasOrg := 0.0, false
	lower := func(v float64) {
		if !hasOrg || v < orgCap {
			orgCap, hasOrg = v, true
		}
	}
	for _, s := range limits {
		if s.Period == periodMonthly && s.Enabled() && (s.Scope.Type == scopeUsageTier || s.Scope.Type == scopeOrganization) {
			v, _ := l.dollars(s.Amount, s.Currency)
			lower(v)
		}
	}
	var pts []gaugePoint
	if hasOrg {
		v := orgCap
		pts = append(pts, gaugePoint{"", func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			mb.RecordAnthropicLimitsSpendEffectiveDataPoint(ts, v, scopeOrganization, periodMonthly)
		}})
	}
	for _, s := range limits {
		if s.Scope.Type != scopeWorkspace || s.Period != periodMonthly || !s.Enabled() {
			continue
		}
		v, _ := l.dollars(s.Amount, s.Currency)
		if hasOrg {
			v = min(v, orgCap)
		}
		pts = append(pts, gaugePoint{s.Scope.WorkspaceID, func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			mb.RecordAnthropicLimitsSpendEffectiveDataPoint(ts, v, scopeWorkspace, periodMonthly)
		}})
	}
	return pts
}

// memberPoints are a member's effective limit (none when unlimited) and
// spend so far in one period.
func (l *limitsReport) memberPoints(s adminapi.SpendSummary) []gaugePoint {
	id := cmp.Or(s.Scope.ID(), s.Actor.UserID, s.Actor.ScopedAPIKeyID)
	scope := cmp.Or(s.Scope.Type, scopeUser)
	var pts []gaugePoint
	if v, ok := l.dollars(s.Amount, s.Currency); ok {
		pts = append(pts, gaugePoint{"", func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			mb.RecordAnthropicLimitsSpendEffectiveDataPoint(ts, v, scope, s.Period, scopeIDOption(id)...)
		}})
	}
	if v, ok := l.dollars(s.PeriodToDateSpend, s.Currency); ok {
		pts = append(pts, gaugePoint{"", func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			mb.RecordAnthropicLimitsSpendPeriodToDateDataPoint(ts, v, scope, s.Period, scopeIDOption(id)...)
		}})
	}
	return pts
}

// dollars converts an amount in cents; false for a null amount, and for an
// amount in another currency or not a decimal (warned about once).
func (l *limitsReport) dollars(amount adminapi.Decimal, currency string) (float64, bool) {
	if amount == "" {
		return 0, false
	}
	nc, err := amount.NanoCents()
	if err != nil || currency != "" && currency != "USD" || nc < 0 {
		l.warnOnce(currency)
		return 0, false
	}
	return adminapi.NanoCentsToDollars(nc), true
}

// scopeResource: a workspace limit goes on the workspace's resource; any
// other scope's identifier is a point attribute.
func scopeResource(s adminapi.SpendScope) (workspace, id string) {
	if s.Type == scopeWorkspace {
		return s.WorkspaceID, ""
	}
	return "", s.ID()
}

func scopeIDOption(id string) []metadata.MetricAttributeOption {
	if id == "" {
		return nil
	}
	return []metadata.MetricAttributeOption{metadata.WithAnthropicLimitsScopeIDMetricAttribute(id)}
}

// Limiter types by the metric that carries them; any other goes to
// anthropic.limits.rate.other.
var (
	requestLimiters = []string{"requests_per_minute"}
	tokenLimiters   = []string{"input_tokens_per_minute", "input_tokens_per_minute_cache_aware", "output_tokens_per_minute",
		"tokens_per_minute", "fast_itpmca", "fast_otpm"}
)

func ratePoints(ws, scope, groupType, groupID, groupName string, limits []adminapi.Limiter) []gaugePoint {
	var opts []metadata.MetricAttributeOption
	if groupName != "" {
		opts = append(opts, metadata.WithAnthropicLimitsRateGroupNameMetricAttribute(groupName))
	}
	pts := make([]gaugePoint, 0, len(limits))
	for _, lim := range limits {
		o := opts
		if lim.Source != nil && lim.Source.Type != "" {
			o = append(slices.Clip(opts), metadata.WithAnthropicLimitsRateSourceMetricAttribute(lim.Source.Type))
		}
		record := (*metadata.MetricsBuilder).RecordAnthropicLimitsRateOtherDataPoint
		switch {
		case slices.Contains(requestLimiters, lim.Type):
			record = (*metadata.MetricsBuilder).RecordAnthropicLimitsRateRequestsDataPoint
		case slices.Contains(tokenLimiters, lim.Type):
			record = (*metadata.MetricsBuilder).RecordAnthropicLimitsRateTokensDataPoint
		}
		v, typ := lim.Value, lim.Type
		pts = append(pts, gaugePoint{ws, func(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
			record(mb, ts, v, scope, groupType, groupID, typ, o...)
		}})
	}
	return pts
}

// build makes the batch: the organization's resource, then each
// workspace's, through the generated builder.
func (l *limitsReport) build(pts []gaugePoint, now time.Time) pmetric.Metrics {
	byWorkspace := map[string][]gaugePoint{}
	for _, p := range pts {
		byWorkspace[p.workspace] = append(byWorkspace[p.workspace], p)
	}
	ts := pcommon.NewTimestampFromTime(now)
	l.mb.Reset()
	for _, ws := range sortedKeys(byWorkspace) {
		for _, p := range byWorkspace[ws] {
			p.record(l.mb, ts)
		}
		l.rb.SetGenAiProviderName("anthropic")
		if ws != "" {
			l.rb.SetAnthropicWorkspaceID(ws)
		}
		l.names.setResource(l.rb, ws)
		l.mb.EmitForResource(metadata.WithResource(l.rb.Emit()))
	}
	return l.mb.Emit()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
