// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver // import "github.com/anthropicusage/anthropicusagereceiver"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// Temporality of the emitted sums.
type Temporality string

const (
	TemporalityCumulative Temporality = "cumulative"
	TemporalityDelta      Temporality = "delta"
)

const defaultEndpoint = "https://api.anthropic.com"

// Config is the configuration of the anthropic_usage receiver.
type Config struct {
	ClientConfig         confighttp.ClientConfig       `mapstructure:",squash"`
	MetricsBuilderConfig metadata.MetricsBuilderConfig `mapstructure:",squash"`

	// CollectionInterval is the receiver's tick. Each report is polled on
	// its own interval, at most once a tick; a batch the pipeline refused is
	// sent again on the next tick; cumulative totals are repeated every tick.
	CollectionInterval time.Duration `mapstructure:"collection_interval"`
	// InitialDelay is the wait before the first tick.
	InitialDelay time.Duration `mapstructure:"initial_delay"`

	// AdminAPIKey is an Admin API key (sk-ant-admin…).
	AdminAPIKey configopaque.String `mapstructure:"admin_api_key"`
	// HashKey keys the HMAC that pseudonymizes personal data (a report's
	// actor option "hash"): without the key, a guessed email cannot be
	// hashed and compared.
	HashKey configopaque.String `mapstructure:"hash_key"`
	// Temporality of every emitted sum: cumulative (default) or delta.
	Temporality Temporality `mapstructure:"temporality"`

	Usage      UsageConfig      `mapstructure:"usage"`
	Cost       CostConfig       `mapstructure:"cost"`
	ClaudeCode ClaudeCodeConfig `mapstructure:"claude_code"`
	Names      NamesConfig      `mapstructure:"names"`
	Limits     LimitsConfig     `mapstructure:"limits"`

	// RateLimit bounds the requests sent to the Admin API, by every report
	// together.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`
	// RetryOnFailure governs retries of 429, 5xx and 529 answers and of
	// transport failures. retry-after is always honoured.
	RetryOnFailure configretry.BackOffConfig `mapstructure:"retry_on_failure"`
	// MaxPages bounds the pages one report query may follow.
	MaxPages int `mapstructure:"max_pages"`
	// MaxResponseBytes caps the size of one response body.
	MaxResponseBytes int64 `mapstructure:"max_response_bytes"`
	// Storage is the id of a storage extension (e.g. file_storage) that
	// keeps each report's accounting across restarts.
	Storage *component.ID `mapstructure:"storage"`

	_ struct{}
}

// PollConfig is what every report has: whether and how often it is read, how
// far back the first read goes, and how long closed buckets keep changing.
type PollConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Interval between two reads of this report (>= collection_interval).
	Interval time.Duration `mapstructure:"interval"`
	// Lookback is how far back the first read goes when there is no
	// checkpoint.
	Lookback time.Duration `mapstructure:"lookback"`
	// RevisionWindow: closed buckets younger than this are read again on
	// every poll, and only their change is counted.
	RevisionWindow time.Duration `mapstructure:"revision_window"`
	// Audit re-reads the settled past, older than the revision window, at a
	// coarse width on a slow schedule, and counts what changed there.
	Audit AuditConfig `mapstructure:"audit"`
	// SeriesExpiry: a series unchanged this long, and in no bucket still
	// re-read or audited, stops being emitted and leaves memory and the
	// checkpoint; 0 keeps every series.
	SeriesExpiry time.Duration `mapstructure:"series_expiry"`
	// MaxSeries caps the series the report keeps: a new series beyond it is
	// counted in one overflow series (otel.metric.overflow=true); 0 is no
	// cap.
	MaxSeries int `mapstructure:"max_series"`
}

// AuditConfig is a report's audit of its settled past.
type AuditConfig struct {
	// Interval between two audits; 0 disables the audit.
	Interval time.Duration `mapstructure:"interval"`
	// Window is how far back an audit re-reads.
	Window time.Duration `mapstructure:"window"`
	// BucketWidth is the width of the re-read: 1m, 1h or 1d, a multiple of
	// the report's width.
	BucketWidth string `mapstructure:"bucket_width"`
}

// UsageConfig configures the Messages usage report.
type UsageConfig struct {
	Poll PollConfig `mapstructure:",squash"`
	// Source is the API the report is read from: legacy (the usage report)
	// or analytics (the Usage and Cost Analytics API).
	Source      string   `mapstructure:"source"`
	BucketWidth string   `mapstructure:"bucket_width"`
	GroupBy     []string `mapstructure:"group_by"`
	// ActorDetails: with the analytics source and actor grouped, whether the
	// user's email (or name) is reported: drop, keep or hash.
	ActorDetails string `mapstructure:"actor_details"`

	APIKeyIDs      []string `mapstructure:"api_key_ids"`
	WorkspaceIDs   []string `mapstructure:"workspace_ids"`
	Models         []string `mapstructure:"models"`
	ServiceTiers   []string `mapstructure:"service_tiers"`
	ContextWindows []string `mapstructure:"context_windows"`
	InferenceGeos  []string `mapstructure:"inference_geos"`
}

// CostConfig configures the cost report.
type CostConfig struct {
	Poll PollConfig `mapstructure:",squash"`
	// Source: legacy (the cost report, daily buckets only) or analytics.
	Source string `mapstructure:"source"`
	// BucketWidth: 1d for legacy; 1m, 1h or 1d for analytics.
	BucketWidth  string   `mapstructure:"bucket_width"`
	GroupBy      []string `mapstructure:"group_by"`
	ActorDetails string   `mapstructure:"actor_details"`
}

// Report sources.
const (
	sourceLegacy    = "legacy"
	sourceAnalytics = "analytics"
)

// ClaudeCodeConfig configures the Claude Code analytics report. It is
// per person, so it is off unless enabled.
type ClaudeCodeConfig struct {
	Poll PollConfig `mapstructure:",squash"`
	// Actor chooses how the user email or API key name is reported:
	// drop (the default: personal data is off unless turned on), hash
	// (HMAC-SHA256 keyed with hash_key) or keep.
	Actor string `mapstructure:"actor"`
}

// NamesConfig configures the id-to-name lookups.
type NamesConfig struct {
	Enabled  bool          `mapstructure:"enabled"`
	Interval time.Duration `mapstructure:"interval"`
}

// RateLimitConfig is the client-side request rate limit.
type RateLimitConfig struct {
	RequestsPerMinute int `mapstructure:"requests_per_minute"`
	Burst             int `mapstructure:"burst"`
}

// Usage group_by values the receiver maps to attributes.
const (
	groupWorkspace      = "workspace_id"
	groupModel          = "model"
	groupAPIKey         = "api_key_id"
	groupServiceTier    = "service_tier"
	groupContextWindow  = "context_window"
	groupInferenceGeo   = "inference_geo"
	groupAccount        = "account_id"
	groupServiceAccount = "service_account_id"
	groupSpeed          = "speed" // the client sends the fast-mode beta header it needs
)

var usageGroupBy = []string{groupWorkspace, groupModel, groupAPIKey, groupServiceTier, groupContextWindow, groupInferenceGeo,
	groupAccount, groupServiceAccount, groupSpeed}

const groupDescription = "description"

var costGroupBy = []string{groupWorkspace, groupDescription}

// Claude Code actor options.
const (
	actorKeep = "keep"
	actorHash = "hash"
	actorDrop = "drop"
)

// Sentinel errors, each naming the setting that is wrong.
var (
	errMissingAdminKey = errors.New(`"admin_api_key" must be set to an Anthropic Admin API key`)
	errKeyCharacters   = errors.New("contains whitespace or control characters (a trailing newline from a secret file?); it cannot be sent in a header")
	errHashKey         = fmt.Errorf(`"hash_key" must be set, %d characters at least (e.g. openssl rand -hex 32), when an actor option is "hash"`, minHashKey)
	errCollection      = errors.New(`"collection_interval" must be positive and "initial_delay" not negative`)
	errEndpoint        = errors.New(`"endpoint" must be an https:// URL (http:// is accepted for loopback addresses only)`)
	errTimeout         = errors.New(`"timeout" must be positive: a server that never answers would hold every report`)
	errProxy           = errors.New(`"proxy_url" must be a loopback address when "endpoint" is plain http://: the admin key would cross it in clear text`)
	errTemporality     = errors.New(`"temporality" must be "cumulative" or "delta"`)
	errNoReport        = errors.New(`no report is enabled: set "usage.enabled", "cost.enabled", "claude_code.enabled" or "limits.enabled" to true`)
	errActor           = errors.New(`"claude_code.actor" must be keep, hash or drop`)
	errNamesInterval   = errors.New(`"names.interval" must be positive`)
	errInterval        = errors.New(`must be positive and not shorter than "collection_interval"`)
	errBucketWidth     = errors.New("must be one of 1m, 1h, 1d")
	errGroupBy         = errors.New("has an unsupported or repeated value")
	errNegative        = errors.New("must not be negative")
	errRevisionWindow  = errors.New("is too long to re-read in one page every poll")
	errLookback        = errors.New(`needs more pages than "max_pages" allows`)
	errFilter          = errors.New("filters must not contain empty values")
	errRateLimit       = errors.New(`"rate_limit.requests_per_minute" and "rate_limit.burst" must be positive`)
	errMaxPages        = errors.New(`"max_pages" must be positive`)
	errRetry           = errors.New(`"retry_on_failure" cannot be used`)
	errMaxResponse     = errors.New(`"max_response_bytes" must be at least 1024`)
	errAuditWidth      = errors.New("must be 1m, 1h or 1d, and a multiple of the report's bucket width")
	errAuditWindow     = errors.New("must be at least one audit bucket, and fit in one read (max_pages pages; 31 days, or 24 hours at 1m, with the analytics source)")
	errSource          = errors.New(`must be "legacy" or "analytics"`)
	errActorDetails    = errors.New(`must be drop, keep or hash, and needs "actor" in group_by`)
	errAnalyticsRange  = errors.New("does not fit the analytics API's ranges")
)

// Validate checks the configuration; every problem is reported at once.
// Unknown keys fail earlier, in Unmarshal. Secrets are named, never shown.
func (cfg *Config) Validate() error {
	var errs []error
	switch {
	case cfg.AdminAPIKey == "":
		errs = append(errs, errMissingAdminKey)
	case hasSpaceOrControl(string(cfg.AdminAPIKey)):
		errs = append(errs, fmt.Errorf(`"admin_api_key" %w`, errKeyCharacters))
	}
	switch {
	case cfg.hashesActors() && len(cfg.HashKey) < minHashKey:
		errs = append(errs, errHashKey)
	case hasSpaceOrControl(string(cfg.HashKey)):
		errs = append(errs, fmt.Errorf(`"hash_key" %w`, errKeyCharacters))
	}
	if cfg.CollectionInterval <= 0 || cfg.InitialDelay < 0 {
		errs = append(errs, errCollection)
	}
	if err := validateEndpoint(cfg.ClientConfig.Endpoint); err != nil {
		errs = append(errs, err)
	} else if err := validateProxy(cfg.ClientConfig.Endpoint, cfg.ClientConfig.ProxyURL); err != nil {
		errs = append(errs, err)
	}
	if cfg.ClientConfig.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("%w, not %s", errTimeout, cfg.ClientConfig.Timeout))
	}
	if cfg.Temporality != TemporalityCumulative && cfg.Temporality != TemporalityDelta {
		errs = append(errs, fmt.Errorf("%w, not %q", errTemporality, cfg.Temporality))
	}
	if !cfg.Usage.Poll.Enabled && !cfg.Cost.Poll.Enabled && !cfg.ClaudeCode.Poll.Enabled && !cfg.Limits.Enabled {
		errs = append(errs, errNoReport)
	}
	if cfg.RateLimit.RequestsPerMinute <= 0 || cfg.RateLimit.Burst <= 0 {
		errs = append(errs, errRateLimit)
	}
	if cfg.MaxPages <= 0 {
		errs = append(errs, errMaxPages)
	}
	if err := adminapi.CheckRetry(cfg.RetryOnFailure); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", errRetry, err))
	}
	if cfg.MaxResponseBytes < 1024 {
		errs = append(errs, errMaxResponse)
	}
	if cfg.Usage.Poll.Enabled {
		errs = append(errs, cfg.Usage.validate(cfg.CollectionInterval, cfg.MaxPages)...)
	}
	if cfg.Cost.Poll.Enabled {
		errs = append(errs, cfg.Cost.validate(cfg.CollectionInterval, cfg.MaxPages)...)
	}
	if cfg.ClaudeCode.Poll.Enabled {
		errs = append(errs, cfg.ClaudeCode.validate(cfg.CollectionInterval, cfg.MaxPages)...)
	}
	if cfg.Limits.Enabled {
		errs = append(errs, cfg.Limits.validate(cfg.CollectionInterval)...)
	}
	if cfg.Names.Enabled && cfg.Names.Interval <= 0 {
		errs = append(errs, errNamesInterval)
	}
	return errors.Join(errs...)
}

// hashesActors reports whether an enabled report's actor option is hash:
// hash_key is then required.
func (cfg *Config) hashesActors() bool {
	u, c := cfg.Usage, cfg.Cost
	return cfg.ClaudeCode.Poll.Enabled && cfg.ClaudeCode.Actor == actorHash ||
		u.Poll.Enabled && u.Source == sourceAnalytics && u.ActorDetails == actorHash ||
		c.Poll.Enabled && c.Source == sourceAnalytics && c.ActorDetails == actorHash
}

// minHashKey is the shortest hash_key accepted: 128 bits of hex.
const minHashKey = 32

func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

// validateEndpoint: the endpoint as written is never shown, only redacted:
// it may carry a password.
func validateEndpoint(endpoint string) error {
	u, err := adminapi.ParseEndpoint(endpoint)
	if err != nil {
		return fmt.Errorf("%w: %w", errEndpoint, err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s", errEndpoint, adminapi.RedactedEndpoint(endpoint))
}

// validateProxy: a plain http:// endpoint is loopback only (validateEndpoint),
// but a proxy would still carry its requests, the x-api-key header with
// them, in clear text to wherever the proxy is. Through a proxy, an https://
// endpoint is a CONNECT tunnel: the key stays inside TLS.
func validateProxy(endpoint, proxy string) error {
	if proxy == "" || !strings.HasPrefix(strings.ToLower(endpoint), "http://") {
		return nil
	}
	if u, err := url.Parse(proxy); err == nil && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w: %s", errProxy, adminapi.RedactedEndpoint(proxy))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (p PollConfig) validate(prefix string, collectionInterval time.Duration) []error {
	var errs []error
	if p.Interval <= 0 || p.Interval < collectionInterval {
		errs = append(errs, fmt.Errorf(`"%s.interval" %w: %s (collection_interval %s)`, prefix, errInterval, p.Interval, collectionInterval))
	}
	if p.Lookback < 0 {
		errs = append(errs, fmt.Errorf(`"%s.lookback" %w`, prefix, errNegative))
	}
	if p.RevisionWindow < 0 {
		errs = append(errs, fmt.Errorf(`"%s.revision_window" %w`, prefix, errNegative))
	}
	if p.SeriesExpiry < 0 {
		errs = append(errs, fmt.Errorf(`"%s.series_expiry" %w`, prefix, errNegative))
	}
	if p.MaxSeries < 0 {
		errs = append(errs, fmt.Errorf(`"%s.max_series" %w`, prefix, errNegative))
	}
	if p.Audit.Interval < 0 {
		errs = append(errs, fmt.Errorf(`"%s.audit.interval" %w`, prefix, errNegative))
	}
	return errs
}

// validateAudit checks an enabled audit against the report's width, and
// its window against what one query of the report's API reads (fits).
func (p PollConfig) validateAudit(prefix string, width time.Duration, fits func(window, auditWidth time.Duration) bool) []error {
	a := p.Audit
	if a.Interval <= 0 || width == 0 { // an invalid report width is reported on its own
		return nil
	}
	w := adminapi.WidthDuration(a.BucketWidth)
	if w == 0 || w%width != 0 {
		return []error{fmt.Errorf(`"%s.audit.bucket_width" %w, not %q (the report's is %s)`, prefix, errAuditWidth, a.BucketWidth, widthName(width))}
	}
	if a.Window < w || !fits(a.Window, w) {
		return []error{fmt.Errorf(`"%s.audit.window" %w: %s at %s`, prefix, errAuditWindow, a.Window, a.BucketWidth)}
	}
	return nil
}

// legacyAuditFits: a legacy report's audit follows at most max_pages pages.
func legacyAuditFits(maxPages int) func(window, width time.Duration) bool {
	return func(window, width time.Duration) bool {
		buckets, limit := int(window/width)+1, adminapi.MaxLimit(widthName(width))
		return (buckets+limit-1)/limit <= maxPages
	}
}

// analyticsAuditFits: an analytics audit is one query, of at most 31 days
// (24 hours at 1m).
func analyticsAuditFits(window, width time.Duration) bool {
	return window+width <= adminapi.AnalyticsSpan(width)
}

// validatePaging checks that a steady-state poll fits in one page and that
// the first poll's lookback fits in max_pages pages.
func (p PollConfig) validatePaging(prefix, width string, maxPages int) []error {
	w := adminapi.WidthDuration(width)
	limit := adminapi.MaxLimit(width)
	if w == 0 || p.Lookback < 0 || p.RevisionWindow < 0 {
		return nil
	}
	var errs []error
	// A poll reads from the previous poll's watermark (interval +
	// revision window ago, rounded down) through the open bucket.
	if steady := int((p.RevisionWindow+p.Interval)/w) + 2; steady > limit {
		errs = append(errs, fmt.Errorf(`"%s.revision_window" %w: %s plus an interval of %s is %d buckets of %s, more than the %d a page holds`,
			prefix, errRevisionWindow, p.RevisionWindow, p.Interval, steady, width, limit))
	}
	buckets := int(p.Lookback/w) + 2
	if pages := (buckets + limit - 1) / limit; pages > maxPages {
		errs = append(errs, fmt.Errorf(`"%s.lookback" %w: %s is %d buckets of %s, %d pages of %d (max_pages %d)`,
			prefix, errLookback, p.Lookback, buckets, width, pages, limit, maxPages))
	}
	return errs
}

func (u UsageConfig) validate(collectionInterval time.Duration, maxPages int) []error {
	errs := u.Poll.validate("usage", collectionInterval)
	switch u.Source {
	case sourceLegacy:
	case sourceAnalytics:
		errs = append(errs, validateAnalytics("usage", u.Poll, u.BucketWidth, u.GroupBy, u.ActorDetails, adminapi.AnalyticsUsageGroupBy)...)
		for name, vals := range u.filters() {
			if slices.Contains(vals, "") {
				errs = append(errs, fmt.Errorf(`"usage.%s": %w`, filterSetting[name], errFilter))
			}
		}
		return errs
	default:
		return append(errs, fmt.Errorf(`"usage.source" %w, not %q`, errSource, u.Source))
	}
	if adminapi.WidthDuration(u.BucketWidth) == 0 {
		errs = append(errs, fmt.Errorf(`"usage.bucket_width" %w, not %q`, errBucketWidth, u.BucketWidth))
	} else {
		errs = append(errs, u.Poll.validatePaging("usage", u.BucketWidth, maxPages)...)
		errs = append(errs, u.Poll.validateAudit("usage", adminapi.WidthDuration(u.BucketWidth), legacyAuditFits(maxPages))...)
	}
	errs = append(errs, validateGroupBy("usage", u.GroupBy, usageGroupBy)...)
	for name, vals := range u.filters() {
		if slices.Contains(vals, "") {
			errs = append(errs, fmt.Errorf(`"usage.%s": %w`, filterSetting[name], errFilter))
		}
	}
	return errs
}

func validateGroupBy(prefix string, groupBy, allowed []string) []error {
	var errs []error
	seen := map[string]bool{}
	for _, g := range groupBy {
		switch {
		case !slices.Contains(allowed, g):
			errs = append(errs, fmt.Errorf(`"%s.group_by" %w: %q (supported: %s)`, prefix, errGroupBy, g, strings.Join(allowed, ", ")))
		case seen[g]:
			errs = append(errs, fmt.Errorf(`"%s.group_by" %w: %q is listed twice`, prefix, errGroupBy, g))
		}
		seen[g] = true
	}
	return errs
}

func (c CostConfig) validate(collectionInterval time.Duration, maxPages int) []error {
	errs := c.Poll.validate("cost", collectionInterval)
	switch c.Source {
	case sourceLegacy:
		if c.BucketWidth != adminapi.BucketWidth1d {
			errs = append(errs, fmt.Errorf(`"cost.bucket_width" must be 1d with the legacy source, not %q`, c.BucketWidth))
		}
	case sourceAnalytics:
		return append(errs, validateAnalytics("cost", c.Poll, c.BucketWidth, c.GroupBy, c.ActorDetails, adminapi.AnalyticsCostGroupBy)...)
	default:
		return append(errs, fmt.Errorf(`"cost.source" %w, not %q`, errSource, c.Source))
	}
	errs = append(errs, c.Poll.validatePaging("cost", adminapi.BucketWidth1d, maxPages)...)
	errs = append(errs, c.Poll.validateAudit("cost", 24*time.Hour, legacyAuditFits(maxPages))...)
	return append(errs, validateGroupBy("cost", c.GroupBy, costGroupBy)...)
}

func (c ClaudeCodeConfig) validate(collectionInterval time.Duration, maxPages int) []error {
	errs := c.Poll.validate("claude_code", collectionInterval)
	// The report is read one day per request: the lookback costs one
	// request per day.
	if days := int(c.Poll.Lookback/(24*time.Hour)) + 2; c.Poll.Lookback > 0 && days > maxPages {
		errs = append(errs, fmt.Errorf(`"claude_code.lookback" %w: %s is %d days, one request each (max_pages %d)`, errLookback, c.Poll.Lookback, days, maxPages))
	}
	errs = append(errs, c.Poll.validateAudit("claude_code", 24*time.Hour, legacyAuditFits(maxPages))...)
	switch c.Actor {
	case actorKeep, actorHash, actorDrop:
	default:
		errs = append(errs, fmt.Errorf("%w, not %q", errActor, c.Actor))
	}
	return errs
}

// validateAnalytics checks a report read from the analytics API against its
// vocabulary and limits: at most 5 dimensions (the cost fan-out dimensions
// aside), 31 days a query (24 hours at 1m), history from 2026-01-01 and at
// most 365 days back.
func validateAnalytics(prefix string, p PollConfig, width string, groupBy []string, details string, vocabulary []string) []error {
	var errs []error
	w := adminapi.WidthDuration(width)
	if w == 0 {
		errs = append(errs, fmt.Errorf(`"%s.bucket_width" %w, not %q`, prefix, errBucketWidth, width))
	}
	errs = append(errs, validateGroupBy(prefix, groupBy, vocabulary)...)
	if n := len(slices.DeleteFunc(slices.Clone(groupBy), adminapi.IsFanOutDim)); n > adminapi.AnalyticsMaxGroupBy {
		errs = append(errs, fmt.Errorf(`"%s.group_by" %w: %d dimensions, the analytics API takes at most %d (cost_type and token_type aside)`,
			prefix, errGroupBy, n, adminapi.AnalyticsMaxGroupBy))
	}
	if slices.Contains(groupBy, adminapi.DimRBACGroupID) && slices.Contains(groupBy, adminapi.DimClaudeTagUserID) {
		errs = append(errs, fmt.Errorf(`"%s.group_by" %w: rbac_group_id and claude_tag_user_id cannot be grouped together`, prefix, errGroupBy))
	}
	switch details {
	case actorDrop:
	case actorKeep, actorHash:
		if !slices.Contains(groupBy, adminapi.DimActor) {
			errs = append(errs, fmt.Errorf(`"%s.actor_details" %w`, prefix, errActorDetails))
		}
	default:
		errs = append(errs, fmt.Errorf(`"%s.actor_details" %w, not %q`, prefix, errActorDetails, details))
	}
	if p.Lookback > adminapi.AnalyticsMaxAge-24*time.Hour {
		errs = append(errs, fmt.Errorf(`"%s.lookback" %w: the API keeps 365 days`, prefix, errAnalyticsRange))
	}
	span := adminapi.AnalyticsSpan(w)
	// A steady poll reads the revision window and an interval in one query.
	if w > 0 && p.RevisionWindow+p.Interval+2*w > span {
		errs = append(errs, fmt.Errorf(`"%s.revision_window" %w: %s plus an interval of %s is more than the %s one query may span at %s`,
			prefix, errAnalyticsRange, p.RevisionWindow, p.Interval, span, width))
	}
	return append(errs, p.validateAudit(prefix, w, analyticsAuditFits)...)
}

// filterSetting maps the API's filter parameter (without brackets) to the
// setting that holds it.
var filterSetting = map[string]string{
	"api_key_ids":    "api_key_ids",
	"workspace_ids":  "workspace_ids",
	"models":         "models",
	"service_tiers":  "service_tiers",
	"context_window": "context_windows", // the API's name is singular
	"inference_geos": "inference_geos",
}

// filters returns the non-empty filters keyed by the API's parameter name.
func (u UsageConfig) filters() map[string][]string {
	f := map[string][]string{}
	add := func(name string, v []string) {
		if len(v) > 0 {
			f[name] = v
		}
	}
	add("api_key_ids", u.APIKeyIDs)
	add("workspace_ids", u.WorkspaceIDs)
	add("models", u.Models)
	add("service_tiers", u.ServiceTiers)
	add("context_window", u.ContextWindows)
	add("inference_geos", u.InferenceGeos)
	return f
}

// Unmarshal decodes the receiver's configuration and fails on any key it
// does not know, at any level, naming the key and its section. confmap alone
// would not: confighttp.ClientConfig implements confmap.Unmarshaler, and
// confmap decodes the siblings of a squashed Unmarshaler with unused keys
// ignored, which here is every other setting of the receiver, with their
// sections. The keys are first decoded strictly into strictConfigType, then
// the configuration is decoded as usual.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(reflect.New(strictConfigType()).Interface()); err != nil {
		return err
	}
	return conf.Unmarshal(cfg)
}

// strictConfigType is Config with every squashed confmap.Unmarshaler (at any
// depth) replaced by a struct of its exported fields, which has no methods:
// confmap then decodes it and its siblings as it decodes any struct, and
// reports unused keys. Config itself is replaced too, so that its Unmarshal
// is not called again.
var strictConfigType = sync.OnceValue(func() reflect.Type { return strictType(reflect.TypeFor[Config](), true) })

var unmarshalerType = reflect.TypeFor[confmap.Unmarshaler]()

// strictType is t with the squashed Unmarshalers of its struct fields turned
// into plain structs (and t itself, when plain), or t unchanged when it has
// none: it keeps its methods then, such as the Unmarshaler of a named
// section (which is strict on its own) or a text unmarshaler.
func strictType(t reflect.Type, plain bool) reflect.Type {
	if t.Kind() != reflect.Struct {
		return t
	}
	changed := plain && reflect.PointerTo(t).Implements(unmarshalerType)
	fields := make([]reflect.StructField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue // confmap never decodes into it
		}
		squashed := slices.Contains(strings.Split(f.Tag.Get("mapstructure"), ",")[1:], "squash")
		if squashed || !reflect.PointerTo(f.Type).Implements(unmarshalerType) {
			if st := strictType(f.Type, squashed); st != f.Type {
				f.Type, changed = st, true
			}
		}
		fields = append(fields, f)
	}
	if !changed {
		return t
	}
	return reflect.StructOf(fields)
}
