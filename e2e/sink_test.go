// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // the otlp_grpc exporter compresses with gzip by default
	"google.golang.org/grpc/status"
)

// otlpSink is the backend of the delivery tests: an OTLP/HTTP server (any
// path, protobuf or JSON, gzip or not) and an OTLP/gRPC server. Each HTTP
// path is a branch of its own (the test points each exporter at its own
// path); everything received over gRPC is the branch "grpc". A branch can be
// told to refuse: it answers 503 (gRPC: Unavailable), which exporters retry.
//
// For every branch the sink keeps what the points it accepted say, in the
// three ways backends keep them:
//
//   - last value: per series (metric, resource attributes, point
//     attributes), the value of the point with the latest timestamp: what a
//     backend of cumulative counters shows (Prometheus, Grafana Cloud);
//   - one value per series and timestamp: a point replaces an earlier one of
//     the same series and timestamp (last write wins), and the values are
//     summed: what Datadog-like backends keep of delta counters;
//   - the sum of every point received: what a backend that stores each
//     point as an event and sums them shows (Honeycomb).
type otlpSink struct {
	t       *testing.T
	httpURL string
	grpc    string // host:port of the gRPC server

	inflight atomic.Int64 // requests being read or recorded

	mu       sync.Mutex
	gen      int // bumped by the test when it restarts the collector
	branches map[string]*sinkBranch
}

// sinkBranch is what one branch received.
type sinkBranch struct {
	refusing bool

	requests        int // every request, accepted or refused
	refusedRequests int
	refusedPoints   int
	points          int         // points accepted
	pointsOfGen     map[int]int // points accepted, by generation

	series map[string]seriesInfo
	labels map[string]*labelPlaces // per metric: where model and workspace were
	keys   map[string]bool         // every resource and point attribute key seen
	last   map[string]tsValue      // latest point per series
	perTS  map[seriesTS]float64
	sum    map[string]float64
}

// seriesInfo is what the checks group a series by.
type seriesInfo struct {
	metric, model, tokenType, workspace string
}

type tsValue struct {
	ts pcommon.Timestamp
	v  float64
}

type seriesTS struct {
	key string
	ts  pcommon.Timestamp
}

// startSink starts the sink's servers; they stop when the test ends.
func startSink(t *testing.T) *otlpSink {
	t.Helper()
	s := &otlpSink{t: t, branches: map[string]*sinkBranch{}, gen: 1}
	hs := httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(hs.Close)
	s.httpURL = hs.URL

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	pmetricotlp.RegisterGRPCServer(gs, &grpcSink{s: s})
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	s.grpc = ln.Addr().String()
	return s
}

func (s *otlpSink) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(io.LimitReader(body, 256<<20))
	if err != nil {
		// A collector killed in the middle of a request: nothing arrived.
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := pmetricotlp.NewExportRequest()
	jsonBody := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	if jsonBody {
		err = req.UnmarshalJSON(b)
	} else {
		err = req.UnmarshalProto(b)
	}
	if err != nil {
		http.Error(w, "bad OTLP request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !s.record(r.URL.Path, req.Metrics()) {
		http.Error(w, "refusing (test outage)", http.StatusServiceUnavailable)
		return
	}
	resp := pmetricotlp.NewExportResponse()
	var out []byte
	if jsonBody {
		w.Header().Set("Content-Type", "application/json")
		out, err = resp.MarshalJSON()
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, err = resp.MarshalProto()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(out)
}

type grpcSink struct {
	pmetricotlp.UnimplementedGRPCServer
	s *otlpSink
}

func (g *grpcSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	g.s.inflight.Add(1)
	defer g.s.inflight.Add(-1)
	if !g.s.record("grpc", req.Metrics()) {
		return pmetricotlp.NewExportResponse(), status.Error(codes.Unavailable, "refusing (test outage)")
	}
	return pmetricotlp.NewExportResponse(), nil
}

func (s *otlpSink) branch(name string) *sinkBranch {
	b := s.branches[name]
	if b == nil {
		b = &sinkBranch{
			pointsOfGen: map[int]int{},
			series:      map[string]seriesInfo{},
			labels:      map[string]*labelPlaces{},
			keys:        map[string]bool{},
			last:        map[string]tsValue{},
			perTS:       map[seriesTS]float64{},
			sum:         map[string]float64{},
		}
		s.branches[name] = b
	}
	return b
}

// refuse makes the branches refuse (on) or accept (off) what they are sent.
func (s *otlpSink) refuse(on bool, branches ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range branches {
		s.branch(name).refusing = on
	}
}

// nextGeneration marks what arrives from now on as sent by a new collector
// process. Call it once the old process is dead: it waits for the requests
// still being read.
func (s *otlpSink) nextGeneration() {
	for deadline := time.Now().Add(2 * time.Second); s.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}

// record keeps the points of an accepted request; false when the branch
// refuses.
func (s *otlpSink) record(name string, md pmetric.Metrics) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.branch(name)
	b.requests++
	if b.refusing {
		b.refusedRequests++
		b.refusedPoints += md.DataPointCount()
		return false
	}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		resKey := attrKey(res)
		b.noteKeys(res)
		model, workspace := attrString(res, "gen_ai.request.model"), attrString(res, "anthropic.workspace.id")
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				default:
					continue
				}
				for l := range dps.Len() {
					dp := dps.At(l)
					b.noteKeys(dp.Attributes())
					b.notePlaces(m.Name(), res, dp.Attributes())
					key := m.Name() + "|" + resKey + "|" + attrKey(dp.Attributes())
					if _, ok := b.series[key]; !ok {
						b.series[key] = seriesInfo{metric: m.Name(), model: model, workspace: workspace,
							tokenType: attrString(dp.Attributes(), "anthropic.token.type")}
					}
					v := dp.DoubleValue()
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						v = float64(dp.IntValue())
					}
					ts := dp.Timestamp()
					if last, ok := b.last[key]; !ok || ts >= last.ts {
						b.last[key] = tsValue{ts, v}
					}
					b.perTS[seriesTS{key, ts}] = v
					b.sum[key] += v
					b.points++
					b.pointsOfGen[s.gen]++
				}
			}
		}
	}
	return true
}

// labelPlaces counts a metric's points by where they carry the model and
// the workspace: in the resource (what Honeycomb and an OTLP gateway read) or
// in the point's own attributes (what Datadog makes tags of and Grafana
// Cloud labels of).
type labelPlaces struct {
	points                 int
	resModel, resWorkspace int
	dpModel, dpWorkspace   int
}

func (b *sinkBranch) notePlaces(metric string, res, dp pcommon.Map) {
	lp := b.labels[metric]
	if lp == nil {
		lp = &labelPlaces{}
		b.labels[metric] = lp
	}
	has := func(m pcommon.Map, k string) int {
		if _, ok := m.Get(k); ok {
			return 1
		}
		return 0
	}
	lp.points++
	lp.resModel += has(res, "gen_ai.request.model")
	lp.resWorkspace += has(res, "anthropic.workspace.id")
	lp.dpModel += has(dp, "gen_ai.request.model")
	lp.dpWorkspace += has(dp, "anthropic.workspace.id")
}

func (b *sinkBranch) noteKeys(m pcommon.Map) {
	m.Range(func(k string, _ pcommon.Value) bool {
		b.keys[k] = true
		return true
	})
}

// labelPlaces returns a copy of what notePlaces counted for a metric, and
// whether the branch saw an attribute key.
func (s *otlpSink) labelPlaces(branch, metric string) labelPlaces {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lp := s.branch(branch).labels[metric]; lp != nil {
		return *lp
	}
	return labelPlaces{}
}

func (s *otlpSink) sawKey(branch, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.branch(branch).keys[key]
}

func attrKey(m pcommon.Map) string {
	kv := make([]string, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		kv = append(kv, k+"="+v.AsString())
		return true
	})
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

func attrString(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// A view is how a backend reads a branch.
type view int

const (
	viewLast  view = iota // last value per series
	viewPerTS             // one value per series and timestamp, summed
	viewSum               // the sum of every point received
)

func (v view) String() string {
	return [...]string{"last value", "per timestamp", "sum of points"}[v]
}

// branchStats is a branch's counters.
type branchStats struct {
	requests, refusedRequests, refusedPoints, points int
	pointsOfGen                                      map[int]int
}

// stats returns a branch's counters.
func (s *otlpSink) stats(name string) branchStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.branch(name)
	return branchStats{b.requests, b.refusedRequests, b.refusedPoints, b.points, copyCounts(b.pointsOfGen)}
}

func copyCounts(m map[int]int) map[int]int {
	out := make(map[int]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// totals reads a branch through a view, in the form the ground truth takes
// (see truthTotals): tokens by model and token type, dollars by workspace.
func (s *otlpSink) totals(name string, v view) totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.branch(name)
	out := totals{}
	add := func(key string, x float64) {
		info := b.series[key]
		switch info.metric {
		case "anthropic.usage.tokens":
			out["tokens "+info.model+" "+info.tokenType] += x
		case "anthropic.cost":
			out["dollars "+info.workspace] += x
		case "anthropic.claude_code.sessions":
			out["claude_code sessions"] += x
		case "anthropic.claude_code.tokens":
			out["claude_code tokens"] += x
		}
	}
	switch v {
	case viewLast:
		for key, p := range b.last {
			add(key, p.v)
		}
	case viewPerTS:
		for k, x := range b.perTS {
			add(k.key, x)
		}
	case viewSum:
		for key, x := range b.sum {
			add(key, x)
		}
	}
	return out
}

// totals are figures by name: "tokens <model> <token type>",
// "dollars <workspace>", "claude_code sessions", "claude_code tokens".
type totals map[string]float64

// sum adds the figures whose name starts with prefix.
func (t totals) sum(prefix string) float64 {
	var n float64
	for k, v := range t {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// diff lists how got differs from want: dollars within 1e-6 (sums of
// doubles), everything else exactly.
func (want totals) diff(got totals) []string {
	var out []string
	for _, k := range unionKeys(want, got) {
		w, g := want[k], got[k]
		tol := 0.0
		if strings.HasPrefix(k, "dollars ") {
			tol = 1e-6
		}
		if d := g - w; d > tol || d < -tol {
			out = append(out, fmt.Sprintf("%s: got %.10g, truth %.10g (off by %+.6g)", k, g, w, d))
		}
	}
	return out
}

// TestSinkViews: the sink reads replays, refusals and late points as the
// delivery tests assume, over OTLP/HTTP (plain and gzip) and OTLP/gRPC.
func TestSinkViews(t *testing.T) {
	sink := startSink(t)
	batch := func(delta bool, start, ts int64, v int64) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("gen_ai.request.model", "m")
		rm.Resource().Attributes().PutStr("anthropic.workspace.id", "w")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("anthropic.usage.tokens")
		sum := m.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		if delta {
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		}
		dp := sum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("anthropic.token.type", "output_tokens")
		dp.SetStartTimestamp(pcommon.Timestamp(start))
		dp.SetTimestamp(pcommon.Timestamp(ts))
		dp.SetIntValue(v)
		return md
	}
	post := func(path string, md pmetric.Metrics, gz bool) int {
		b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		if gz {
			zw := gzip.NewWriter(&body)
			_, _ = zw.Write(b)
			_ = zw.Close()
		} else {
			body.Write(b)
		}
		req, _ := http.NewRequest(http.MethodPost, sink.httpURL+path, &body)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	want := func(name string, v view, n float64) {
		t.Helper()
		if got := sink.totals(name, v).sum("tokens "); got != n {
			t.Errorf("%s, %s: %v tokens, want %v", name, v, got, n)
		}
	}

	// Delta: a refused batch is not kept; a replay of an accepted one (same
	// series and timestamp) counts once per timestamp, twice in the sum.
	sink.refuse(true, "/d")
	if code := post("/d", batch(true, 0, 10, 5), false); code != http.StatusServiceUnavailable {
		t.Errorf("refusing: HTTP %d, want 503", code)
	}
	sink.refuse(false, "/d")
	for _, md := range []pmetric.Metrics{batch(true, 0, 10, 5), batch(true, 0, 10, 5), batch(true, 10, 20, 3)} {
		if code := post("/d", md, true); code != http.StatusOK {
			t.Errorf("accepting: HTTP %d", code)
		}
	}
	want("/d", viewPerTS, 8)
	want("/d", viewSum, 13)
	if st := sink.stats("/d"); st.requests != 4 || st.refusedRequests != 1 || st.points != 3 {
		t.Errorf("counters %+v", st)
	}

	// Cumulative: the point with the latest timestamp wins, whatever the
	// order of arrival.
	for _, md := range []pmetric.Metrics{batch(false, 0, 10, 5), batch(false, 0, 20, 8), batch(false, 0, 10, 5)} {
		post("/c", md, false)
	}
	want("/c", viewLast, 8)

	// gRPC: Unavailable while refusing, then kept.
	conn, err := grpc.NewClient(sink.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pmetricotlp.NewGRPCClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink.refuse(true, "grpc")
	if _, err := client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(batch(true, 0, 10, 5))); status.Code(err) != codes.Unavailable {
		t.Errorf("refusing over gRPC: %v, want Unavailable", err)
	}
	sink.refuse(false, "grpc")
	if _, err := client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(batch(true, 0, 10, 5))); err != nil {
		t.Errorf("accepting over gRPC: %v", err)
	}
	want("grpc", viewPerTS, 5)
}
