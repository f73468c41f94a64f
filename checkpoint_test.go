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

// The checkpoint belongs to a query shape: another group_by starts a new
// stream (a new start time), and going back resumes the old one.
func TestShapeChangeStartsANewStream(t *testing.T) {
	cfg, clock, _ := checkpointTestConfig(t)
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	r := startReceiver(t, cfg, clock.Now, withHost(host))
	for range 3 {
		_, err := r.poll()
		require.NoError(t, err)
		clock.Advance(time.Minute)
	}
	firstStart, firstWatermark := usageStream(r).Start(), usageStream(r).Watermark()
	require.NoError(t, r.Shutdown(context.Background()))

	clock.Advance(10 * time.Minute)
	other := *cfg
	other.Usage.GroupBy = []string{"model", "workspace_id"}
	r = startReceiver(t, &other, clock.Now, withHost(host))
	assert.Equal(t, clock.Now().Add(-time.Hour).Truncate(time.Minute), usageStream(r).Start(), "a new shape is a new stream")
	_, err := r.poll()
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))

	r = startReceiver(t, cfg, clock.Now, withHost(host))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	assert.Equal(t, firstStart, usageStream(r).Start(), "the old shape resumes its own stream")
	assert.Equal(t, firstWatermark, usageStream(r).Watermark())
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
