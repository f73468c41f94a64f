// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/anthropicusage/anthropicusagereceiver/internal/accounting"
	"github.com/anthropicusage/anthropicusagereceiver/internal/fakeclock"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadata"
	"github.com/anthropicusage/anthropicusagereceiver/internal/metadatatest"
	"github.com/anthropicusage/anthropicusagereceiver/internal/simulator"
)

func checkpointTestConfig(t *testing.T) (*Config, *fakeclock.Clock, *simulator.Simulator) {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 9, 2, 6, 0, 30, 0, time.UTC))
	sim := simulator.New(simulator.Options{Seed: 3, Now: clock.Now, HistoryDays: 2})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.AdminAPIKey = configopaque.String(sim.AdminKey())
	cfg.Storage = &storageID
	cfg.Usage.Poll.Lookback = time.Hour
	cfg.Usage.GroupBy = []string{"model"}
	return cfg, clock, sim
}

func usageStream(r *testReceiver) *accounting.Stream[seriesKey] {
	return r.report("usage").stream
}

// A checkpoint that cannot be decoded is kept under another key, and the
// report starts fresh from its lookback; the receiver neither crashes nor
// refuses to start.
func TestUndecodableCheckpointIsSetAside(t *testing.T) {
	cfg, clock, _ := checkpointTestConfig(t)
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	client, err := storageClient(context.Background(), host, storageID, component.NewID(metadata.Type))
	require.NoError(t, err)
	key := checkpointKey("usage", newUsageSource(cfg.Usage, nil).shape()...)
	corrupt := []byte("AUACCT02 not really a checkpoint")
	require.NoError(t, client.Set(context.Background(), key, corrupt))
	require.NoError(t, client.Close(context.Background()))

	next := &testConsumer{}
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
	assert.Equal(t, clock.Now().Add(-time.Hour).Truncate(time.Minute), usageStream(r).Start(), "fresh from the lookback")
	_, err = r.poll()
	require.NoError(t, err)
	assert.Positive(t, next.ledger().sum("anthropic.usage.tokens", nil))
	require.NoError(t, r.Shutdown(context.Background()))

	client, err = storageClient(context.Background(), host, storageID, component.NewID(metadata.Type))
	require.NoError(t, err)
	defer func() { require.NoError(t, client.Close(context.Background())) }()
	kept, err := client.Get(context.Background(), fmt.Sprintf("%s/unreadable-%d", key, clock.Now().Unix()))
	require.NoError(t, err)
	assert.Equal(t, corrupt, kept, "the undecodable checkpoint is kept as it was")
}

// The checkpoint belongs to a query shape. Another group_by starts a new
// stream where the previous one stopped — at its watermark, not at the
// lookback, which a delta backend would count again — and replaces the
// previous checkpoint with its first write; going back starts where the
// second shape stopped.
func TestShapeChangeStartsWhereThePreviousStopped(t *testing.T) {
	cfg, clock, sim := checkpointTestConfig(t)
	cfg.Temporality = TemporalityDelta
	cfg.Usage.Poll.RevisionWindow = 5 * time.Minute
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	next := &testConsumer{}
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
	for range 20 {
		_, err := r.poll()
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	watermark := usageStream(r).Watermark()
	require.NoError(t, r.Shutdown(context.Background()))
	sim.Freeze(clock.Now().Truncate(time.Minute))
	clock.Advance(30 * time.Minute) // everything settles
	first := next.ledger().sum("anthropic.usage.tokens", nil)

	other := *cfg
	other.Usage.GroupBy = []string{"model", "workspace_id"}
	r = startReceiver(t, &other, clock.Now, withHost(host), withConsumer(next))
	assert.Equal(t, watermark, usageStream(r).Start(), "the new shape starts at the previous one's watermark")
	_, err := r.poll()
	require.NoError(t, err)
	second := next.ledger().sum("anthropic.usage.tokens", nil) - first
	var again int64
	for _, row := range sim.TruthUsage(simulator.TruthQuery{StartingAt: watermark, EndingAt: clock.Now(), GroupBy: other.Usage.GroupBy}) {
		again += row.UncachedInputTokens + row.CacheReadInputTokens + row.CacheCreation5m + row.CacheCreation1h + row.OutputTokens
	}
	var lookback int64 // what a new stream from the lookback would send
	for _, row := range sim.TruthUsage(simulator.TruthQuery{StartingAt: clock.Now().Add(-time.Hour).Truncate(time.Minute), EndingAt: clock.Now(), GroupBy: cfg.Usage.GroupBy}) {
		lookback += row.UncachedInputTokens + row.CacheReadInputTokens + row.CacheCreation5m + row.CacheCreation1h + row.OutputTokens
	}
	assert.Equal(t, float64(again), second, "the new shape sends what followed the previous one's watermark")
	assert.Less(t, second, float64(lookback)/2, "not the lookback again")
	secondWatermark := usageStream(r).Watermark()
	require.NoError(t, r.Shutdown(context.Background()))

	client, err := storageClient(context.Background(), host, storageID, component.NewID(metadata.Type))
	require.NoError(t, err)
	old, err := client.Get(context.Background(), checkpointKey("usage", newUsageSource(cfg.Usage, nil).shape()...))
	require.NoError(t, err)
	assert.Nil(t, old, "the previous shape's checkpoint is gone once the new one was written")
	require.NoError(t, client.Close(context.Background()))

	r = startReceiver(t, cfg, clock.Now, withHost(host))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	assert.Equal(t, secondWatermark, usageStream(r).Start(), "going back starts where the second shape stopped")
}

// A checkpoint the storage fails to read is read again; when it cannot be
// read at all, the receiver does not start, with an error naming the
// storage extension, rather than start fresh and overwrite it.
func TestUnreadableCheckpointStopsTheStart(t *testing.T) {
	cfg, clock, _ := checkpointTestConfig(t)
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	r := startReceiver(t, cfg, clock.Now, withHost(host))
	_, err := r.poll()
	require.NoError(t, err)
	watermark := usageStream(r).Watermark()
	require.NoError(t, r.Shutdown(context.Background()))

	host.faults.reads.Store(2) // two failed reads, then the third works
	clock.Advance(time.Minute)
	r = startReceiver(t, cfg, clock.Now, withHost(host))
	assert.Equal(t, watermark, usageStream(r).Watermark(), "resumed from the checkpoint once it could be read")
	require.NoError(t, r.Shutdown(context.Background()))

	host.faults.reads.Store(-1)
	_, err = tryStartReceiver(t, cfg, clock.Now, withHost(host))
	require.Error(t, err)
	for _, want := range []string{"usage report", `storage extension "file_storage"`, "3 attempts", "input/output error"} {
		assert.Contains(t, err.Error(), want)
	}
	host.faults.reads.Store(0)
	r = startReceiver(t, cfg, clock.Now, withHost(host))
	assert.Equal(t, watermark, usageStream(r).Watermark(), "the checkpoint is still there")
	require.NoError(t, r.Shutdown(context.Background()))
}

// While checkpoint writes fail, a sealed batch is not sent: a restart in
// the middle of the stretch reads again what was never sent instead of
// resending what was. The failures are counted and warned about; the
// report goes on once the storage works again, and nothing is lost or
// doubled.
func TestFailedCheckpointWritesHoldTheBatch(t *testing.T) {
	api, clock, cfg := scriptedSetup(t, TemporalityDelta)
	cfg.Storage = &storageID
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	b0 := fixedNow.Truncate(time.Minute)
	api.set(b0, "sonnet", 10)
	next := &testConsumer{}
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next), withSettings(metadatatest.NewSettings(tel)))
	_, err := r.poll()
	require.NoError(t, err)

	host.faults.writes.Store(-1)
	for i := 1; i <= 3; i++ {
		clock.Advance(time.Minute)
		api.set(b0.Add(time.Duration(i)*time.Minute), "sonnet", 10)
		_, err := r.poll()
		require.NoError(t, err)
	}
	match := map[string]any{"anthropic.token.type": "output_tokens"}
	assert.Equal(t, 10.0, next.ledger().rawSum("anthropic.usage.tokens", match), "nothing is sent while it cannot be written")
	metadatatest.AssertEqualAnthropicUsageCheckpointWriteFailures(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("report", "usage")), Value: 3},
	}, metricdatatest.IgnoreTimestamp())

	r.crash() // in the middle of the stretch
	host.stop(t)
	host.start(t)
	host.faults.writes.Store(0)
	clock.Advance(time.Minute)
	r = startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
	_, err = r.poll()
	require.NoError(t, err)
	assert.Equal(t, 40.0, next.ledger().rawSum("anthropic.usage.tokens", match), "40 used, 40 sent: nothing lost, nothing doubled")
	require.NoError(t, r.Shutdown(context.Background()))
	host.stop(t)
}

// The batch the previous shape had not delivered is delivered by the new
// one, first, unchanged.
func TestShapeChangeDeliversThePreviousBatch(t *testing.T) {
	api, clock, cfg := scriptedSetup(t, TemporalityDelta)
	cfg.Storage = &storageID
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	api.set(fixedNow.Truncate(time.Minute), "sonnet", 10)
	refusing := &testConsumer{refuse: func(int) bool { return true }}
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(refusing))
	_, err := r.poll()
	require.NoError(t, err)
	require.Equal(t, 1, refusing.refused)
	require.NoError(t, r.Shutdown(context.Background()))

	clock.Advance(time.Minute)
	other := *cfg
	other.Usage.GroupBy = nil
	next := &testConsumer{}
	r = startReceiver(t, &other, clock.Now, withHost(host), withConsumer(next))
	_, err = r.poll()
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NotEmpty(t, next.accepted)
	model, _ := next.accepted[0].ResourceMetrics().At(0).Resource().Attributes().Get("gen_ai.request.model")
	assert.Equal(t, "sonnet", model.Str(), "the previous shape's batch, grouped by model, comes first")
	assert.Equal(t, int64(10), outputPoint(t, next.accepted[0]).IntValue())
	// The new shape reads from the previous one's watermark: the bucket of
	// its revision window is counted again, in the new series.
	assert.Equal(t, 20.0, next.ledger().sum("anthropic.usage.tokens", map[string]any{"anthropic.token.type": "output_tokens"}))
}
