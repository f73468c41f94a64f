// Copyright The anthropic_usage Authors
// SPDX-License-Identifier: Apache-2.0

package anthropicusagereceiver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A server that sends 100 new models every poll (twelve polls: 1,200
// series offered): the report keeps at most
// max_series series, counts the rest in one overflow series marked
// otel.metric.overflow=true, warns once, and not a token is lost.
func TestExplodingCardinalityIsCappedWithoutLosingAToken(t *testing.T) {
	for _, temporality := range []Temporality{TemporalityCumulative, TemporalityDelta} {
		t.Run(string(temporality), func(t *testing.T) {
			api, clock, cfg := scriptedSetup(t, temporality)
			cfg.Usage.Poll.MaxSeries = 300
			core, logs := observer.New(zap.WarnLevel)
			next := &testConsumer{}
			r := startReceiver(t, cfg, clock.Now, withLogger(zap.New(core)), withConsumer(next))
			var want int64
			for poll := range 12 {
				b := clock.Now().Truncate(time.Minute)
				for j := range 100 {
					api.set(b, fmt.Sprintf("model-%d-%d", poll, j), int64(j+1))
					want += int64(j + 1)
				}
				_, err := r.poll()
				require.NoError(t, err)
				clock.Advance(time.Minute)
			}
			for range 3 { // the last buckets settle
				_, err := r.poll()
				require.NoError(t, err)
				clock.Advance(time.Minute)
			}
			assert.Equal(t, 301, r.report("usage").stream.Series(), "300 series and the overflow")
			got := next.ledger()
			assert.Equal(t, float64(want), got.sum("anthropic.usage.tokens", nil))
			overflow := got.sum("anthropic.usage.tokens", map[string]any{"otel.metric.overflow": true})
			assert.Equal(t, float64(want-3*(100*101/2)), overflow, "every series but the first 300 is in the overflow series")
			assert.Equal(t, 1, logs.FilterMessageSnippet("max_series").Len(), "warned once")
		})
	}
}

// Models retired every ten minutes: a series unchanged for series_expiry
// leaves memory, the cumulative emission and the checkpoint; the state
// stays bounded while the totals stay exact. (With an audit, a series also
// stays while a bucket of the audit window holds it: the audit may find it
// changed.)
func TestRetiredSeriesLeave(t *testing.T) {
	api, clock, cfg := scriptedSetup(t, TemporalityCumulative)
	cfg.Usage.Poll.RevisionWindow = 5 * time.Minute
	cfg.Usage.Poll.SeriesExpiry = 30 * time.Minute
	cfg.Usage.Poll.Audit.Interval = 0
	cfg.Storage = &storageID
	host := &storageHost{dir: t.TempDir()}
	host.start(t)
	defer host.stop(t)
	next := &testConsumer{}
	r := startReceiver(t, cfg, clock.Now, withHost(host), withConsumer(next))
	var want int64
	maxSeries, maxCheckpoint := 0, 0
	for m := range 6 * 60 {
		b := clock.Now().Truncate(time.Minute)
		api.set(b, fmt.Sprintf("model-%d", m/10), 7)
		want += 7
		_, err := r.poll()
		require.NoError(t, err)
		rep := r.report("usage")
		maxSeries = max(maxSeries, rep.stream.Series())
		maxCheckpoint = max(maxCheckpoint, len(rep.stream.MarshalBinary(rep.codec)))
		clock.Advance(time.Minute)
	}
	assert.LessOrEqual(t, maxSeries, 5, "a model lives 10 minutes, and 30 more")
	assert.Less(t, maxCheckpoint, 4096)
	md, err := r.poll() // a repeat of the totals
	require.NoError(t, err)
	assert.LessOrEqual(t, md.DataPointCount(), 5*len(usageTokenTypes)+5, "retired series are no longer emitted")
	assert.Equal(t, float64(want), next.ledger().sum("anthropic.usage.tokens", nil), "36 models, each exact")
	require.NoError(t, r.Shutdown(context.Background()))
}
