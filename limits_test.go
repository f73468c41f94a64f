// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadatatest"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

func TestLimitsConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "limits_config.yaml"))
	require.NoError(t, err)
	load := func(name string) *Config {
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		require.NoError(t, sub.Unmarshal(cfg))
		return cfg
	}
	def := NewFactory().CreateDefaultConfig().(*Config).Limits
	assert.Equal(t, LimitsConfig{Enabled: false, Interval: 5 * time.Minute, Members: false}, def, "off by default")

	tests := []struct {
		name    string
		want    LimitsConfig
		wantErr string
	}{
		{name: "on", want: LimitsConfig{Enabled: true, Interval: 5 * time.Minute}},
		{name: "only_limits", want: LimitsConfig{Enabled: true, Interval: 15 * time.Minute, Members: true}},
		{name: "zero_interval", wantErr: `"limits.interval" must be positive and not shorter than "collection_interval": 0s`},
		{name: "below_collection", wantErr: `"limits.interval" must be positive and not shorter than "collection_interval": 30s (collection_interval 1m0s)`},
		{name: "off_with_bad_interval", want: LimitsConfig{Interval: -time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(tt.name)
			err := confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Limits)
		})
	}
}

// limitsAPIServer serves the limits endpoints: path -> status and body
// (a fixture file under internal/adminapi/testdata/limits, or JSON), and
// counts the requests per path.
type limitsAPIServer struct {
	t      *testing.T
	mu     sync.Mutex
	routes map[string]limitsRoute
	calls  map[string]int
}

type limitsRoute struct {
	status int
	file   string
	body   string
}

func newLimitsAPIServer(t *testing.T, routes map[string]limitsRoute) (*limitsAPIServer, *httptest.Server) {
	s := &limitsAPIServer{t: t, routes: routes, calls: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *limitsAPIServer) set(path string, r limitsRoute) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[path] = r
}

func (s *limitsAPIServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

func (s *limitsAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls[r.URL.Path]++
	route, ok := s.routes[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	body := []byte(route.body)
	if route.file != "" {
		var err error
		body, err = os.ReadFile(filepath.Join("internal", "adminapi", "testdata", "limits", route.file))
		require.NoError(s.t, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "req_limits")
	w.WriteHeader(cmpStatus(route.status))
	_, _ = w.Write(body)
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

const (
	limitsWorkspace  = "wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ"
	limitsWorkspaces = `{"data":[
	  {"id":"wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ","type":"workspace","name":"Production","created_at":"2025-02-26T20:05:26Z","archived_at":null},
	  {"id":"wrkspc_01ArchivedArchivedArchiv","type":"workspace","name":"Old","created_at":"2025-02-26T20:05:26Z","archived_at":"2026-01-01T00:00:00Z"}
	],"has_more":false,"first_id":"wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ","last_id":"wrkspc_01ArchivedArchivedArchiv"}`
	// Month to date on 2026-09-03: $300.12 in the default workspace, $150.505 in the other.
	limitsCost = `{"data":[
	  {"starting_at":"2026-09-01T00:00:00Z","ending_at":"2026-09-02T00:00:00Z","results":[
	    {"currency":"USD","amount":"20000.5","workspace_id":null,"description":null},
	    {"currency":"USD","amount":"10000","workspace_id":"wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ","description":null}]},
	  {"starting_at":"2026-09-02T00:00:00Z","ending_at":"2026-09-03T00:00:00Z","results":[
	    {"currency":"USD","amount":"10011.5","workspace_id":null,"description":null},
	    {"currency":"USD","amount":"5050.5","workspace_id":"wrkspc_01H2kP7sD4fL9qN3xB6vC8eJ","description":null}]}
	],"has_more":false,"next_page":null}`
	orgTypeNotSupported = `{"type":"error","error":{"type":"invalid_request_error","message":"This endpoint is not available for this organization","details":{"error_code":"organization_type_not_supported"}},"request_id":"req_x"}`
)

var limitsNow = time.Date(2026, 9, 3, 10, 0, 0, 0, time.UTC)

func consoleRoutes() map[string]limitsRoute {
	return map[string]limitsRoute{
		adminapi.PathRateLimits:                           {file: "rate_limits.json"},
		adminapi.PathWorkspaces:                           {body: limitsWorkspaces},
		adminapi.WorkspaceRateLimitsPath(limitsWorkspace): {file: "workspace_rate_limits.json"},
		adminapi.PathSpendLimits:                          {file: "spend_limits_console.json"},
		adminapi.PathSpendLimitsEffective:                 {status: 400, body: orgTypeNotSupported},
		adminapi.PathCostReport:                           {body: limitsCost},
	}
}

func limitsReceiver(t *testing.T, endpoint string, members bool, opts ...testOption) *testReceiver {
	return limitsReceiverAt(t, endpoint, members, func() time.Time { return limitsNow }, opts...)
}

func limitsReceiverAt(t *testing.T, endpoint string, members bool, now func() time.Time, opts ...testOption) *testReceiver {
	cfg := testConfig(endpoint)
	cfg.Usage.Poll.Enabled = false
	cfg.Limits = LimitsConfig{Enabled: true, Interval: 5 * time.Minute, Members: members}
	return startReceiver(t, cfg, now, opts...)
}

// pollLimits polls the limits report once, at at, and builds its batch.
func pollLimits(tr *testReceiver, at time.Time) (pmetric.Metrics, error) {
	pts, err := tr.limits.poll(context.Background(), tr.client, at)
	return tr.limits.build(pts, at), err
}

// gauges reads the points of md as metric -> "workspace|attr=value,…" -> value.
func gauges(md pmetric.Metrics) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		ws, _ := rms.At(i).Resource().Attributes().Get("anthropic.workspace.id")
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			m := ms.At(j)
			dps := m.Gauge().DataPoints()
			for k := range dps.Len() {
				dp := dps.At(k)
				key := ws.Str()
				for _, k := range []string{"anthropic.limits.scope", "anthropic.limits.scope.id", "anthropic.limits.rate.type", "anthropic.limits.rate.source", "anthropic.limits.period"} {
					if v, ok := dp.Attributes().Get(k); ok {
						key += "|" + v.AsString()
					}
				}
				if out[m.Name()] == nil {
					out[m.Name()] = map[string]float64{}
				}
				v := dp.DoubleValue()
				if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
					v = float64(dp.IntValue())
				}
				out[m.Name()][key] = v
			}
		}
	}
	return out
}

// A Claude Console organization: rate limits of the organization and its
// active workspace, the configured spend limits, the derived caps and the
// month to date; the member report is answered 400 and not read again.
func TestLimitsConsole(t *testing.T) {
	api, srv := newLimitsAPIServer(t, consoleRoutes())
	tr := limitsReceiver(t, srv.URL, true)
	md, err := pollLimits(tr, limitsNow)
	require.NoError(t, err)
	compareGolden(t, "limits_console.yaml", md)

	g := gauges(md)
	assert.Equal(t, map[string]float64{
		"|organization|monthly":                800, // min(usage tier $1000, organization $800)
		limitsWorkspace + "|workspace|monthly": 250,
	}, g["anthropic.limits.spend.effective"])
	assert.Equal(t, map[string]float64{
		"|organization|monthly":                450.625,
		"default|workspace|monthly":            300.12,
		limitsWorkspace + "|workspace|monthly": 150.505,
	}, g["anthropic.limits.spend.period_to_date"])
	assert.Equal(t, map[string]float64{
		"|organization|monthly":                800, // the organization's own limit
		"|usage_tier|monthly":                  1000,
		limitsWorkspace + "|workspace|monthly": 250,
	}, g["anthropic.limits.spend.limit"])
	assert.Equal(t, map[string]float64{
		"|organization|requests_per_minute":                          2000, // Sonnet
		limitsWorkspace + "|workspace|requests_per_minute|workspace": 500,
	}, onlyGroup(t, md, "anthropic.limits.rate.requests", "rlg_01Tz6Yx5Wv4Ut3Sr2Qp1On9Ml"))
	assert.Equal(t, 1, api.count(adminapi.WorkspaceRateLimitsPath(limitsWorkspace)))
	assert.Equal(t, 0, api.count(adminapi.WorkspaceRateLimitsPath("wrkspc_01ArchivedArchivedArchiv")), "archived workspaces are not read")
}

// onlyGroup is gauges for one rate-limit group.
func onlyGroup(t *testing.T, md pmetric.Metrics, metric, groupID string) map[string]float64 {
	t.Helper()
	cp := pmetric.NewMetrics()
	md.CopyTo(cp)
	cp.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		rm.ScopeMetrics().At(0).Metrics().RemoveIf(func(m pmetric.Metric) bool {
			if m.Name() != metric {
				return true
			}
			m.Gauge().DataPoints().RemoveIf(func(dp pmetric.NumberDataPoint) bool {
				v, _ := dp.Attributes().Get("anthropic.limits.rate.group.id")
				return v.Str() != groupID
			})
			return false
		})
		return false
	})
	return gauges(cp)[metric]
}

// A Claude Enterprise organization with limits.members: the configured
// limits (a null amount and a disabled organization default kept apart),
// no derived pooled cap, and each member's effective limit and spend so far.
// Without limits.members, neither user rows nor the member report.
func TestLimitsEnterpriseMembers(t *testing.T) {
	routes := map[string]limitsRoute{
		adminapi.PathRateLimits:           {status: 403, body: `{"type":"error","error":{"type":"permission_error","message":"Permission denied"}}`},
		adminapi.PathWorkspaces:           {body: `{"data":[],"has_more":false,"first_id":null,"last_id":null}`},
		adminapi.PathSpendLimits:          {file: "spend_limits_enterprise.json"},
		adminapi.PathSpendLimitsEffective: {body: `{"data":[],"next_page":null}`},
		adminapi.PathCostReport:           {status: 403, body: `{"type":"error","error":{"type":"permission_error","message":"Permission denied"}}`},
	}
	effective, err := os.ReadFile(filepath.Join("internal", "adminapi", "testdata", "limits", "spend_limits_effective.json"))
	require.NoError(t, err)
	// The fixture's next_page leads to a last, empty page.
	routes[adminapi.PathSpendLimitsEffective] = limitsRoute{body: string(effective)}
	api, _ := newLimitsAPIServer(t, routes)
	srvLast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") != "" {
			_, _ = w.Write([]byte(`{"data":[],"next_page":null}`))
			return
		}
		api.ServeHTTP(w, r)
	}))
	defer srvLast.Close()

	tr := limitsReceiver(t, srvLast.URL, true)
	md, err := pollLimits(tr, limitsNow)
	require.NoError(t, err)
	compareGolden(t, "limits_enterprise.yaml", md)
	g := gauges(md)
	assert.Equal(t, map[string]float64{
		"|user|user_01Qw3Er4Ty5Ui6Op7As8Df9Gh|monthly": 600,
		"|user|user_01Xy8Za7Bc6De5Fg4Hj3Kl2Mn|monthly": 1500,
		"|user|user_01Xy8Za7Bc6De5Fg4Hj3Kl2Mn|daily":   50,
	}, g["anthropic.limits.spend.effective"], "members' limits only: the organization default is not a pooled cap")
	assert.Equal(t, map[string]float64{
		"|user|user_01Qw3Er4Ty5Ui6Op7As8Df9Gh|monthly": 473.12375,
		"|user|user_01Xy8Za7Bc6De5Fg4Hj3Kl2Mn|monthly": 91.2,
		"|user|user_01Xy8Za7Bc6De5Fg4Hj3Kl2Mn|daily":   0,
	}, g["anthropic.limits.spend.period_to_date"])
	assert.Len(t, g["anthropic.limits.spend.limit"], 3, "the seat tier's null amount is not emitted")
	assert.Equal(t, 1500.0, g["anthropic.limits.spend.limit"]["|user|user_01Xy8Za7Bc6De5Fg4Hj3Kl2Mn|monthly"])

	api2, srv2 := newLimitsAPIServer(t, routes)
	tr = limitsReceiver(t, srv2.URL, false)
	md, err = pollLimits(tr, limitsNow)
	require.NoError(t, err)
	g = gauges(md)
	assert.Len(t, g["anthropic.limits.spend.limit"], 2, "no user rows without limits.members")
	assert.Empty(t, g["anthropic.limits.spend.effective"])
	assert.Empty(t, g["anthropic.limits.spend.period_to_date"])
	assert.Zero(t, api2.count(adminapi.PathSpendLimitsEffective), "the member report is not read without limits.members")
}

// A part the organization lacks (400 organization_type_not_supported, 403,
// 404) is logged once with what it means and read again only a day later;
// it comes back without a restart. Other failures are errors of the poll,
// and the parts that were read are still emitted.
func TestLimitsUnavailablePartsReportedOnce(t *testing.T) {
	routes := consoleRoutes()
	routes[adminapi.PathSpendLimits] = limitsRoute{status: 403, body: `{"type":"error","error":{"type":"permission_error","message":"Permission denied"}}`}
	routes[adminapi.PathCostReport] = limitsRoute{status: 500, body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`}
	api, srv := newLimitsAPIServer(t, routes)
	core, logs := observer.New(zap.InfoLevel)
	tr := limitsReceiver(t, srv.URL, true, withLogger(zap.New(core)))

	at := limitsNow
	for i := range 3 {
		md, err := pollLimits(tr, at)
		require.Error(t, err, "poll %d", i)
		assert.Contains(t, err.Error(), "month_to_date_spend")
		assert.NotContains(t, err.Error(), "spend_limits:")
		g := gauges(md)
		assert.NotEmpty(t, g["anthropic.limits.rate.requests"], "what was read is emitted")
		assert.Empty(t, g["anthropic.limits.spend.period_to_date"])
		at = at.Add(5 * time.Minute)
	}
	assert.Equal(t, 1, api.count(adminapi.PathSpendLimits))
	assert.Equal(t, 1, api.count(adminapi.PathSpendLimitsEffective))
	assert.Greater(t, api.count(adminapi.PathCostReport), 3, "a 500 is retried and read again every poll")
	lacking := logs.FilterMessageSnippet("lacks this part").All()
	require.Len(t, lacking, 2)
	assert.Equal(t, "spend_limits", lacking[0].ContextMap()["part"])
	assert.Equal(t, int64(403), lacking[0].ContextMap()["status"])
	assert.Equal(t, "effective_spend_limits", lacking[1].ContextMap()["part"])
	assert.Equal(t, "organization_type_not_supported", lacking[1].ContextMap()["error_code"])
	assert.Contains(t, lacking[1].ContextMap()["meaning"], "Claude Enterprise organizations only")

	// A day later both are read again: the effective report still lacks
	// (said once only), the spend-limit list was granted meanwhile.
	api.set(adminapi.PathSpendLimits, limitsRoute{file: "spend_limits_console.json"})
	at = limitsNow.Add(limitsReprobe)
	md, _ := pollLimits(tr, at)
	assert.Equal(t, 2, api.count(adminapi.PathSpendLimits))
	assert.Equal(t, 2, api.count(adminapi.PathSpendLimitsEffective))
	assert.Len(t, logs.FilterMessageSnippet("lacks this part").All(), 2)
	back := logs.FilterMessage("Limits part available again").All()
	require.Len(t, back, 1)
	assert.Equal(t, "spend_limits", back[0].ContextMap()["part"])
	assert.Len(t, gauges(md)["anthropic.limits.spend.limit"], 3)
}

// The gauges go through the receiver's delivery path (its obsreport and
// the next consumer). Between two polls every tick repeats the last values
// at its own time, without a request, so that they do not go stale; a
// batch the pipeline refused is not kept, the next tick sends the values.
func TestLimitsTicks(t *testing.T) {
	api, srv := newLimitsAPIServer(t, consoleRoutes())
	sink := &testConsumer{refuse: func(call int) bool { return call == 1 }}
	core, logs := observer.New(zapcore.WarnLevel)
	clock := fakeclock.New(limitsNow)
	tr := limitsReceiverAt(t, srv.URL, false, clock.Now, withConsumer(sink), withLogger(zap.New(core)))
	ctx := context.Background()

	tr.tickLimits(ctx)
	assert.Equal(t, 1, sink.refused)
	assert.Equal(t, 1, logs.FilterMessageSnippet("refused the limits gauges").Len())
	clock.Advance(time.Minute)
	tr.tickLimits(ctx)
	clock.Advance(3 * time.Minute)
	tr.tickLimits(ctx)
	assert.Equal(t, 1, api.count(adminapi.PathRateLimits), "no request between two polls")
	assert.Equal(t, 3, sink.calls)
	md := sink.take()
	assert.Equal(t, 32, md.DataPointCount(), "8 rate limits, 3 spend limits, 2 caps, 3 sums, twice")
	stamps := map[pcommon.Timestamp]int{}
	for i := range md.ResourceMetrics().Len() {
		ms := md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics()
		stamps[ms.At(0).Gauge().DataPoints().At(0).Timestamp()]++
	}
	assert.Equal(t, map[pcommon.Timestamp]int{
		pcommon.NewTimestampFromTime(limitsNow.Add(time.Minute)):     3,
		pcommon.NewTimestampFromTime(limitsNow.Add(4 * time.Minute)): 3,
	}, stamps, "repeated values carry the tick's time (three resources: the organization, two workspaces)")
	assert.Equal(t, 800.0, gauges(md)["anthropic.limits.spend.effective"]["|organization|monthly"])

	clock.Advance(31 * time.Second) // within half a collection interval of the next poll
	tr.tickLimits(ctx)
	assert.Equal(t, 2, api.count(adminapi.PathRateLimits), "polled again after limits.interval")
}

// A receiver with only the limits report is valid and polls nothing else.
func TestLimitsAlone(t *testing.T) {
	_, srv := newLimitsAPIServer(t, consoleRoutes())
	tr := limitsReceiver(t, srv.URL, false)
	assert.Empty(t, tr.reports)
	require.NotNil(t, tr.limits)
	cfg := testConfig(srv.URL)
	cfg.Usage.Poll.Enabled = false
	err := cfg.Validate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, errNoReport))
}

// The limits report against the simulator's Console organization, with the
// names lookup on: the caps it derives from the simulator's configured
// limits, the month to date equal to the simulator's ground truth once the
// cost has settled, and the requests one poll costs.
func TestLimitsAgainstSimulator(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 9, 3, 9, 0, 30, 0, time.UTC))
	sim := simulator.New(simulator.Options{Seed: 5, Now: clock.Now, HistoryDays: 4})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	frozen := clock.Now()
	sim.Freeze(frozen)
	clock.Advance(2 * time.Hour) // past the cost's settle delay

	cfg := testConfig(srv.URL)
	cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
	cfg.Usage.Poll.Enabled = false
	cfg.Limits = LimitsConfig{Enabled: true, Interval: 5 * time.Minute}
	tr := startReceiver(t, cfg, clock.Now)
	tr.names = newNameCache()
	tr.limits.names = tr.names
	tr.names.refresh(context.Background(), tr.client, zap.NewNop())
	sim.ResetStats()

	md, err := pollLimits(tr, clock.Now())
	require.NoError(t, err)
	stats := sim.Stats()
	ws := sim.ActiveWorkspaceIDs()
	g := gauges(md)
	assert.Equal(t, map[string]float64{
		"|organization|monthly":      simulator.SimOrganizationCents / 100,
		ws[0] + "|workspace|monthly": float64(simulator.SimWorkspaceCents[0]) / 100,
		ws[1] + "|workspace|monthly": float64(simulator.SimWorkspaceCents[1]) / 100,
	}, g["anthropic.limits.spend.effective"])

	monthStart := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	want := map[string]float64{}
	for _, r := range sim.TruthCost(simulator.TruthQuery{StartingAt: monthStart, EndingAt: frozen, GroupBy: []string{"workspace_id"}}) {
		w := "default"
		if id := r.Dims["workspace_id"]; id != nil {
			w = *id
		}
		want[w+"|workspace|monthly"] += float64(r.AmountNanoCents) / 1e11
		want["|organization|monthly"] += float64(r.AmountNanoCents) / 1e11
	}
	got := g["anthropic.limits.spend.period_to_date"]
	require.Len(t, got, len(want))
	for k, v := range want {
		assert.InDelta(t, v, got[k], 1e-6, k)
	}
	assert.Positive(t, want["|organization|monthly"])

	rm := md.ResourceMetrics().At(0).Resource().Attributes()
	org, _ := rm.Get("anthropic.organization.id")
	assert.Equal(t, sim.OrganizationID(), org.Str())

	// One poll: rate limits, the workspace list, one request per active
	// workspace, the spend-limit list and the month's cost report.
	assert.Equal(t, 4+len(ws), stats.Total, "%v", stats.Requests)
	t.Logf("one limits poll: %d requests (%d active workspaces); every 5 minutes: %d an hour", stats.Total, len(ws), 12*stats.Total)
}

// The receiver's own request telemetry names all the workspaces'
// rate-limit paths alike, so that its endpoint label does not grow with the
// workspaces.
func TestLimitsRequestTelemetry(t *testing.T) {
	_, srv := newLimitsAPIServer(t, consoleRoutes())
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(context.Background())) }()
	tr := limitsReceiver(t, srv.URL, false, withSettings(metadatatest.NewSettings(tt)))
	_, err := pollLimits(tr, limitsNow)
	require.NoError(t, err)
	ok := func(endpoint string) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String("endpoint", endpoint),
			attribute.String("status_class", "2xx"), attribute.String("error_type", "")), Value: 1}
	}
	metadatatest.AssertEqualAnthropicUsageRequests(t, tt, []metricdata.DataPoint[int64]{
		ok(adminapi.PathRateLimits), ok(adminapi.PathWorkspaces), ok("/v1/organizations/workspaces/{workspace_id}/rate_limits"),
		ok(adminapi.PathSpendLimits), ok(adminapi.PathCostReport),
	}, metricdatatest.IgnoreTimestamp())
}

// The caps derived from configured limits, without HTTP: the lower of the
// usage tier and the enabled organization limit; a workspace's bounded by
// it; nothing for an Enterprise organization, even one whose only other
// limit has no amount.
func TestLimitsDerivedCaps(t *testing.T) {
	limit := func(scope, ws, amount string, enabled bool) adminapi.SpendLimit {
		return adminapi.SpendLimit{Scope: adminapi.SpendScope{Type: scope, WorkspaceID: ws}, Period: "monthly",
			Amount: adminapi.Decimal(amount), Currency: "USD", IsEnabled: &enabled}
	}
	tests := []struct {
		name   string
		limits []adminapi.SpendLimit
		want   map[string]float64
	}{
		{
			name:   "tier, organization and workspace",
			limits: []adminapi.SpendLimit{limit("workspace", "w1", "90000", true), limit("organization", "", "80000", true), limit("usage_tier", "", "100000", true)},
			want:   map[string]float64{"|organization|monthly": 800, "w1|workspace|monthly": 800},
		},
		{
			name:   "extra usage switched off: the tier's cap",
			limits: []adminapi.SpendLimit{limit("organization", "", "80000", false), limit("usage_tier", "", "100000", true)},
			want:   map[string]float64{"|organization|monthly": 1000},
		},
		{
			name:   "custom tier without an amount: the organization's own",
			limits: []adminapi.SpendLimit{limit("organization", "", "80000", true), limit("usage_tier", "", "", true)},
			want:   map[string]float64{"|organization|monthly": 800},
		},
		{
			name:   "a workspace limit alone",
			limits: []adminapi.SpendLimit{limit("workspace", "w1", "2500", true)},
			want:   map[string]float64{"w1|workspace|monthly": 25},
		},
		{
			name:   "enterprise: a member default, not a pooled cap",
			limits: []adminapi.SpendLimit{limit("organization", "", "20000", true), limit("seat_tier", "", "", true)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &limitsReport{cfg: LimitsConfig{Enabled: true}, logger: zap.NewNop()}
			mb := metadata.NewMetricsBuilder(metadata.NewDefaultMetricsBuilderConfig(), receivertest.NewNopSettings(metadata.Type))
			l.mb, l.rb = mb, mb.NewResourceBuilder()
			got := gauges(l.build(l.points(limitsData{spend: tt.limits}), limitsNow))["anthropic.limits.spend.effective"]
			if tt.want == nil {
				assert.Empty(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// A part that fails for now keeps its last values (limits change rarely),
// except last month's spend in a new month; a part the organization turns
// out to lack is cleared.
func TestLimitsKeepLastValuesThroughFailures(t *testing.T) {
	api, srv := newLimitsAPIServer(t, consoleRoutes())
	tr := limitsReceiver(t, srv.URL, false)
	md, err := pollLimits(tr, limitsNow)
	require.NoError(t, err)
	before := gauges(md)
	require.NotEmpty(t, before["anthropic.limits.spend.period_to_date"])

	failing := limitsRoute{status: 500, body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`}
	api.set(adminapi.PathRateLimits, failing)
	api.set(adminapi.PathCostReport, failing)
	md, err = pollLimits(tr, limitsNow.Add(5*time.Minute))
	require.Error(t, err)
	assert.Equal(t, before, gauges(md), "every value as last read")

	nextMonth := time.Date(2026, 10, 1, 0, 10, 0, 0, time.UTC)
	md, err = pollLimits(tr, nextMonth)
	require.Error(t, err)
	g := gauges(md)
	assert.Empty(t, g["anthropic.limits.spend.period_to_date"], "September's spend is not October's")
	assert.Equal(t, before["anthropic.limits.rate.requests"], g["anthropic.limits.rate.requests"])

	api.set(adminapi.PathSpendLimits, limitsRoute{status: 403, body: `{"type":"error","error":{"type":"permission_error","message":"Permission denied"}}`})
	md, _ = pollLimits(tr, nextMonth.Add(5*time.Minute))
	g = gauges(md)
	assert.Empty(t, g["anthropic.limits.spend.limit"])
	assert.Empty(t, g["anthropic.limits.spend.effective"])
	assert.NotEmpty(t, g["anthropic.limits.rate.requests"])
}
