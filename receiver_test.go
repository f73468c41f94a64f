// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/anthropicusage/anthropicusagereceiver/internal/adminapi"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
)

// A refused batch is sent again, unchanged (same series, start, timestamp
// and value), on every tick until accepted; the report is not read
// meanwhile; then newer increases go into a new interval after it.
func TestRefusedBatchIsSentAgainUnchanged(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityDelta, TemporalityCumulative} {
		t.Run(string(temporality), func(t *testing.T) {
			api, clock, cfg := scriptedSetup(t, temporality)
			b0 := fixedNow.Truncate(time.Minute)
			api.set(b0, "sonnet", 10)
			var sent []pmetric.Metrics
			down := true
			next := &recordingConsumer{fn: func(md pmetric.Metrics) error {
				cp := pmetric.NewMetrics()
				md.CopyTo(cp)
				sent = append(sent, cp)
				if down {
					return errors.New("backend unavailable")
				}
				return nil
			}}
			r := startReceiver(t, cfg, clock.Now, withConsumer(next))

			_, err := r.poll()
			require.NoError(t, err)
			require.Len(t, sent, 1)
			requests := api.requests.Load()
			for range 3 { // the backend stays down; the API keeps growing
				clock.Advance(time.Minute)
				api.set(b0, "sonnet", api.get(b0, "sonnet")+5)
				_, err := r.poll()
				require.NoError(t, err)
			}
			require.Len(t, sent, 4)
			assert.Equal(t, requests, api.requests.Load(), "nothing is read while a batch waits")
			for i := 1; i < 4; i++ {
				require.NoError(t, pmetrictest.CompareMetrics(sent[0], sent[i]), "attempt %d is the same batch", i+1)
			}

			down = false
			clock.Advance(time.Minute)
			_, err = r.poll()
			require.NoError(t, err)
			require.Len(t, sent, 6, "the refused batch, accepted, then the new poll")
			require.NoError(t, pmetrictest.CompareMetrics(sent[0], sent[4]))
			first, newer := outputPoint(t, sent[0]), outputPoint(t, sent[5])
			if temporality == TemporalityDelta {
				assert.Equal(t, first.Timestamp(), newer.StartTimestamp(), "the newer increase starts where the replayed batch ended")
				assert.Equal(t, int64(10), first.IntValue())
				assert.Equal(t, int64(15), newer.IntValue())
			} else {
				assert.Equal(t, first.StartTimestamp(), newer.StartTimestamp())
				assert.Equal(t, int64(25), newer.IntValue())
			}
			assert.Greater(t, newer.Timestamp(), first.Timestamp())
		})
	}
}

// A fan-out's error is permanent only when every branch refused for good.
func TestPermanentRefusals(t *testing.T) {
	forGood := consumererror.NewPermanent(errors.New("malformed"))
	forNow := errors.New("queue full")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{forGood, true},
		{forNow, false},
		{fmt.Errorf("exporter: %w", forGood), true},
		{errors.Join(forGood, forGood), true},
		{errors.Join(forGood, forNow), false},
		{errors.Join(forNow, fmt.Errorf("branch b: %w", forGood)), false},
		{fmt.Errorf("pipeline: %w", errors.Join(forGood, forNow)), false},
		{fmt.Errorf("pipeline: %w", errors.Join(forGood, fmt.Errorf("b: %w", forGood))), true},
		{consumererror.NewPermanent(errors.Join(forNow, forNow)), true},
	} {
		assert.Equal(t, tc.want, permanent(tc.err), "%v", tc.err)
	}
}

// recordingConsumer hands every batch to fn.
type recordingConsumer struct{ fn func(pmetric.Metrics) error }

func (c *recordingConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *recordingConsumer) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	return c.fn(md)
}

// A fan-out to two exporters, one of them down: the healthy one receives
// every attempt, the same points each time, so a backend that keeps one
// value per series and timestamp stays exact; one that adds every point
// counts each replay.
func TestFanOutReplaysAreRecognisable(t *testing.T) {
	api, clock, cfg := scriptedSetup(t, TemporalityDelta)
	healthy, other := ledger{}, ledger{}
	downFor := 3
	next := &recordingConsumer{fn: func(md pmetric.Metrics) error {
		healthy.add(md)
		if downFor > 0 {
			downFor--
			return errors.New("the other exporter is down")
		}
		other.add(md)
		return nil
	}}
	r := startReceiver(t, cfg, clock.Now, withConsumer(next))
	b0 := fixedNow.Truncate(time.Minute)
	for i := range 6 {
		api.set(b0.Add(time.Duration(i)*time.Minute), "sonnet", 10)
		_, err := r.poll()
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	match := map[string]any{"anthropic.token.type": "output_tokens"}
	assert.Equal(t, 60.0, healthy.sum("anthropic.usage.tokens", match), "one value per series and timestamp: exact")
	assert.Equal(t, 60.0, other.sum("anthropic.usage.tokens", match))
	assert.Equal(t, 90.0, healthy.rawSum("anthropic.usage.tokens", match), "a backend adding every point counts the three replays of the first batch")
}

// The batch is written ahead to the checkpoint: a process that dies while
// the backend refuses it sends it again, unchanged, after the restart; and
// one that dies after the batch was accepted but before the checkpoint noted
// it sends it again unchanged too, which a backend keeping one value per
// series and timestamp absorbs.
func TestUndeliveredBatchSurvivesACrash(t *testing.T) {
	api, clock, cfg := scriptedSetup(t, TemporalityDelta)
	b0 := fixedNow.Truncate(time.Minute)
	api.set(b0, "sonnet", 10)
	cfg.Storage = &storageID
	host := &storageHost{dir: t.TempDir()}
	host.start(t)

	refused := &testConsumer{refuse: func(int) bool { return true }}
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(refused))
	_, err := r.poll()
	require.NoError(t, err)
	require.Equal(t, 1, refused.refused)
	r.crash()
	host.stop(t)

	clock.Advance(time.Minute)
	api.set(b0, "sonnet", 12)
	host.start(t)
	next := &testConsumer{}
	r = startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
	_, err = r.poll()
	require.NoError(t, err)
	require.Len(t, next.accepted, 2, "the batch from before the crash, then the new increase")
	replayed, newer := outputPoint(t, next.accepted[0]), outputPoint(t, next.accepted[1])
	assert.Equal(t, pointTime(fixedNow), replayed.Timestamp(), "stamped when it was first sent")
	assert.Equal(t, int64(10), replayed.IntValue())
	assert.Equal(t, replayed.Timestamp(), newer.StartTimestamp())
	assert.Equal(t, int64(2), newer.IntValue())

	// Accepted, and the process dies before noting it: the same batch again.
	clock.Advance(time.Minute)
	api.set(b0, "sonnet", 15)
	store := r.report("usage").store
	store.client = noteless{store.client} // the note of acceptance is never written
	_, err = r.poll()
	require.NoError(t, err)
	r.crash()
	host.stop(t)
	host.start(t)
	r = startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
	_, err = r.poll()
	require.NoError(t, err)
	match := map[string]any{"anthropic.token.type": "output_tokens"}
	assert.Equal(t, 15.0, next.ledger().sum("anthropic.usage.tokens", match), "one value per series and timestamp: exact")
	assert.Equal(t, 18.0, next.ledger().rawSum("anthropic.usage.tokens", match), "the batch of 3 arrived twice")
	require.NoError(t, r.Shutdown(context.Background()))
	host.stop(t)
}

func pointTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

// noteless is a storage client that loses every write made only of
// deletions: the checkpoint's note that a batch was accepted.
type noteless struct{ storage.Client }

func (n noteless) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type != storage.Delete {
			return n.Client.Batch(ctx, ops...)
		}
	}
	return nil
}

// A permanent error from the pipeline drops the batch with an error log
// instead of sending it forever.
func TestPermanentRefusalDropsTheBatch(t *testing.T) {
	srv := fixtureServer(t, map[string]string{adminapi.PathUsageMessages: "usage_report_1m.json"})
	core, logs := observer.New(zap.ErrorLevel)
	calls := 0
	next := &recordingConsumer{fn: func(pmetric.Metrics) error {
		calls++
		return consumererror.NewPermanent(errors.New("malformed"))
	}}
	clock := fakeclock.New(fixedNow)
	r := startReceiver(t, testConfig(srv.URL), clock.Now, withLogger(zap.New(core)), withConsumer(next))
	_, err := r.poll()
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = r.poll()
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "a new poll, not the dropped batch again")
	assert.Nil(t, r.report("usage").pending)
	assert.Equal(t, 2, logs.FilterMessageSnippet("refused a batch for good").Len())
}

// The receiver's loops, started by the collector: batches the pipeline
// refused are sent again, accepted ones once; the collector's receiver
// telemetry counts every point sent.
func TestReceiverLoopAndObsReport(t *testing.T) {
	api := newScriptedUsage()
	srv := httptest.NewServer(api)
	defer srv.Close()
	now := time.Now().UTC()
	b0 := now.Truncate(time.Minute).Add(-2 * time.Minute)
	api.set(b0, "sonnet", 7)
	api.set(b0.Add(-90*time.Minute), "haiku", 3)

	cfg := testConfig(srv.URL)
	cfg.Temporality = TemporalityDelta
	cfg.Usage.GroupBy = []string{"model"}
	cfg.Usage.Poll.Lookback = 2 * time.Hour
	cfg.Usage.Poll.Interval = 10 * time.Millisecond
	cfg.CollectionInterval = 10 * time.Millisecond
	cfg.InitialDelay = 0

	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := &consumertest.MetricsSink{}
	refusals := atomic.Int32{}
	refusals.Store(3)
	next := &recordingConsumer{fn: func(md pmetric.Metrics) error {
		if refusals.Add(-1) >= 0 {
			return errors.New("exporter queue full")
		}
		return sink.ConsumeMetrics(context.Background(), md)
	}}
	rcv, err := NewFactory().CreateMetrics(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool {
		got := ledger{}
		for _, md := range sink.AllMetrics() {
			got.add(md)
		}
		return got.sum("anthropic.usage.tokens", nil) == 10
	}, 10*time.Second, 10*time.Millisecond, "refused batches are sent again, accepted ones once")
	require.NoError(t, rcv.Shutdown(context.Background()))

	accepted := 0
	for _, md := range sink.AllMetrics() {
		accepted += md.DataPointCount()
	}
	attrs := receiverAttrs(set.ID)
	assert.Equal(t, int64(accepted), sumOf(t, tel, "otelcol_receiver_accepted_metric_points", attrs), "every point accepted is counted")
	assert.Positive(t, sumOf(t, tel, "otelcol_receiver_refused_metric_points", attrs), "refused points are counted too")
}

func receiverAttrs(id component.ID) map[string]string {
	return map[string]string{"receiver": id.String(), "transport": "http"}
}

// Shutdown does not wait for a poll stuck in retries: it cancels it.
func TestShutdownCancelsAPollInFlight(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("retry-after", "600")
		w.WriteHeader(529)
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.RetryOnFailure.MaxElapsedTime = time.Hour
	cfg.InitialDelay = 0
	rcv, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return requests.Load() > 0 }, 5*time.Second, 5*time.Millisecond)
	start := time.Now()
	require.NoError(t, rcv.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), 2*time.Second, "a 600 s retry-after does not hold the collector's exit")
}

// The first poll waits for the first lookup, so that no series appears
// first without its names and then again with them.
func TestFirstPollHasNames(t *testing.T) {
	api := &namesAPI{usage: fixtureServer(t, map[string]string{adminapi.PathUsageMessages: "usage_report_1m.json"}).Config.Handler}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Names.Enabled = true
	cfg.InitialDelay = 0
	sink := &consumertest.MetricsSink{}
	rcv, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), sink)
	require.NoError(t, err)
	rcv.now = func() time.Time { return fixedNow }
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, rcv.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) > 0 }, 10*time.Second, 5*time.Millisecond)
	assert.Contains(t, pointAttr(sink.AllMetrics()[0], "anthropic.api_key.name"), "Developer Key")
}

// sumOf adds the points of a sum in the collector's own telemetry whose
// attributes include attrs.
func sumOf(t *testing.T, tel *componenttest.Telemetry, name string, attrs map[string]string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is an int64 sum", name)
	var total int64
	for _, dp := range sum.DataPoints {
		match := true
		for k, v := range attrs {
			if got, ok := dp.Attributes.Value(attribute.Key(k)); !ok || got.AsString() != v {
				match = false
			}
		}
		if match {
			total += dp.Value
		}
	}
	return total
}

// outputPoint is the output tokens point of a batch of one usage series.
func outputPoint(t *testing.T, md pmetric.Metrics) pmetric.NumberDataPoint {
	t.Helper()
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		if ms.At(i).Name() != "anthropic.usage.tokens" {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := range dps.Len() {
			if tt, _ := dps.At(j).Attributes().Get("anthropic.token.type"); tt.Str() == "output_tokens" {
				return dps.At(j)
			}
		}
	}
	t.Fatal("no output tokens point")
	return pmetric.NumberDataPoint{}
}
